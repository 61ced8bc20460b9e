import numpy as np
import pandas as pd
import pytest
import torch

from attnpred.data.timeseries import (EpochBatches, Scaler, TimeSeriesConfig, Windows,
                                      channel_indices, future_dates, read_series, split_borders)
from attnpred.errors import AttnpredError, ConfigError


def write(tmp_path, frame, name="s.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_reads_dates_values_and_columns(series_csv):
    s = read_series(series_csv)
    assert s.columns == ["a", "b", "OT"]
    assert s.values.shape == (300, 3) and len(s) == 300
    assert s.dates[1] - s.dates[0] == pd.Timedelta(hours=1)


def test_missing_value_names_line_and_column(tmp_path, make_frame):
    frame = make_frame(20)
    frame["b"] = frame["b"].astype(object)
    frame.loc[5, "b"] = ""
    with pytest.raises(AttnpredError, match="missing value") as err:
        read_series(write(tmp_path, frame))
    assert err.value.line == 7 and err.value.field == "b"


def test_non_numeric_value(tmp_path, make_frame):
    frame = make_frame(20)
    frame["OT"] = frame["OT"].astype(object)
    frame.loc[3, "OT"] = "n/a!"
    with pytest.raises(AttnpredError, match="non-numeric value 'n/a!'") as err:
        read_series(write(tmp_path, frame))
    assert err.value.line == 5 and err.value.field == "OT"


@pytest.mark.parametrize("kind", ["duplicate", "out-of-order"])
def test_dates_must_increase(tmp_path, make_frame, kind):
    frame = make_frame(20)
    frame.loc[8, "date"] = frame.loc[7, "date"] if kind == "duplicate" else frame.loc[2, "date"]
    with pytest.raises(AttnpredError, match=kind) as err:
        read_series(write(tmp_path, frame))
    assert err.value.line == 10


def test_bad_date_and_missing_columns(tmp_path, make_frame):
    frame = make_frame(10)
    frame["date"] = frame["date"].astype(str)
    frame.loc[4, "date"] = "not a date"
    with pytest.raises(AttnpredError, match="unreadable date"):
        read_series(write(tmp_path, frame))
    with pytest.raises(AttnpredError, match="no date column 'when'"):
        read_series(write(tmp_path, make_frame(10), "b.csv"), date_column="when")
    with pytest.raises(AttnpredError, match="missing channel"):
        read_series(write(tmp_path, make_frame(10), "c.csv"), columns=("a", "zz"))


def test_too_short_for_input_plus_horizon():
    cfg = TimeSeriesConfig(input_len=48, horizon=24, split="ratio")
    with pytest.raises(AttnpredError, match="too short"):
        split_borders(200, cfg)  # the test part has 40 rows < 72
    split_borders(400, cfg)  # long enough


def test_config_rejects_bad_values():
    with pytest.raises(ConfigError):
        TimeSeriesConfig(features="X")
    with pytest.raises(ConfigError):
        TimeSeriesConfig(ratios=(0.5, 0.1, 0.1))


def test_ett_borders_follow_informer():
    cfg = TimeSeriesConfig(split="ett-hour", input_len=336, horizon=96)
    assert split_borders(17420, cfg) == {"train": (0, 8640), "val": (8304, 11520),
                                         "test": (11184, 14400)}


def test_ratio_borders_follow_autoformer():
    cfg = TimeSeriesConfig(split="ratio", input_len=96, horizon=96)
    b = split_borders(7588, cfg)  # exchange rate: 5311 / 760 / 1517
    assert b == {"train": (0, 5311), "val": (5311 - 96, 6071), "test": (6071 - 96, 7588)}


def test_scaler_uses_train_rows_only():
    values = np.concatenate([np.zeros((50, 2)), np.full((50, 2), 100.0)])
    values[:50, 0] = np.arange(50)
    scaler = Scaler.fit(values[:50])
    assert scaler.mean[0] == pytest.approx(24.5) and scaler.mean[1] == 0.0
    assert scaler.std[1] == 1.0  # a constant channel is not divided by 0
    back = scaler.inverse(scaler.transform(values), [0, 1])
    np.testing.assert_allclose(back, values)
    assert Scaler.from_dict(scaler.to_dict()).mean.tolist() == scaler.mean.tolist()


def test_every_window_is_kept_and_aligned():
    values = np.arange(100, dtype=float)[:, None] * np.array([[1.0, 10.0]])
    w = Windows(values, 10, 60, input_len=8, horizon=4, inputs=[0, 1], outputs=[1])
    assert len(w) == 60 - 10 - 8 - 4 + 1
    batches = list(w.batches(7))
    assert sum(b["x"].shape[0] for b in batches) == len(w)  # no drop_last
    last = batches[-1]
    assert last["x"][-1, :, 0].tolist() == list(range(48, 56))
    assert last["y"][-1, :, 0].tolist() == [10.0 * v for v in range(56, 60)]


def test_epoch_batches_are_deterministic_and_subsampled():
    w = Windows(np.random.default_rng(0).normal(size=(200, 2)), 0, 200, 10, 5, [0, 1], [0, 1])
    a, b = EpochBatches(w, 16, 3, seed=1, per_epoch=40), EpochBatches(w, 16, 3, seed=1,
                                                                    per_epoch=40)
    assert len(a) == 3 and torch.equal(a[2]["x"], b[2]["x"])
    assert not torch.equal(a[0]["x"], EpochBatches(w, 16, 4, seed=1, per_epoch=40)[0]["x"])
    with pytest.raises(IndexError):
        a[3]


def test_channel_indices():
    cols = ["a", "b", "OT"]
    assert channel_indices(cols, "M", "OT") == ([0, 1, 2], [0, 1, 2])
    assert channel_indices(cols, "MS", "OT") == ([0, 1, 2], [2])
    assert channel_indices(cols, "S", "b") == ([1], [1])
    with pytest.raises(AttnpredError, match="target 'x'"):
        channel_indices(cols, "S", "x")


@pytest.mark.parametrize("freq, step", [("h", pd.Timedelta(hours=1)),
                                        ("D", pd.Timedelta(days=1)),
                                        ("W-TUE", pd.Timedelta(weeks=1))])
def test_future_dates_follow_the_frequency(freq, step):
    dates = pd.date_range("2020-01-07", periods=30, freq=freq)
    future = future_dates(dates, 5)
    assert len(future) == 5 and future[0] == dates[-1] + step
    assert (future[1:] - future[:-1] == step).all()


def test_future_dates_with_irregular_gap():
    dates = pd.DatetimeIndex(list(pd.date_range("2020-01-01", periods=10, freq="D"))
                             + [pd.Timestamp("2020-01-20")])
    future = future_dates(dates, 2)
    assert list(future) == [pd.Timestamp("2020-01-21"), pd.Timestamp("2020-01-22")]


def test_reads_parquet_like_csv(tmp_path, make_frame):
    pytest.importorskip("pyarrow")
    frame = make_frame(30)
    frame.to_parquet(tmp_path / "s.parquet")
    frame.to_csv(tmp_path / "s.csv", index=False)
    a, b = read_series(tmp_path / "s.parquet"), read_series(tmp_path / "s.csv")
    assert a.columns == b.columns and (a.dates == b.dates).all()
    np.testing.assert_allclose(a.values, b.values)
    frame.loc[4, "a"] = np.nan
    frame.to_parquet(tmp_path / "gap.parquet")
    with pytest.raises(AttnpredError, match="missing value") as err:
        read_series(tmp_path / "gap.parquet")
    assert err.value.line == 6
