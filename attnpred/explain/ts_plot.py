"""Time-series attention overlay: history, forecast, truth and the attention over the history."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from attnpred.errors import AttnpredError
from attnpred.io import atomic_write


def plot_forecast(forecast: Any, channel: str, path: str | Path, title: str | None = None) -> Path:
    """Draw one channel of a forecast as a PNG.

    The top panel shows the history, the forecast and (where known) the truth; the bottom panel
    shows the attention each history step received, aligned on the same time axis.

    Args:
        forecast: a ``Forecast`` (dates, values, columns, history_dates, history, attention,
            truth), as returned by ``ForecastPredictor.predict``.
        channel: the target column to draw.
        path: where to write the PNG.
    Raises:
        AttnpredError: unknown channel.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if channel not in forecast.columns:
        raise AttnpredError(f"unknown channel {channel!r}; forecast channels: "
                            f"{forecast.columns}", field="channel")
    i = forecast.columns.index(channel)
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(11, 5),
                                      gridspec_kw={"height_ratios": [3, 1]})
    top.plot(forecast.history_dates, forecast.history[:, i], color="0.35", lw=1, label="history")
    if forecast.truth is not None and np.isfinite(forecast.truth[:, i]).any():
        top.plot(forecast.dates, forecast.truth[:, i], color="tab:green", lw=1, label="truth")
    top.plot(forecast.dates, forecast.values[:, i], color="tab:red", lw=1.5, label="forecast")
    top.axvline(forecast.history_dates[-1], color="0.6", ls=":", lw=1)
    top.set_ylabel(channel)
    top.legend(loc="upper left", fontsize=8)
    top.set_title(title or f"{channel}: {len(forecast.dates)}-step forecast")
    if forecast.attention is not None:
        bottom.fill_between(forecast.history_dates, forecast.attention[i], step="mid",
                            color="tab:blue", alpha=0.6)
    bottom.set_ylabel("attention")
    fig.autofmt_xdate()
    fig.tight_layout()
    path = Path(path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
    return path
