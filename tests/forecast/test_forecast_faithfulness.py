"""The forecast faithfulness metric: masking the attended steps of a model that uses them
costs more than masking random steps; for a model that attends elsewhere it does not."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from attnpred.data.timeseries import Windows
from attnpred.evaluation.forecast_faithfulness import forecast_faithfulness, interpolate_masked
from attnpred.models.forecaster import ForecastOutput

L, H = 40, 4


P = 10  # the series' period


class Toy(nn.Module):
    """Seasonal naive: forecasts step h as history step L - P + h; its attention map puts its
    weight on the H steps starting at ``attended``."""

    def __init__(self, attended: int) -> None:
        super().__init__()
        self.attended = attended
        self.cfg = SimpleNamespace(target_list=[0])

    def forward(self, x, y=None, return_attention=False):
        forecast = x[:, L - P:L - P + H, :1]
        att = torch.full((x.shape[0], 1, x.shape[1]), 1e-3)
        att[..., self.attended:self.attended + H] = 1.0
        return ForecastOutput(forecast, history_attention=att / att.sum(-1, keepdim=True))


def windows():
    rng = np.random.default_rng(0)
    t = np.arange(400)
    values = (np.sin(2 * np.pi * t / P) + rng.normal(scale=0.05, size=400))[:, None]
    return Windows(values, 0, 400, L, H, [0], [0])


def test_interpolation_is_the_line_between_neighbours():
    x = np.array([0.0, 9.0, 9.0, 3.0, 4.0])
    out = interpolate_masked(x, np.array([False, True, True, False, False]))
    np.testing.assert_allclose(out, [0.0, 1.0, 2.0, 3.0, 4.0])


def test_faithful_attention_scores_above_random_and_unfaithful_below():
    w = windows()
    good = forecast_faithfulness(Toy(attended=L - P), w, fractions=(0.1,))
    bad = forecast_faithfulness(Toy(attended=0), w, fractions=(0.1,))
    assert good["by_fraction"]["0.1"]["ratio"] > 3
    assert bad["by_fraction"]["0.1"]["top_mse_rise"] == pytest.approx(0.0, abs=1e-9)
    assert bad["by_fraction"]["0.1"]["ratio"] < 0.5
    # weight on 4 of 40 steps: entropy about log 4 / log 40 = 0.38 of a flat map's
    assert 0.3 < good["entropy_ratio"] < 0.45


def test_a_switched_off_attention_path_is_reported_as_unused():
    """A forecaster whose attention head is zero (the run chose the skip alone) is flagged,
    and the report says the rises measure the skip."""
    w = windows()
    from attnpred.evaluation.forecast_faithfulness import attention_used, format_faithfulness
    from attnpred.models.forecaster import ForecasterConfig, PatchForecaster
    cfg = ForecasterConfig(input_len=w.L, horizon=w.H, n_channels=len(w.inputs),
                           patch_len=4, stride=4, d_model=8, heads=2, ff_dim=16, layers=1)
    model = PatchForecaster(cfg).eval()
    assert attention_used(model)
    nn.init.zeros_(model.head[-1].weight)
    nn.init.zeros_(model.head[-1].bias)
    res = forecast_faithfulness(model, w, max_windows=8)
    assert res["attention_used"] is False
    assert "switched off" in format_faithfulness(res)


def test_a_blend_with_no_attention_share_is_reported_as_unused():
    from attnpred.evaluation.forecast_faithfulness import attention_used
    from attnpred.models.forecaster import ForecasterConfig, PatchForecaster
    cfg = ForecasterConfig(input_len=L, horizon=H, n_channels=1, patch_len=4, stride=4,
                           d_model=8, heads=2, ff_dim=16, layers=1, linear_skip=True,
                           combine="blend")
    model = PatchForecaster(cfg).eval()
    assert attention_used(model)
    model.mix.fill_(0.0)
    assert not attention_used(model)
