"""Does a forecaster's attention over the history mean something? Mask and measure.

For every window, the history steps that the aggregated attention map (``history_attention``:
attention received per step, averaged over layers, heads and queries) ranks highest are
replaced by a neutral value, the straight line between the nearest unmasked neighbours, and the
rise in forecast MSE is measured; the same number of steps drawn at random gives the reference.
Faithful attention points at the steps the forecast depends on, so masking them costs more than
masking random ones (ratio > 1). Masking the most recent steps is reported too: forecasts lean on
the latest values, so a map that only says "recent" scores high against random but no higher
than recency. The entropy of the map relative to a uniform map (1: flat,
0: one step) says how concentrated it is.

Shapes: B windows, L look-back, C input channels, C_out forecast channels, H horizon.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from attnpred.data.timeseries import Windows


def interpolate_masked(x: np.ndarray, masked: np.ndarray) -> np.ndarray:
    """x: (L,) with ``masked`` (L,) bool -> x where masked steps lie on the straight line
    between their nearest unmasked neighbours (flat beyond the ends)."""
    keep = ~masked
    if not keep.any():
        return np.full_like(x, x.mean())
    steps = np.arange(len(x))
    out = x.copy()
    out[masked] = np.interp(steps[masked], steps[keep], x[keep])
    return out


def _mask(x: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """x: (B, L, C); steps: (B, C, L) bool per channel -> masked copy."""
    out = x.copy()
    for b in range(x.shape[0]):
        for c in range(x.shape[2]):
            if steps[b, c].any():
                out[b, :, c] = interpolate_masked(x[b, :, c], steps[b, c])
    return out


def _top_steps(att: np.ndarray, k: int) -> np.ndarray:
    """att: (B, C, L) -> bool (B, C, L), the k most-attended steps per row."""
    order = np.argsort(-att, axis=-1, kind="stable")[..., :k]
    out = np.zeros(att.shape, dtype=bool)
    np.put_along_axis(out, order, True, axis=-1)
    return out


def _channel_maps(history: np.ndarray, n_channels: int, targets: Sequence[int]) -> np.ndarray:
    """(B, C_out, L) maps of the forecast channels -> (B, C, L): each target channel keeps its
    own map; other inputs get the targets' mean map."""
    out = np.repeat(history.mean(1, keepdims=True), n_channels, axis=1)
    for i, c in enumerate(targets):
        out[:, c] = history[:, i]
    return out


@torch.no_grad()
def forecast_faithfulness(model: nn.Module, windows: Windows,
                          fractions: Sequence[float] = (0.1, 0.2), *, max_windows: int = 512,
                          batch_size: int = 256, seed: int = 0) -> dict[str, Any]:
    """MSE rise when the most-attended vs random history steps are interpolated away.

    Args:
        model: a forecaster whose ``forward(x, return_attention=True)`` gives
            ``history_attention`` (B, C_out, L).
        windows: the windows to use (the first ``max_windows``, evenly spaced, when there are
            more: masking is per window and channel).
        fractions: shares of the look-back masked.
    Returns:
        ``{"base_mse", "entropy_ratio", "windows", "by_fraction": {f: {"top_mse_rise",
        "random_mse_rise", "recent_mse_rise", "ratio"}}}`` (scaled data; ratio = top rise /
        random rise; recent: the last f of the history masked).
    """
    was_training = model.training
    model.eval()
    n = len(windows)
    chosen = np.unique(np.linspace(0, n - 1, min(n, max_windows)).round().astype(int))
    picked = windows.batch(torch.as_tensor(chosen))
    x_all, y_all = picked["x"], picked["y"]
    rng = np.random.default_rng(seed)
    sq = {"base": 0.0} | {f"{kind}{f}": 0.0 for f in fractions
                          for kind in ("top", "rand", "recent")}
    entropy, count = 0.0, 0
    for start in range(0, len(x_all), batch_size):
        x, y = x_all[start:start + batch_size], y_all[start:start + batch_size]
        out = model(x=x, return_attention=True)
        if out.history_attention is None:
            raise ValueError("this forecaster returns no history attention")
        hist = out.history_attention.float().numpy()  # (B, C_out, L)
        p = hist / hist.sum(-1, keepdims=True)
        entropy += float((-(p * np.log(p + 1e-12)).sum(-1) / np.log(p.shape[-1])).sum())
        count += p.shape[0] * p.shape[1]
        sq["base"] += float(((out.forecast - y) ** 2).sum())
        xn = x.numpy()
        targets = getattr(model.cfg, "target_list", list(range(hist.shape[1])))
        maps = _channel_maps(hist, xn.shape[2], targets)
        L = xn.shape[1]
        for f in fractions:
            k = max(1, int(round(f * L)))
            top = _top_steps(maps, k)
            rand = _top_steps(rng.random(maps.shape), k)
            recent = np.zeros(maps.shape, dtype=bool)
            recent[..., L - k:] = True
            for kind, steps in (("top", top), ("rand", rand), ("recent", recent)):
                pred = model(x=torch.from_numpy(_mask(xn, steps))).forecast
                sq[f"{kind}{f}"] += float(((pred - y) ** 2).sum())
    model.train(was_training)
    total = y_all.numel()
    base = sq["base"] / total
    by_fraction = {}
    for f in fractions:
        top, rand = sq[f"top{f}"] / total - base, sq[f"rand{f}"] / total - base
        by_fraction[str(f)] = {"top_mse_rise": top, "random_mse_rise": rand,
                               "recent_mse_rise": sq[f"recent{f}"] / total - base,
                               # undefined where random masking does not raise the error
                               "ratio": top / rand if rand > 1e-12 else None}
    return {"base_mse": base, "entropy_ratio": entropy / max(count, 1),
            "windows": int(len(chosen)), "by_fraction": by_fraction,
            "attention_used": attention_used(model)}


def attention_used(model: nn.Module) -> bool:
    """Does the forecast go through the attention path? False when its head is all zero or
    its blend share ``mix`` is 0 (a run whose attention path lost to the linear skip on
    validation is saved so): the rises then measure how much the skip leans on the masked
    steps, not the attention."""
    head = getattr(model, "head", None)
    if head is None:
        return True
    if getattr(model, "blends", False) and float(model.mix) == 0:
        return False
    return any(bool(p.detach().abs().sum() > 0) for p in head[-1].parameters())


def format_faithfulness(res: dict[str, Any]) -> str:
    lines = [f"attention faithfulness ({res['windows']} windows; map entropy / uniform "
             f"{res['entropy_ratio']:.3f}):"]
    for f, r in res["by_fraction"].items():
        lines.append(f"  mask top {float(f):.0%} attended steps: MSE +{r['top_mse_rise']:.4f}"
                     f"   random {float(f):.0%}: +{r['random_mse_rise']:.4f}"
                     f"   most recent {float(f):.0%}: +{r['recent_mse_rise']:.4f}"
                     + (f"   ratio {r['ratio']:.2f}" if r["ratio"] is not None else
                        "   ratio undefined (random masking did not raise the error)"))
    if not res.get("attention_used", True):
        lines.append("  the attention path is switched off in this run (it did not beat the "
                     "linear skip on validation): these rises measure the skip's reliance on "
                     "the masked steps, not the attention's")
    return "\n".join(lines)
