"""One contract for every task family, through the library and through the command line.

For each family: train a tiny run with ``attnpred.train``, reload it with ``attnpred.load``,
predict with attention on a batch and on single inputs (equal), check ``to_dict()`` is JSON,
refuse to overwrite a completed run, and resume a killed run to identical weights.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from textdata import synthetic_rows, write_csv

from killing import Killed
import attnpred
from attnpred.cli.main import main
from attnpred.errors import AttnpredError
from attnpred.training.trainer import Trainer

PAIRS = [("a dog runs", "ein Hund rennt"), ("a cat sleeps", "eine Katze schläft"),
         ("the dog sleeps", "der Hund schläft"), ("the cat runs", "die Katze rennt"),
         ("a small dog", "ein kleiner Hund"), ("the small cat", "die kleine Katze")]


def _series(path: Path) -> Path:
    t = np.arange(240)
    import pandas as pd
    pd.DataFrame({"date": pd.date_range("2021-03-01", periods=240, freq="h"),
                  "a": np.sin(2 * np.pi * t / 24), "OT": 5 + np.cos(2 * np.pi * t / 12)}
                 ).to_csv(path, index=False)
    return path


def _parallel(root: Path) -> tuple[Path, Path]:
    src, tgt = root / "train.en", root / "train.de"
    src.write_text("".join(s + "\n" for s, _ in PAIRS), encoding="utf-8")
    tgt.write_text("".join(t + "\n" for _, t in PAIRS), encoding="utf-8")
    return src, tgt


@dataclass
class Family:
    """How to make a tiny run of one family, by library and by CLI, and what to predict."""

    config: Callable[[Path], Any]
    argv: Callable[[Path], list[str]]
    inputs: Callable[[Path], list[Any]]
    input_file: Callable[[Path], Path]


QUIET = {"progress": False, "tensorboard": False}


def classify_config(root: Path) -> Any:
    train = write_csv(root / "train.csv", synthetic_rows(60, 0))
    return attnpred.ClassifyRunConfig(
        data=attnpred.TextDataConfig(train=str(train)), vocab_size=120, batch_size=8,
        scratch=_scratch(),
        trainer=attnpred.TrainerConfig(epochs=2, lr=5e-3, checkpoint_every=2, **QUIET))


def _scratch() -> Any:
    from attnpred.models.classifier import ClassifierConfig
    return ClassifierConfig(dim=16, heads=2, layers=1, ff_dim=32, max_len=16, pooling="attention")


def forecast_config(root: Path) -> Any:
    from attnpred.models.forecaster import ForecasterConfig
    return attnpred.ForecastRunConfig(
        data=attnpred.TimeSeriesConfig(path=str(_series(root / "s.csv")), input_len=48,
                                       horizon=12, split="ratio"),
        forecaster=ForecasterConfig(patch_len=8, stride=8, d_model=8, heads=2, ff_dim=16,
                                    layers=1),
        trainer=attnpred.TrainerConfig(epochs=2, lr=1e-3, metric="mse", mode="min",
                                       checkpoint_every=2, **QUIET), batch_size=32)


def seq2seq_config(root: Path) -> Any:
    from attnpred.models.seq2seq import TransformerSeq2SeqConfig
    src, tgt = _parallel(root)
    return attnpred.Seq2SeqRunConfig(
        data=attnpred.Seq2SeqDataConfig(train_src=str(src), train_tgt=str(tgt), vocab_size=60,
                                        max_tokens=64, max_len=16),
        transformer=TransformerSeq2SeqConfig(dim=16, heads=2, ff_dim=32, encoder_layers=1,
                                             decoder_layers=1, max_len=32),
        trainer=attnpred.TrainerConfig(epochs=8, lr=1e-2, metric="nll", mode="min",
                                       checkpoint_every=2, **QUIET))


FAMILIES = {
    "classify": Family(
        classify_config,
        lambda r: ["--train", str(write_csv(r / "train.csv", synthetic_rows(60, 0))),
                   "--vocab-size", "120", "--dim", "16", "--heads", "2", "--layers", "1",
                   "--max-len", "16", "--pooling", "attention", "--epochs", "1",
                   "--batch-size", "8", "--set", "trainer.tensorboard=false"],
        lambda r: ["profit rose in the quarter", "the company said", "shares fell"],
        lambda r: write_csv(r / "in.csv", synthetic_rows(5, 3))),
    "forecast": Family(
        forecast_config,
        lambda r: ["--train", str(_series(r / "s.csv")), "--input-len", "48", "--horizon", "12",
                   "--split", "ratio", "--patch-len", "8", "--stride", "8", "--d-model", "8",
                   "--heads", "2", "--ff-dim", "16", "--layers", "1", "--epochs", "1"],
        lambda r: [str(_series(r / "s.csv")), str(_series(r / "s2.csv"))],
        lambda r: _series(r / "s.csv")),
    "seq2seq": Family(
        seq2seq_config,
        lambda r: ["--train", str(_parallel(r)[0]), "--train-tgt", str(r / "train.de"),
                   "--vocab-size", "60", "--max-tokens", "64", "--max-len", "16",
                   "--dim", "16", "--heads", "2", "--encoder-layers", "1",
                   "--decoder-layers", "1", "--set", "transformer.max_len=32",
                   "--epochs", "1", "--metric", "nll", "--set", "trainer.tensorboard=false"],
        lambda r: [s for s, _ in PAIRS[:3]],
        lambda r: _parallel(r)[0]),
}


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "model.safetensors"))


def _assert_same_results(a: Any, b: Any) -> None:
    da, db = a.to_dict(), b.to_dict()
    assert da.keys() == db.keys()
    for key in da:
        va, vb = da[key], db[key]
        if isinstance(va, str) or key in ("words", "src_tokens", "tgt_tokens", "dates",
                                           "history_dates", "attention_source"):
            assert va == vb, key
        else:
            np.testing.assert_allclose(_numbers(va), _numbers(vb), atol=1e-4, err_msg=key)


def _numbers(value: Any) -> np.ndarray:
    if isinstance(value, dict):
        return np.concatenate([_numbers(v).ravel() for _, v in sorted(value.items())])
    return np.asarray(value, dtype=float).ravel() if not isinstance(value, list) or not value \
        or not isinstance(value[0], (list, dict)) else \
        np.concatenate([_numbers(v).ravel() for v in value])


@pytest.mark.parametrize("task", sorted(FAMILIES))
def test_train_load_predict_overwrite_resume(task, tmp_path, monkeypatch):
    family = FAMILIES[task]
    cfg = family.config(tmp_path)
    run = tmp_path / "run"
    metrics = attnpred.train(cfg, run)
    assert json.loads((run / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    for name in ("config.json", "model.safetensors", "report.txt", "complete.json"):
        assert (run / name).is_file(), name
    assert not (run / "checkpoints").exists()
    predictor = attnpred.load(run)
    inputs = family.inputs(tmp_path)
    batched = predictor.predict(inputs, return_attention=True)
    single = [predictor.predict([x], return_attention=True)[0] for x in inputs]
    assert len(batched) == len(inputs)
    for a, b in zip(batched, single):
        _assert_same_results(a, b)
        json.dumps(a.to_dict())
        assert isinstance(a.summary(), str)
    plain = predictor.predict(inputs[:1])[0].to_dict()
    assert not any("attention" in k for k in plain), "attention only when asked for"
    before = _weights(run)
    with pytest.raises(AttnpredError, match="completed run"):
        attnpred.train(family.config(tmp_path), run)
    assert all(torch.equal(before[k], v) for k, v in _weights(run).items())

    # a run killed mid-training and resumed ends with the uninterrupted run's weights
    killed = tmp_path / "killed"
    calls = {"n": 0}
    real = Trainer._backward

    def dying(self, batch):
        calls["n"] += 1
        if calls["n"] == 4:
            raise Killed()
        return real(self, batch)
    monkeypatch.setattr(Trainer, "_backward", dying)
    with pytest.raises(Killed):
        attnpred.train(family.config(tmp_path), killed)
    monkeypatch.setattr(Trainer, "_backward", real)
    assert (killed / "checkpoints" / "last.pt").is_file() and not (killed / "complete.json").exists()
    with pytest.raises(AttnpredError, match="interrupted"):
        attnpred.train(family.config(tmp_path), killed)
    attnpred.train(family.config(tmp_path), killed, resume=True)
    resumed = _weights(killed)
    assert resumed.keys() == before.keys()
    for key, value in before.items():
        torch.testing.assert_close(resumed[key], value, rtol=0, atol=0, msg=key)


@pytest.mark.parametrize("task", sorted(FAMILIES))
def test_command_line(task, tmp_path, capsys):
    family = FAMILIES[task]
    run = tmp_path / "run"
    argv = ["train", "--task", task, "--out", str(run), "--no-progress"] + family.argv(tmp_path)
    assert main(argv) == 0, capsys.readouterr().err
    assert (run / "complete.json").is_file()
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "completed run" in err and len(err.strip().splitlines()) == 1
    out = tmp_path / "pred.jsonl"
    assert main(["predict", str(run), "--input", str(family.input_file(tmp_path)),
                 "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all(any("attention" in k for k in r) for r in rows)
    assert main(["train", "--task", task, "--out", str(run), "--overwrite", "--no-progress"]
                + family.argv(tmp_path)) == 0
    for command in (["train", "--task", task, "--help"], ["predict", str(run), "--help"],
                    ["evaluate", str(run), "--help"]):
        with pytest.raises(SystemExit) as exc:
            main(command)
        assert exc.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--train", "--out", "--model", "--resume", "--overwrite", "--no-progress",
                 "--device", "--set"):
        assert flag in text, flag


def test_overwrite_keeps_foreign_files_and_refuses_foreign_folders(tmp_path):
    cfg = classify_config(tmp_path)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(AttnpredError, match="not created by attnpred"):
        attnpred.train(cfg, foreign, overwrite=True)
    assert (foreign / "notes.txt").read_text() == "keep me"
    run = tmp_path / "run"
    attnpred.train(cfg, run)
    (run / "data.csv").write_text("a user's file")
    attnpred.train(classify_config(tmp_path), run, overwrite=True)
    assert (run / "data.csv").read_text() == "a user's file"


def test_top_level_api_exposes_every_family():
    import attnpred.tasks.registry as registry
    for task in registry.TASKS:
        name = registry.TASKS[task].config.split(":")[1]
        assert getattr(attnpred, name) is registry.config_class(task)
    with pytest.raises(AttnpredError, match="not a run config"):
        attnpred.train(object(), "x")
