"""Shared fixtures for the whole suite."""
import pytest
import torch
from textdata import synthetic_rows, write_csv

torch.set_num_threads(1)  # the default suite runs on 2 cores; keep one for the rest


@pytest.fixture
def sentiment_csv(tmp_path):
    return write_csv(tmp_path / "train.csv", synthetic_rows(90, 0))
