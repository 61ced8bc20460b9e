"""Time-series data: read a dated table, split it in time, scale it, cut it into windows.

Shape legend: N rows, C channels, L look-back (input_len), H horizon, B windows.

Targets follow the usual convention: ``M`` all channels in and out, ``MS`` all channels in and
one target out, ``S`` the target channel alone. Splits follow the Informer/Autoformer loaders
(BENCHMARKS.md section 3): the validation and test parts start ``input_len`` rows early so
their first window forecasts the first row of the part; the scaler is fitted on train rows only.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from attnpred.config import check
from attnpred.errors import AttnpredError

FEATURES = ("M", "MS", "S")
SPLITS = ("ett-hour", "ett-minute", "ratio")
ETT_MONTHS = (12, 4, 4)  # train, validation, test months of 30 days


@dataclass
class TimeSeriesConfig:
    """Where the series is and how to cut it into forecasting windows."""

    path: str = ""
    """CSV or Parquet file with a date column and numeric channels."""
    date_column: str = "date"
    """Name of the date/time column."""
    columns: tuple[str, ...] = ()
    """Numeric channels to use, in order (empty: every column but the date)."""
    features: str = "M"
    """M: all channels in and out; MS: all in, the target out; S: the target alone."""
    target: str = "OT"
    """The target channel for MS and S."""
    input_len: int = 336
    """Look-back L: rows of history the model sees."""
    horizon: int = 96
    """Forecast horizon H: rows predicted after the history."""
    split: str = "ratio"
    """ett-hour (12/4/4 months of hourly rows), ett-minute (15-minute rows) or ratio."""
    ratios: tuple[float, float, float] = (0.7, 0.1, 0.2)
    """Train/validation/test shares in time order, for split='ratio'."""

    def __post_init__(self) -> None:
        check(self.features in FEATURES, "features", f"must be one of {FEATURES}")
        check(self.split in SPLITS, "split", f"must be one of {SPLITS}")
        check(self.input_len >= 1, "input_len", "must be >= 1")
        check(self.horizon >= 1, "horizon", "must be >= 1")
        check(len(self.ratios) == 3 and all(r > 0 for r in self.ratios)
              and abs(sum(self.ratios) - 1) < 1e-6, "ratios",
              "must be three positive shares summing to 1")


@dataclass
class Series:
    """A dated multivariate series.

    Attributes:
        dates: (N,) strictly increasing timestamps.
        values: (N, C) float64 values.
        columns: the C channel names.
    """

    dates: pd.DatetimeIndex
    values: np.ndarray
    columns: list[str]

    def __len__(self) -> int:
        return len(self.dates)


# ---- reading --------------------------------------------------------------------------------
def _read_table(path: Path) -> pd.DataFrame:
    """The file as a table of strings (CSV) or typed columns (Parquet); one clear error for an
    empty, binary, damaged or non-UTF-8 file."""
    if not path.is_file():
        raise AttnpredError("file not found" if not path.exists() else "not a regular file",
                            file=path)
    if path.stat().st_size == 0:
        raise AttnpredError("empty file (no header and no rows)", file=path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return _read_parquet(path)
    from attnpred.data.text import decode_bytes
    text = decode_bytes(path.read_bytes(), None, path)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise AttnpredError(f"not a readable CSV file: {str(exc).strip()[:160]}",
                            file=path) from None
    return _require_rows(frame, path)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise AttnpredError(f"reading Parquet needs pyarrow ({exc})", file=path) from None
    import pyarrow.lib
    try:
        frame = pd.read_parquet(path)
    except (pyarrow.lib.ArrowException, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise AttnpredError(f"not a readable Parquet file ({first})", file=path) from None
    return _require_rows(frame, path)


def _require_rows(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    if frame.empty:
        raise AttnpredError(f"no rows (columns: {list(frame.columns)})", file=path)
    return frame


def _line(row: int) -> int:
    return row + 2  # 1-based, after the header line


def _parse_dates(raw: pd.Series, path: Path, column: str) -> pd.DatetimeIndex:
    dates = pd.to_datetime(raw.replace("", None), errors="coerce", format="mixed")
    bad = np.flatnonzero(dates.isna().to_numpy())
    if len(bad):
        raise AttnpredError(f"missing or unreadable date {raw.iloc[bad[0]]!r}", file=path,
                            line=_line(bad[0]), field=column)
    dates = pd.DatetimeIndex(dates)
    steps = np.diff(dates.asi8)
    if len(steps) and (steps <= 0).any():
        row = int(np.flatnonzero(steps <= 0)[0]) + 1
        kind = "duplicate" if steps[row - 1] == 0 else "out-of-order"
        raise AttnpredError(f"{kind} date {dates[row]} (dates must be strictly increasing)",
                            file=path, line=_line(row), field=column)
    return dates


def _parse_values(raw: pd.Series, path: Path, column: str) -> np.ndarray:
    text = raw.astype(str).str.strip() if raw.dtype == object else raw
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        found = raw.iloc[bad[0]]
        what = "missing value" if str(found).strip() in ("", "nan", "NaN", "None") \
            else f"non-numeric value {found!r}"
        raise AttnpredError(f"{what}; every channel needs a number in every row", file=path,
                            line=_line(bad[0]), field=column)
    return values


def read_series(path: str | Path, date_column: str = "date",
                columns: tuple[str, ...] | list[str] = ()) -> Series:
    """Read a dated table and check it.

    Raises:
        AttnpredError: missing file or column, unreadable or unsorted or duplicate dates,
            missing or non-numeric values (with the file line and column).
    """
    path = Path(path)
    frame = _read_table(path)
    if date_column not in frame.columns:
        raise AttnpredError(f"no date column {date_column!r}; columns: {list(frame.columns)}",
                            file=path, field=date_column)
    names = list(columns) or [c for c in frame.columns if c != date_column]
    missing = [c for c in names if c not in frame.columns]
    if missing or not names:
        raise AttnpredError(f"missing channel column(s) {missing}; columns: "
                            f"{list(frame.columns)}", file=path, field=(missing or [""])[0])
    dates = _parse_dates(frame[date_column], path, date_column)
    values = np.stack([_parse_values(frame[c], path, c) for c in names], axis=1)
    return Series(dates, values, [str(c) for c in names])


def channel_indices(columns: list[str], features: str, target: str) -> tuple[list[int], list[int]]:
    """Input and output channel indices for M / MS / S."""
    if features == "M":
        every = list(range(len(columns)))
        return every, every
    if target not in columns:
        raise AttnpredError(f"target {target!r} is not a channel; channels: {columns}",
                            field="target")
    t = columns.index(target)
    return (list(range(len(columns))), [t]) if features == "MS" else ([t], [t])


# ---- splitting and scaling ------------------------------------------------------------------
def split_borders(n: int, cfg: TimeSeriesConfig) -> dict[str, tuple[int, int]]:
    """Row ranges [start, end) of train/val/test; val and test start input_len rows early."""
    L = cfg.input_len
    if cfg.split == "ratio":
        n_train, n_test = int(n * cfg.ratios[0]), int(n * cfg.ratios[2])
        ends = (n_train, n - n_test, n)
    else:
        month = 30 * 24 * (4 if cfg.split == "ett-minute" else 1)
        ends = tuple(month * sum(ETT_MONTHS[: i + 1]) for i in range(3))
        if n < ends[2]:
            raise AttnpredError(f"split {cfg.split!r} needs {ends[2]} rows, the series has {n}",
                                field="split")
    borders = {"train": (0, ends[0]), "val": (ends[0] - L, ends[1]),
               "test": (ends[1] - L, ends[2])}
    for name, (a, b) in borders.items():
        if a < 0 or b - a < L + cfg.horizon:
            raise AttnpredError(
                f"series too short: the {name} part has {max(0, b - max(a, 0))} rows but "
                f"input_len + horizon = {L + cfg.horizon}", field="input_len")
    return borders


@dataclass
class Scaler:
    """Per-channel standardisation fitted on training rows.

    Attributes:
        mean: (C,) channel means. std: (C,) channel standard deviations (never 0).
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> "Scaler":
        """Fit on (rows, C) values (population std, as scikit-learn's StandardScaler)."""
        std = values.std(axis=0)
        return cls(values.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.std

    def inverse(self, values: np.ndarray | Tensor, channels: list[int]) -> np.ndarray | Tensor:
        """Undo the scaling of (..., len(channels)) values of the given channels."""
        mean, std = self.mean[channels], self.std[channels]
        if isinstance(values, Tensor):
            mean = torch.as_tensor(mean, dtype=values.dtype, device=values.device)
            std = torch.as_tensor(std, dtype=values.dtype, device=values.device)
        return values * std + mean

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> "Scaler":
        return cls(np.asarray(data["mean"], dtype=np.float64),
                   np.asarray(data["std"], dtype=np.float64))


# ---- windows --------------------------------------------------------------------------------
class Windows:
    """Every (history, future) window of a row range, gathered on demand.

    Args:
        values: (N, C) scaled values of the whole series.
        start, end: the row range [start, end) the windows lie in.
        input_len, horizon: L and H.
        inputs, outputs: channel indices fed to the model and forecast.
    """

    def __init__(self, values: np.ndarray, start: int, end: int, input_len: int, horizon: int,
                 inputs: list[int], outputs: list[int]) -> None:
        self.values = torch.as_tensor(values[start:end], dtype=torch.float32)  # (rows, C)
        self.L, self.H = input_len, horizon
        self.inputs, self.outputs = inputs, outputs
        self.count = max(0, end - start - input_len - horizon + 1)

    def __len__(self) -> int:
        return self.count

    def batch(self, index: Tensor) -> dict[str, Tensor]:
        """x: (B, L, C_in) histories, y: (B, H, C_out) futures of the windows ``index``."""
        span = self.values.unfold(0, self.L + self.H, 1)[index]  # (B, C, L + H)
        span = span.transpose(1, 2)  # (B, L + H, C)
        return {"x": span[:, : self.L, self.inputs].contiguous(),
                "y": span[:, self.L:, self.outputs].contiguous()}

    def batches(self, batch_size: int) -> Iterator[dict[str, Tensor]]:
        """Every window in order, no window dropped."""
        for a in range(0, self.count, batch_size):
            yield self.batch(torch.arange(a, min(a + batch_size, self.count)))

    def blocks(self, count: int) -> Iterator[dict[str, Tensor]]:
        """Every window in order, as ``count`` contiguous near-equal batches (fewer when there
        are fewer windows): the blocks of ``attnpred.selection``'s standard error."""
        for part in torch.arange(self.count).tensor_split(min(count, self.count)):
            yield self.batch(part)


class EpochBatches:
    """One epoch of shuffled training batches (a Sequence, as the trainer expects).

    ``per_epoch`` windows are drawn without replacement each epoch (0: all of them), in an order
    fixed by ``seed + epoch``, so a resumed run sees the same batches.
    """

    def __init__(self, windows: Windows, batch_size: int, epoch: int, seed: int,
                 per_epoch: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed + epoch)
        order = torch.randperm(len(windows), generator=gen)
        self.order = order[:per_epoch] if per_epoch else order
        self.windows, self.batch_size = windows, batch_size

    def __len__(self) -> int:
        return -(-len(self.order) // self.batch_size)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self.windows.batch(self.order[i * self.batch_size: (i + 1) * self.batch_size])


# ---- dates ----------------------------------------------------------------------------------
def future_dates(dates: pd.DatetimeIndex, horizon: int) -> pd.DatetimeIndex:
    """The ``horizon`` timestamps after the last one, at the series' frequency.

    The frequency is inferred from the last rows (hourly, daily, weekly, month ends, ...);
    when pandas cannot name it, the most common step is used.
    """
    tail = dates[-min(len(dates), 50):]
    with warnings.catch_warnings():  # pandas 3 announces a change of return type
        warnings.simplefilter("ignore")
        freq = pd.infer_freq(tail) if len(tail) >= 3 else None
    if freq is not None:
        return pd.date_range(dates[-1], periods=horizon + 1, freq=freq)[1:]
    if len(dates) < 2:
        raise AttnpredError("need at least two dates to infer the frequency", field="date")
    step = pd.Series(dates[1:] - dates[:-1]).mode().iloc[0]
    return pd.DatetimeIndex([dates[-1] + step * k for k in range(1, horizon + 1)])
