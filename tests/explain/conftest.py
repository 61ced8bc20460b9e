"""Tiny trained runs shared by the explain tests (one per family, trained once per session)."""
from __future__ import annotations

import pytest
import torch
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
