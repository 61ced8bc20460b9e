"""Classification end to end: train, reload, predict with attention, evaluate, CLI, errors."""
import json

import pytest
from textdata import synthetic_rows, write_csv

import attnpred
from attnpred.cli.main import main
from attnpred.errors import AttnpredError
from attnpred.models.classifier import ClassifierConfig
from attnpred.tasks.classify import ClassifyRunConfig, train_classifier
from attnpred.tasks.classify_data import TextDataConfig
from attnpred.training.trainer import TrainerConfig


def tiny_config(train, **data):
    return ClassifyRunConfig(
        model="scratch", data=TextDataConfig(train=str(train), **data), vocab_size=200,
        batch_size=16,
        scratch=ClassifierConfig(dim=32, heads=2, layers=1, ff_dim=64, dropout=0.0, max_len=16,
                                 pooling="attention"),
        trainer=TrainerConfig(epochs=12, lr=5e-3, progress=False, tensorboard=False))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    train = write_csv(tmp / "train.csv", synthetic_rows(300, 0))
    metrics = train_classifier(tiny_config(train), tmp / "run")
    return tmp / "run", metrics


def test_learns_beats_majority_and_writes_the_run_directory(trained):
    run, metrics = trained
    for name in ("config.json", "model.safetensors", "tokenizer", "labels.json", "split.json",
                 "metrics.json", "report.txt", "train_log.jsonl", "complete.json"):
        assert (run / name).exists(), name
    assert not (run / "checkpoints").exists()  # dropped once the run completed
    test = metrics["test"]
    assert test["model"]["accuracy"] >= 0.9 > test["majority"]["accuracy"]
    assert set(test["model"]["per_class"]) == {"negative", "neutral", "positive"}
    assert "confusion matrix" in (run / "report.txt").read_text()


def test_reload_predicts_the_same_with_word_attention(trained):
    run, _ = trained
    p1, p2 = attnpred.load(run), attnpred.load(run)
    texts = ["the company said profit in its year", "sales fell in the quarter"]
    a, b = p1.predict(texts, return_attention=True), p2.predict(texts, return_attention=True)
    assert [x.label for x in a] == [y.label for y in b]
    for x, y in zip(a, b):
        assert x.probabilities == pytest.approx(y.probabilities)
        assert len(x.word_attention) == len(x.words) and sum(x.word_attention) == pytest.approx(1)
    assert a[0].attention_source == "pooling"


def test_reloaded_model_reproduces_the_test_accuracy_of_the_trained_one(trained):
    run, metrics = trained
    split = json.loads((run / "split.json").read_text())
    rows = synthetic_rows(300, 0)
    test = [rows[i] for i in split["test"]]
    preds = attnpred.load(run).predict([t for t, _ in test])
    acc = sum(p.label == y for p, (_, y) in zip(preds, test)) / len(test)
    assert acc == pytest.approx(metrics["test"]["model"]["accuracy"])


def test_batched_prediction_equals_one_at_a_time(trained):
    p = attnpred.load(trained[0])
    texts = [t for t, _ in synthetic_rows(7, 5)]
    batched = p.predict(texts, return_attention=True, batch_size=4)
    for text, b in zip(texts, batched):
        s = p.predict([text], return_attention=True)[0]
        assert s.probabilities == pytest.approx(b.probabilities, abs=1e-5)
        assert s.word_attention == pytest.approx(b.word_attention, abs=1e-5)


def test_cls_attention_source(trained):
    pred = attnpred.load(trained[0]).predict(["profit rose"], return_attention=True,
                                              attention="cls")[0]
    assert pred.attention_source == "cls" and sum(pred.word_attention) == pytest.approx(1)


def test_evaluate_on_a_file_and_unknown_label_names_the_line(trained, tmp_path):
    run, _ = trained
    ok = write_csv(tmp_path / "eval.csv", synthetic_rows(12, 9))
    assert attnpred.load(run).evaluate(str(ok))["model"]["accuracy"] >= 0.75  # majority: 0.33
    bad = write_csv(tmp_path / "bad.csv", synthetic_rows(3, 9) + [("profit rose", "great")])
    with pytest.raises(AttnpredError) as err:
        attnpred.load(run).evaluate(str(bad))
    assert "bad.csv:5" in str(err.value) and "great" in str(err.value)


def test_completed_run_is_never_overwritten_by_a_failed_one(trained, tmp_path):
    run, _ = trained
    before = (run / "model.safetensors").read_bytes()
    with pytest.raises(AttnpredError, match="completed run"):
        train_classifier(tiny_config(run.parent / "train.csv"), run)
    bad = write_csv(tmp_path / "bad.csv", [("x", "y")], header=("sentence", "label"))
    with pytest.raises(AttnpredError, match="text"):
        train_classifier(tiny_config(bad), run, overwrite=True)
    assert (run / "model.safetensors").read_bytes() == before


def test_same_config_and_seed_give_the_same_weights(trained, tmp_path):
    """A rerun retrains the tokenizer and the model; both come out identical."""
    run, metrics = trained
    again = train_classifier(tiny_config(run.parent / "train.csv"), tmp_path / "again")
    assert (tmp_path / "again" / "tokenizer" / "tokenizer.json").read_bytes() == \
        (run / "tokenizer" / "tokenizer.json").read_bytes()
    assert (tmp_path / "again" / "model.safetensors").read_bytes() == \
        (run / "model.safetensors").read_bytes()
    assert again["test"] == metrics["test"]


def test_cli_train_evaluate_predict(tmp_path, sentiment_csv, capsys):
    out = tmp_path / "cli-run"
    assert main(["train", "--task", "classify", "--train", str(sentiment_csv), "--out", str(out),
                 "--epochs", "2", "--dim", "16", "--heads", "2", "--layers", "1",
                 "--max-len", "16", "--vocab-size", "100", "--no-progress"]) == 0
    assert "majority baseline" in capsys.readouterr().out
    assert json.loads((out / "config.json").read_text())["trainer"]["epochs"] == 2
    assert main(["evaluate", str(out), "--input", str(sentiment_csv)]) == 0
    assert "accuracy" in capsys.readouterr().out
    preds = tmp_path / "preds.jsonl"
    assert main(["predict", str(out), "--text", "profit rose", "--output", str(preds)]) == 0
    row = json.loads(preds.read_text().splitlines()[0])
    assert row["label"] in row["probabilities"] and len(row["word_attention"]) == 2


@pytest.mark.parametrize("argv", [
    ["--help"], ["train", "--help"], ["train", "--task", "classify", "--help"],
    ["evaluate", "--help"], ["predict", "--help"], ["demo", "--help"]])
def test_help_everywhere(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse exits 0 after --help
        code = exc.code
    assert code == 0 and "usage" in capsys.readouterr().out.lower()


@pytest.mark.parametrize("argv, expected", [
    (["train", "--task", "classify", "--out", "X", "--train", "missing.csv"], "missing.csv"),
    (["train", "--task", "nope"], "unknown task"),
    (["train", "--task", "classify", "--out", "X", "--train", "t.csv", "--pooling", "max"],
     "pooling"),
    (["evaluate", "no-such-run"], "run directory not found"),
])
def test_user_errors_are_one_line_and_exit_2(argv, expected, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "t.csv", synthetic_rows(9, 1))
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_config_file_with_flag_override(tmp_path, sentiment_csv):
    from attnpred.cli.classify import TRAIN_FLAGS, extra_overrides
    from attnpred.cli.common import config_from_args
    from attnpred.cli.main import train_parser
    from attnpred.tasks.classify import ClassifyRunConfig

    def build_config(args):
        return config_from_args(ClassifyRunConfig, args, TRAIN_FLAGS, extra_overrides(args))
    conf = tmp_path / "run.json"
    conf.write_text(json.dumps({"model": "scratch", "data": {"train": "ignored.csv"},
                                "scratch": {"dim": 24, "heads": 2}, "trainer": {"lr": 0.01}}))
    args = train_parser("classify").parse_args(["--config", str(conf), "--out", "x",
                                      "--train", str(sentiment_csv), "--epochs", "3"])
    cfg = build_config(args)
    assert (cfg.data.train, cfg.scratch.dim, cfg.trainer.lr, cfg.trainer.epochs) == (
        str(sentiment_csv), 24, 0.01, 3)
    conf.write_text(json.dumps({"trainer": {"lr": "fast"}}))
    assert main(["train", "--task", "classify", "--config", str(conf), "--out", "x"]) == 2
