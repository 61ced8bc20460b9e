"""CLI: attention supervision flags, rationale metrics in evaluate, pretrain."""
import json
import random

import pytest

from attnpred.cli.main import main

FILLER = "the a place food staff we it was then and also very".split()


def records(n, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        label = rng.choice(["pos", "neg"])
        words = [rng.choice(FILLER) for _ in range(6)]
        cue = rng.randrange(6)
        words[cue] = "great" if label == "pos" else "awful"
        out.append({"text": " ".join(words), "label": label,
                    "rationale": [int(i == cue) for i in range(6)]})
    return out


def write(path, recs, keys=("text", "label", "rationale")):
    path.write_text("".join(json.dumps({k: r[k] for k in keys}) + "\n" for r in recs))
    return str(path)


def test_train_with_a_rationale_file_then_evaluate(tmp_path, capsys):
    train, test = records(60, 0), records(12, 1)
    args = ["train", "--task", "classify", "--out", str(tmp_path / "run"),
            "--train", write(tmp_path / "train.jsonl", train, ("text", "label")),
            "--dev", write(tmp_path / "dev.jsonl", test, ("text", "label")),
            "--test", write(tmp_path / "test.jsonl", test),
            "--rationales", write(tmp_path / "rationales.jsonl", train + test,
                                  ("text", "rationale")),
            "--attn-lambda", "2", "--attn-loss", "kl", "--pooling", "attention",
            "--model-dir", "minilm",  # works around the CLI building the unused adapter config
            "--dim", "16", "--layers", "1", "--heads", "2", "--vocab-size", "60",
            "--max-len", "12", "--batch-size", "8", "--epochs", "2", "--no-progress"]
    assert main(args) == 0
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["supervision"]["weight"] == 2.0 and cfg["supervision"]["loss"] == "kl"
    out = capsys.readouterr().out
    assert "rationales (12 texts, attention supervised)" in out and "uniform" in out
    assert main(["evaluate", str(tmp_path / "run"), "--input", str(tmp_path / "test.jsonl"),
                 "--output", str(tmp_path / "eval.json")]) == 0
    assert "auprc" in capsys.readouterr().out
    saved = json.loads((tmp_path / "eval.json").read_text())
    assert 0 <= saved["rationales"]["model"]["auprc"] <= 1


def test_bad_supervision_flag_is_one_line_error(tmp_path, capsys):
    path = write(tmp_path / "t.jsonl", records(10, 0))
    assert main(["train", "--task", "classify", "--out", str(tmp_path / "r"), "--train", path,
                 "--attn-lambda", "1", "--attn-target", "everything"]) == 2
    assert "--attn-target" in capsys.readouterr().err


def test_pretrain_help_and_missing_texts(capsys):
    with pytest.raises(SystemExit):
        main(["pretrain", "--help"])
    assert "--train" in capsys.readouterr().out
    assert main(["pretrain", "--out", "/tmp/never-written"]) == 2
    assert "texts" in capsys.readouterr().err


def test_self_training_from_the_command_line(tmp_path, capsys):
    """--unlabelled runs round0 on the labelled data, then a round on pseudo-labels; a second
    call without --overwrite is refused and leaves the rounds in place."""
    train, test = records(40, 0), records(12, 1)
    (tmp_path / "pool.txt").write_text("\n".join(r["text"] for r in records(30, 2)) + "\n")
    args = ["train", "--task", "classify", "--out", str(tmp_path / "st"),
            "--train", write(tmp_path / "train.jsonl", train, ("text", "label")),
            "--dev", write(tmp_path / "dev.jsonl", test, ("text", "label")),
            "--test", write(tmp_path / "test.jsonl", test, ("text", "label")),
            "--unlabelled", str(tmp_path / "pool.txt"), "--pseudo-threshold", "0.5",
            "--model", "scratch", "--model-dir", "minilm", "--dim", "16", "--layers", "1",
            "--heads", "2", "--vocab-size", "60", "--max-len", "12", "--batch-size", "8",
            "--epochs", "2", "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "round 0: 0 pseudo-labels" in out and "round 1:" in out
    summary = json.loads((tmp_path / "st" / "self_training.json").read_text())
    assert [r["round"] for r in summary["rounds"]] == [0, 1]
    assert (tmp_path / "st" / "round1" / "metrics.json").exists()
    assert main(args) == 2
    assert "completed self-training run" in capsys.readouterr().err
    assert (tmp_path / "st" / "round1" / "metrics.json").exists()
    bad = args[:-1] + ["--pseudo-threshold", "2", "--overwrite", "--no-progress"]
    assert main(bad) == 2
    assert "threshold" in capsys.readouterr().err
    assert (tmp_path / "st" / "round1" / "metrics.json").exists()  # a bad flag destroys nothing
