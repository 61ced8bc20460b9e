"""End to end: train on a few pairs, reload the run, translate the same; the CLI and api."""
import json

import pytest
import torch

from attnpred import api
from attnpred.cli.main import main
from attnpred.config import config_from_dict
from attnpred.tasks.seq2seq import Seq2SeqPredictor, Seq2SeqRunConfig, train_seq2seq

PAIRS = [("a dog runs", "ein Hund rennt"), ("a cat sleeps", "eine Katze schläft"),
         ("the dog sleeps", "der Hund schläft"), ("the cat runs", "die Katze rennt"),
         ("a small dog", "ein kleiner Hund"), ("the small cat", "die kleine Katze")]


def write_data(tmp_path):
    (tmp_path / "train.en").write_text("".join(s + "\n" for s, _ in PAIRS), encoding="utf-8")
    (tmp_path / "train.de").write_text("".join(t + "\n" for _, t in PAIRS), encoding="utf-8")
    # word alignments: the k-th word of each side is linked (true for these pairs)
    (tmp_path / "train.align").write_text("0-0 1-1 2-2\n" * len(PAIRS))


def tiny_config(tmp_path, arch: str, **trainer) -> Seq2SeqRunConfig:
    return config_from_dict(Seq2SeqRunConfig, {
        "model": arch,
        "data": {"train_src": str(tmp_path / "train.en"), "train_tgt": str(tmp_path / "train.de"),
                 "vocab_size": 60, "max_tokens": 256, "max_len": 16},
        "transformer": {"dim": 32, "heads": 2, "ff_dim": 64, "encoder_layers": 1,
                        "decoder_layers": 2, "dropout": 0.0, "label_smoothing": 0.0},
        "gru": {"embed_dim": 32, "hidden_dim": 64, "dropout": 0.0, "label_smoothing": 0.0},
        "decoding": {"beam": 2},
        "trainer": {"epochs": 80, "lr": 1e-2, "warmup_ratio": 0.0, "schedule": "constant",
                    "progress": False, "tensorboard": False, "metric": "nll", "mode": "min",
                    **trainer}})


@pytest.mark.parametrize("arch,epochs", [("transformer", 80), ("gru-attention", 250)])
def test_overfit_save_reload_translate(tmp_path, arch, epochs):
    write_data(tmp_path)
    run = tmp_path / "run"
    train_seq2seq(tiny_config(tmp_path, arch, epochs=epochs), run)
    predictor = api.load(run)
    sources = [s for s, _ in PAIRS]
    outputs = [t.text for t in predictor.translate(sources)]
    assert outputs == [t for _, t in PAIRS]
    assert json.loads((run / "config.json").read_text())["task"] == "seq2seq"
    reloaded = api.load(run)
    assert isinstance(reloaded, Seq2SeqPredictor)
    again = reloaded.translate(sources, return_attention=True)
    assert [t.text for t in again] == outputs
    first = again[0]
    for m in first.cross_attentions:
        assert m.shape[1:] == (len(first.tgt_tokens), len(first.src_tokens))
        torch.testing.assert_close(m.sum(-1), torch.ones(m.shape[:-1]))
    # batched equals one at a time
    assert [reloaded.translate([s])[0].text for s in sources[:3]] == outputs[:3]


def test_guided_training_and_align_cli(tmp_path, capsys):
    write_data(tmp_path)
    (tmp_path / "gold").write_text("1-1 2-2 3-3\n" * len(PAIRS))
    cfg = tiny_config(tmp_path, "transformer", epochs=60)
    cfg.data.train_align = str(tmp_path / "train.align")
    cfg.guide.weight = 1.0
    train_seq2seq(cfg, tmp_path / "run")
    code = main(["align", str(tmp_path / "run"), "--input", str(tmp_path / "train.en"),
                 "--ref", str(tmp_path / "train.de"), "--output", str(tmp_path / "out.align"),
                 "--layer", "-2", "--heads", "0", "--gold", str(tmp_path / "gold")])
    assert code == 0
    scores = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert scores["aer"] < 0.2  # the supervised head learnt the diagonal
    assert len((tmp_path / "out.align").read_text().splitlines()) == len(PAIRS)
    run, src = str(tmp_path / "run"), str(tmp_path / "train.en")
    check_align_select(tmp_path, run, capsys)
    assert main(["predict", run, "--input", src, "--output", str(tmp_path / "att.jsonl"),
                 "--beam", "1"]) == 0
    rows = [json.loads(x) for x in (tmp_path / "att.jsonl").read_text().splitlines()]
    assert len(rows) == len(PAIRS)
    n_layers = len(rows[0]["cross_attentions"])
    assert n_layers == 2 and len(rows[0]["cross_attentions"][0][0]) == len(rows[0]["tgt_tokens"])
    assert main(["evaluate", run, "--input", src, "--ref", str(tmp_path / "train.de"),
                 "--output", str(tmp_path / "m.json"), "--hyps", str(tmp_path / "h.txt")]) == 0
    result = json.loads((tmp_path / "m.json").read_text())
    assert result["model"]["chrf"] > result["copy"]["chrf"]  # 3-word lines: no 4-grams for BLEU
    assert len((tmp_path / "h.txt").read_text().splitlines()) == len(PAIRS)


def check_align_select(tmp_path, run, capsys):
    """align-select scores (2 layers x (2 heads + their mean) + all layers) x shifted or not x
    (argmax + 3 thresholds); its best choice gives, through ``align``, the AER it reported
    against the same reference."""
    choice = tmp_path / "choice.json"
    assert main(["align-select", run, "--input", str(tmp_path / "train.en"), "--ref",
                 str(tmp_path / "train.de"), "--reference", str(tmp_path / "train.align"),
                 "--output", str(choice)]) == 0
    printed = capsys.readouterr().out
    result = json.loads(choice.read_text())
    assert len(result["table"]) == 14 * 4 and f"best: {result['best']['flags']}" in printed
    best = result["table"][0]
    assert best["aer"] == min(r["aer"] for r in result["table"]) < 0.2
    assert best["aer"] < max(r["aer"] for r in result["table"])  # the choice matters
    # 'gold' holds the same links as the reference, 1-indexed
    flags = result["best"]["flags"].split()
    assert main(["align", run, "--input", str(tmp_path / "train.en"), "--ref",
                 str(tmp_path / "train.de"), "--output", str(tmp_path / "best.align"),
                 "--gold", str(tmp_path / "gold"), *flags]) == 0
    scores = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert scores["aer"] == pytest.approx(best["aer"])


def test_align_select_rejects_a_link_outside_the_pair(tmp_path, capsys):
    write_data(tmp_path)
    (tmp_path / "bad.align").write_text("0-0\n" * 5 + "0-7\n")
    train_seq2seq(tiny_config(tmp_path, "gru-attention", epochs=1), tmp_path / "run")
    assert main(["align-select", str(tmp_path / "run"), "--input", str(tmp_path / "train.en"),
                 "--ref", str(tmp_path / "train.de"), "--reference",
                 str(tmp_path / "bad.align")]) == 2
    err = capsys.readouterr().err
    assert "bad.align:6: link 0-7" in err and "Traceback" not in err


def test_alignment_count_mismatch_is_a_user_error(tmp_path, capsys):
    write_data(tmp_path)
    (tmp_path / "train.align").write_text("0-0\n")
    code = main(["train", "--task", "seq2seq", "--out", str(tmp_path / "run"),
                 "--train", str(tmp_path / "train.en"), "--train-tgt",
                 str(tmp_path / "train.de"), "--train-align", str(tmp_path / "train.align")])
    assert code == 2
    assert "1 alignment lines for 6 training pairs" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["train", "--task", "seq2seq", "--help"],
                                  ["align", "--help"]])
def test_cli_help(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    assert "usage: attnpred" in capsys.readouterr().out


def test_cli_evaluate_and_predict_help(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps({"task": "seq2seq"}))
    for command in ("evaluate", "predict"):
        with pytest.raises(SystemExit) as exc:
            main([command, str(tmp_path), "--help"])
        assert exc.value.code == 0
        assert f"usage: attnpred {command} RUN" in capsys.readouterr().out


def _has_eflomal() -> bool:
    import importlib.util
    return importlib.util.find_spec("eflomal") is not None


@pytest.mark.skipif(not _has_eflomal(), reason="eflomal not installed (pip install eflomal)")
def test_align_with_eflomal_helper(tmp_path):
    write_data(tmp_path)
    out = tmp_path / "eflomal.align"
    assert main(["align", "--eflomal", "--input", str(tmp_path / "train.en"), "--ref",
                 str(tmp_path / "train.de"), "--output", str(out)]) == 0
    from attnpred.data.alignment import read_pharaoh
    links = read_pharaoh(out)
    assert len(links) == len(PAIRS)
    assert all(i < 3 and j < 3 for pair in links for i, j in pair)


def test_align_needs_a_run_or_eflomal(tmp_path, capsys):
    write_data(tmp_path)
    assert main(["align", "--input", str(tmp_path / "train.en"), "--ref",
                 str(tmp_path / "train.de"), "--output", str(tmp_path / "x")]) == 2
    assert "give a run directory or --eflomal" in capsys.readouterr().err


def test_align_cli_agreement_of_two_directions(tmp_path, capsys):
    """Two guided directions combined by the agreement of their maps: the diagonal comes back
    through the CLI and the library; agreement without a reverse run, or with eflomal, is one
    clear error."""
    write_data(tmp_path)
    (tmp_path / "gold").write_text("1-1 2-2 3-3\n" * len(PAIRS))
    for name, src, tgt in (("run", "train.en", "train.de"), ("rev", "train.de", "train.en")):
        cfg = tiny_config(tmp_path, "transformer", epochs=60)
        cfg.data.train_src, cfg.data.train_tgt = str(tmp_path / src), str(tmp_path / tgt)
        cfg.data.train_align = str(tmp_path / "train.align")  # the diagonal reads both ways
        cfg.guide.weight = 1.0
        train_seq2seq(cfg, tmp_path / name)
    args = ["align", str(tmp_path / "run"), "--input", str(tmp_path / "train.en"), "--ref",
            str(tmp_path / "train.de"), "--output", str(tmp_path / "agree.align"),
            "--layer", "-2", "--heads", "0", "--symmetrize", "agreement",
            "--agreement-threshold", "0.2"]
    assert main(args + ["--reverse", str(tmp_path / "rev"), "--gold", str(tmp_path / "gold")]) == 0
    scores = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert scores["aer"] < 0.2
    from attnpred.alignment import AlignConfig
    from attnpred.data.alignment import read_pharaoh
    from attnpred.tasks.seq2seq import align_bitext
    cfg = AlignConfig(layer=-2, heads=(0,), symmetrize="agreement", agreement_threshold=0.2)
    links = align_bitext([s for s, _ in PAIRS], [t for _, t in PAIRS], cfg,
                         run=tmp_path / "run", reverse=tmp_path / "rev")
    assert links == read_pharaoh(tmp_path / "agree.align")
    assert main(args) == 2
    assert "symmetrize 'agreement' needs a target->source run" in capsys.readouterr().err
    eflomal = ["align", "--eflomal", *args[2:]]
    assert main(eflomal) == 2
    err = capsys.readouterr().err
    assert "no attention maps to agree on" in err and "Traceback" not in err
