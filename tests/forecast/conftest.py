"""Tiny synthetic series shared by the forecasting tests."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_frame(n: int = 300, freq: str = "h", seed: int = 0) -> pd.DataFrame:
    """Three channels with daily-ish cycles and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return pd.DataFrame({
        "date": pd.date_range("2021-03-01", periods=n, freq=freq),
        "a": np.sin(2 * np.pi * t / 24) + 0.05 * rng.standard_normal(n),
        "b": 10 + 3 * np.cos(2 * np.pi * t / 12),
        "OT": 50 + 5 * np.sin(2 * np.pi * t / 24 + 1),
    })


@pytest.fixture(name="make_frame", scope="session")
def make_frame_fixture():
    return make_frame


@pytest.fixture
def series_csv(tmp_path):
    path = tmp_path / "series.csv"
    make_frame().to_csv(path, index=False)
    return path

