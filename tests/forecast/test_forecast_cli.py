"""attnpred train --task forecast / evaluate / predict on a tiny CSV, and --help for each."""
import json

import pandas as pd
import pytest

from attnpred.cli.main import main

TRAIN = ["train", "--task", "forecast", "--input-len", "48", "--horizon", "12",
         "--patch-len", "8", "--stride", "8", "--d-model", "8", "--heads", "2", "--ff-dim", "16",
         "--layers", "1", "--epochs", "1", "--batch-size", "32"]


@pytest.fixture(scope="module")
def run(tmp_path_factory, make_frame):
    root = tmp_path_factory.mktemp("cli")
    make_frame().to_csv(root / "s.csv", index=False)
    assert main(TRAIN + ["--train", str(root / "s.csv"), "--out", str(root / "run"),
                         "--no-linear-skip"]) == 0
    return root


def test_train_writes_a_run(run):
    cfg = json.loads((run / "run" / "config.json").read_text())
    assert cfg["task"] == "forecast" and cfg["data"]["input_len"] == 48
    assert cfg["forecaster"]["linear_skip"] is False and cfg["data"]["columns"] == ["a", "b", "OT"]


def test_evaluate_prints_model_and_baselines(run, capsys):
    out = run / "metrics.json"
    assert main(["evaluate", str(run / "run"), "--input", str(run / "s.csv"), "--output",
                 str(out), "--plot",
                 str(run / "w.png"), "--window", "2", "--channel", "OT"]) == 0
    text = capsys.readouterr().out
    assert "repeat" in text and "seasonal-naive" in text
    result = json.loads(out.read_text())
    assert {"test", "baselines"} <= set(result)
    assert (run / "w.png").read_bytes()[:4] == b"\x89PNG"


def test_predict_csv_json_attention_and_plot(run):
    csv, js, att = run / "f.csv", run / "f.jsonl", run / "att.csv"
    assert main(["predict", str(run / "run"), "--input", str(run / "s.csv"), "--output",
                 str(csv), "--attention-output", str(att), "--plot", str(run / "p.png")]) == 0
    frame = pd.read_csv(csv, parse_dates=["date"])
    assert len(frame) == 12 and list(frame.columns) == ["date", "a", "b", "OT"]
    assert frame["date"].iloc[0] == pd.Timestamp("2021-03-01") + pd.Timedelta(hours=300)
    assert len(pd.read_csv(att)) == 48
    assert main(["predict", str(run / "run"), "--input", str(run / "s.csv"),
                 "--output", str(js)]) == 0
    data = json.loads(js.read_text())
    assert len(data["dates"]) == 12 and len(data["attention"]["OT"]) == 48


def test_user_errors_exit_2_with_one_line(run, tmp_path, capsys, make_frame):
    bad = make_frame(100)
    bad["a"] = bad["a"].astype(object)
    bad.loc[10, "a"] = "oops"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    assert main(["predict", str(run / "run"), "--input", str(tmp_path / "bad.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert "bad.csv:12" in err and "'a'" in err and len(err.splitlines()) == 1
    assert main(TRAIN + ["--out", str(tmp_path / "r")]) == 2  # no --train
    assert main(TRAIN + ["--train", str(run / "s.csv"), "--out", str(tmp_path / "r"),
                         "--features", "Q"]) == 2


@pytest.mark.parametrize("argv", [["train", "--task", "forecast", "--help"],
                                  ["evaluate", "RUN", "--help"], ["predict", "RUN", "--help"]])
def test_help(argv, run, capsys):
    argv = [str(run / "run") if a == "RUN" else a for a in argv]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage:" in out
    if argv[0] == "train":
        assert "Look-back L: rows of history the model sees." in out  # from the docstring


@pytest.mark.parametrize("rule", ["one-se", "always"])
def test_train_with_blend_and_a_path_rule_records_the_share(tmp_path, make_frame, rule):
    """--combine blend --path-rule: the run's metrics and report carry the chosen share."""
    make_frame().to_csv(tmp_path / "s.csv", index=False)
    assert main(TRAIN + ["--train", str(tmp_path / "s.csv"), "--out", str(tmp_path / "run"),
                         "--combine", "blend", "--path-rule", rule]) == 0
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["forecaster"]["combine"] == "blend" and cfg["path_rule"] == rule
    paths = json.loads((tmp_path / "run" / "metrics.json").read_text())["paths"]
    assert paths["rule"] == rule and 0 <= paths["mix"] <= 1
    assert paths["attention_helps"] == (paths["mix"] > 0)
    if rule == "always":
        assert paths["mix"] > 0
    assert "validation MSE: linear skip alone" in (tmp_path / "run" / "report.txt").read_text()


def test_an_unknown_combine_is_one_clear_error(tmp_path, make_frame, capsys):
    make_frame().to_csv(tmp_path / "s.csv", index=False)
    assert main(TRAIN + ["--train", str(tmp_path / "s.csv"), "--out", str(tmp_path / "run"),
                         "--combine", "average"]) != 0
    err = capsys.readouterr().err
    assert "combine" in err and "Traceback" not in err
