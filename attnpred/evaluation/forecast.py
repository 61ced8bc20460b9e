"""Forecast metrics: MSE and MAE per channel and overall, on the scaled and the original scale.

Errors are summed window by window (every window, none dropped), so a long test set never has
to sit in memory at once; the figures equal those of sklearn's mean_squared_error on the
flattened forecasts (tests/forecast/test_evaluation.py).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from attnpred.data.timeseries import Scaler, Windows


class ErrorSums:
    """Running sums of squared and absolute errors per channel, on both scales."""

    def __init__(self, channels: int) -> None:
        self.count = 0
        self.sums = {k: np.zeros(channels) for k in ("mse", "mae", "mse_original",
                                                     "mae_original")}

    def add(self, pred: np.ndarray, true: np.ndarray, pred_orig: np.ndarray,
            true_orig: np.ndarray) -> None:
        """Add (B, H, C) forecasts and truths on the scaled and original scales."""
        self.count += pred.shape[0] * pred.shape[1]
        for suffix, p, t in (("", pred, true), ("_original", pred_orig, true_orig)):
            err = (p - t).reshape(-1, p.shape[-1])
            self.sums["mse" + suffix] += (err ** 2).sum(0)
            self.sums["mae" + suffix] += np.abs(err).sum(0)

    def report(self, names: list[str]) -> dict[str, Any]:
        """Overall means, per-channel means and the number of forecast steps."""
        per = {k: v / max(self.count, 1) for k, v in self.sums.items()}
        out: dict[str, Any] = {k: float(v.mean()) for k, v in per.items()}
        out["per_channel"] = {n: {k: float(v[i]) for k, v in per.items()}
                              for i, n in enumerate(names)}
        return out


@torch.no_grad()
def evaluate_forecaster(model: nn.Module, windows: Windows, scaler: Scaler, names: list[str],
                        batch_size: int = 256) -> dict[str, Any]:
    """MSE/MAE of ``model`` on every window, per channel and overall, on both scales.

    Args:
        model: returns a ForecastOutput from ``model(x=...)``.
        windows: the windows to score (all of them are used).
        scaler: the training scaler, to return to the original scale.
        names: the forecast channels' names.
    Returns:
        {"mse", "mae", "mse_original", "mae_original", "windows", "per_channel": {name: {...}}}.
    """
    was_training = model.training
    model.eval()
    sums = ErrorSums(len(windows.outputs))
    device = next((t.device for t in [*model.parameters(), *model.buffers()]),
                  torch.device("cpu"))
    quantile = QuantileSums()
    for batch in windows.batches(batch_size):
        out = model(x=batch["x"].to(device))
        pred = out.forecast.float().cpu()
        true = batch["y"]
        sums.add(pred.numpy(), true.numpy(), scaler.inverse(pred, windows.outputs).numpy(),
                 scaler.inverse(true, windows.outputs).numpy())
        if getattr(out, "quantiles", None) is not None:
            quantile.add(out.quantiles.float().cpu(), true, model.cfg.quantiles)
    model.train(was_training)
    return sums.report(names) | {"windows": len(windows)} | quantile.report()


@torch.no_grad()
def window_forecasts(model: nn.Module, windows: Windows, batch_size: int = 256
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Forecasts and truths (N, H, C_out) of every window, in order (scaled values)."""
    was_training = model.training
    model.eval()
    preds, truths = [], []
    for b in windows.batches(batch_size):
        preds.append(model(x=b["x"]).forecast.float())
        truths.append(b["y"])
    model.train(was_training)
    if not preds:
        return torch.zeros(0), torch.zeros(0)
    return torch.cat(preds), torch.cat(truths)


def window_mse(model: nn.Module, windows: Windows, batch_size: int = 256) -> np.ndarray:
    """(N,) MSE of each window's forecast (scaled values, all steps and channels), in order:
    the per-window errors that ``attnpred.selection`` cuts into blocks."""
    pred, true = window_forecasts(model, windows, batch_size)
    if not len(pred):
        return np.zeros(0)
    return ((pred - true) ** 2).mean(dim=(1, 2)).double().numpy()


class QuantileSums:
    """Running pinball loss and coverage of the outermost quantile interval."""

    def __init__(self) -> None:
        self.pinball, self.inside, self.count, self.levels = 0.0, 0, 0, ()

    def add(self, quantiles: torch.Tensor, true: torch.Tensor, levels: tuple) -> None:
        lv = torch.tensor(levels)
        err = true.unsqueeze(-1) - quantiles
        self.pinball += float(torch.maximum(lv * err, (lv - 1) * err).mean(-1).sum())
        self.inside += int(((true >= quantiles[..., 0]) & (true <= quantiles[..., -1])).sum())
        self.count += true.numel()
        self.levels = tuple(levels)

    def report(self) -> dict[str, Any]:
        if not self.count:
            return {}
        lo, hi = self.levels[0], self.levels[-1]
        return {"pinball": self.pinball / self.count, "interval": [lo, hi],
                "nominal_coverage": round(hi - lo, 6), "coverage": self.inside / self.count}
