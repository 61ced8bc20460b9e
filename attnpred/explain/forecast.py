"""Explaining forecasts: history, forecast and truth with the attention over the history, and
the patch-to-patch attention of every layer and head.

Works with a predictor exposing ``predict(series_list, return_attention=True, end=...)`` ->
``Forecast`` objects, ``read(path)``, ``scaler``, ``inputs``, ``cfg.data.input_len`` and
``model(x=..., return_attention=True)`` -> ``ForecastOutput``, such as ``ForecastPredictor``.

Shape legend: B series, C channels, L layers, H heads, N patches, P history steps.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from attnpred.errors import AttnpredError
from attnpred.explain.maps import as_array
from attnpred.explain.types import ForecastExplanation


def as_window(predictor: Any, item: Any, index: int) -> tuple[Any, int | None, str]:
    """(series, end row or None for the last, name) from a path, Series, (series, end) pair
    or a record {'series': path or Series, 'end': row, 'name': shown name}."""
    end, name = None, None
    if isinstance(item, dict):
        if "series" not in item:
            raise AttnpredError("a forecast record needs 'series' (a CSV/Parquet path)",
                                field=f"inputs[{index}]")
        item, end, name = item["series"], item.get("end"), item.get("name")
    elif isinstance(item, tuple):
        item, end = item
    if name is None:
        name = Path(item).name if isinstance(item, (str, Path)) else f"series {index + 1}"
    series = predictor.read(item) if isinstance(item, (str, Path)) else item
    if end is not None:
        name += f" @ row {int(end)}"
    return series, None if end is None else int(end), name


def _layers(predictor: Any, series: Any, end: int) -> np.ndarray | None:
    """(L, C, H, N, N) patch attention of every layer for one window (None without any)."""
    size = predictor.cfg.data.input_len
    x = predictor.scaler.transform(series.values[end - size: end])[:, predictor.inputs]
    x = torch.as_tensor(x, dtype=torch.float32, device=predictor.device)[None]  # (1, P, C)
    with torch.no_grad():
        out = predictor.model(x=x, return_attention=True)
    if not getattr(out, "attentions", ()):
        return None
    return np.stack([as_array(a) for a in out.attentions])  # (L, C, H, N, N) as B = 1


def explain_forecasts(predictor: Any, inputs: Sequence[Any], *, methods=None, faithfulness=(),
                      matrices: bool = False,
                      batch_size: int | None = None) -> list[ForecastExplanation]:
    """``attnpred.explain.explain`` for forecasters (classification options are ignored)."""
    out = []
    for i, item in enumerate(inputs):
        series, end, name = as_window(predictor, item, i)
        fc = predictor.predict([series], return_attention=True, end=end)[0]
        end = len(series) if end is None else end
        maps = {}
        if fc.attention is not None:
            maps["history"] = np.asarray(fc.attention, np.float32)
        layers = _layers(predictor, series, end)
        if layers is not None:
            maps["layers"] = layers
        iso = lambda ds: [d.isoformat() for d in ds]  # noqa: E731
        out.append(ForecastExplanation(
            list(fc.columns), iso(fc.dates), np.asarray(fc.values), iso(fc.history_dates),
            np.asarray(fc.history), None if fc.truth is None else np.asarray(fc.truth), maps,
            name))
    return out
