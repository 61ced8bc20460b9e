"""Tiny trained runs shared by the explain tests (one per family, trained once per session)."""
from __future__ import annotations

import pytest
import torch
from browser import browser_context, page  # noqa: F401  (headless Chromium fixtures)
from textdata import synthetic_rows, write_csv

import attnpred
from attnpred.models.classifier import ClassifierConfig
from attnpred.tasks.classify import ClassifyRunConfig, train_classifier
from attnpred.tasks.classify_data import TextDataConfig
from attnpred.training.trainer import TrainerConfig


def classifier_config(train, pooling: str = "attention", layers: int = 2,
                      max_len: int = 24) -> ClassifyRunConfig:
    return ClassifyRunConfig(
        model="scratch", data=TextDataConfig(train=str(train)), vocab_size=200, batch_size=16,
        scratch=ClassifierConfig(dim=32, heads=2, layers=layers, ff_dim=64, dropout=0.0,
                                 max_len=max_len, pooling=pooling),
        trainer=TrainerConfig(epochs=8, lr=5e-3, progress=False, tensorboard=False))


@pytest.fixture(scope="session")
def classifier_run(tmp_path_factory):
    """A 2-layer, 2-head classifier with attention pooling on the synthetic sentiment rows."""
    tmp = tmp_path_factory.mktemp("explain-classify")
    train = write_csv(tmp / "train.csv", synthetic_rows(240, 0))
    torch.set_num_threads(1)
    train_classifier(classifier_config(train), tmp / "run")
    return tmp / "run"


@pytest.fixture(scope="session")
def classifier(classifier_run):
    return attnpred.load(classifier_run)


PAIRS = [("a dog runs", "ein Hund rennt"), ("a cat sleeps", "eine Katze schläft"),
         ("the dog sleeps", "der Hund schläft"), ("the cat runs", "die Katze rennt"),
         ("a small dog", "ein kleiner Hund"), ("the small cat", "die kleine Katze")]


@pytest.fixture(scope="session")
def seq2seq_run(tmp_path_factory):
    """A 1+2-layer transformer that has memorised six word-by-word pairs."""
    from attnpred.config import config_from_dict
    from attnpred.tasks.seq2seq import Seq2SeqRunConfig, train_seq2seq
    tmp = tmp_path_factory.mktemp("explain-seq2seq")
    (tmp / "train.en").write_text("".join(s + "\n" for s, _ in PAIRS), encoding="utf-8")
    (tmp / "train.de").write_text("".join(t + "\n" for _, t in PAIRS), encoding="utf-8")
    cfg = config_from_dict(Seq2SeqRunConfig, {
        "model": "transformer",
        "data": {"train_src": str(tmp / "train.en"), "train_tgt": str(tmp / "train.de"),
                 "vocab_size": 60, "max_tokens": 256, "max_len": 16},
        "transformer": {"dim": 32, "heads": 2, "ff_dim": 64, "encoder_layers": 1,
                        "decoder_layers": 2, "dropout": 0.0, "label_smoothing": 0.0},
        "decoding": {"beam": 2},
        "trainer": {"epochs": 60, "lr": 1e-2, "warmup_ratio": 0.0, "schedule": "constant",
                    "progress": False, "tensorboard": False, "metric": "nll", "mode": "min"}})
    torch.set_num_threads(1)
    train_seq2seq(cfg, tmp / "run")
    return tmp / "run"


@pytest.fixture(scope="session")
def seq2seq(seq2seq_run):
    return attnpred.load(seq2seq_run)


@pytest.fixture(scope="session")
def forecaster_run(tmp_path_factory):
    """A 2-layer patch forecaster on three synthetic channels: (run directory, csv)."""
    import numpy as np
    import pandas as pd

    from attnpred.data.timeseries import TimeSeriesConfig
    from attnpred.models.forecaster import ForecasterConfig
    from attnpred.tasks.forecast import ForecastRunConfig, train_forecast
    tmp = tmp_path_factory.mktemp("explain-forecast")
    path = tmp / "series.csv"
    t = np.arange(300)
    pd.DataFrame({"date": pd.date_range("2021-03-01", periods=300, freq="h"),
                  "a": np.sin(2 * np.pi * t / 24), "b": 10 + 3 * np.cos(2 * np.pi * t / 12),
                  "OT": 50 + 5 * np.sin(2 * np.pi * t / 24 + 1)}).to_csv(path, index=False)
    cfg = ForecastRunConfig(
        data=TimeSeriesConfig(path=str(path), input_len=48, horizon=12),
        forecaster=ForecasterConfig(patch_len=8, stride=8, d_model=16, heads=2, ff_dim=32,
                                    layers=2, dropout=0.0),
        trainer=TrainerConfig(epochs=3, lr=3e-3, metric="mse", mode="min", progress=False,
                              tensorboard=False, warmup_ratio=0.0, schedule="constant"),
        batch_size=16)
    torch.set_num_threads(1)
    train_forecast(cfg, tmp / "run")
    return tmp / "run", path


@pytest.fixture(scope="session")
def forecaster(forecaster_run):
    """(predictor, csv)."""
    return attnpred.load(forecaster_run[0]), forecaster_run[1]
