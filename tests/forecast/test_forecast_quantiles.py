"""Quantile forecasts: pinball loss, ordered quantiles, an 80% interval that covers about 80%
of noisy data after training, and quantiles in the predictor's results and report."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import attnpred
from attnpred.errors import AttnpredError
from attnpred.models.forecaster import ForecasterConfig, PatchForecaster, pinball_loss


def test_pinball_loss_by_hand():
    q = torch.tensor([[[[0.0, 1.0, 2.0]]]])  # (1, 1, 1, 3)
    y = torch.tensor([[[1.5]]])
    levels = torch.tensor([0.1, 0.5, 0.9])
    # errors y - q = 1.5, 0.5, -0.5 -> 0.1*1.5, 0.5*0.5, 0.1*0.5
    assert float(pinball_loss(q, y, levels)) == pytest.approx((0.15 + 0.25 + 0.05) / 3)


def test_levels_must_include_the_median():
    with pytest.raises(AttnpredError, match="quantiles"):
        ForecasterConfig(input_len=32, horizon=4, n_channels=1, patch_len=8, stride=8,
                         quantiles=(0.1, 0.9))


def test_quantiles_are_ordered_and_the_median_is_the_forecast():
    torch.manual_seed(0)
    cfg = ForecasterConfig(input_len=32, horizon=4, n_channels=2, patch_len=8, stride=8,
                           d_model=8, heads=2, ff_dim=16, layers=1, quantiles=(0.1, 0.5, 0.9))
    model = PatchForecaster(cfg)
    nn_init = torch.nn.init
    nn_init.normal_(model.head[-1].weight, std=0.5)
    out = model(torch.randn(3, 32, 2), torch.randn(3, 4, 2), return_attention=True)
    assert out.quantiles.shape == (3, 4, 2, 3)
    assert (out.quantiles.diff(dim=-1) >= 0).all()
    torch.testing.assert_close(out.forecast, out.quantiles[..., 1])


def test_trained_interval_covers_about_its_level(tmp_path):
    rng = np.random.default_rng(0)
    n = 1500
    t = np.arange(n)
    pd.DataFrame({"date": pd.date_range("2021-01-01", periods=n, freq="h"),
                  "OT": np.sin(2 * np.pi * t / 24) + 0.5 * rng.standard_normal(n)}
                 ).to_csv(tmp_path / "s.csv", index=False)
    cfg = attnpred.ForecastRunConfig(
        data=attnpred.TimeSeriesConfig(path=str(tmp_path / "s.csv"), input_len=48, horizon=8,
                                       split="ratio"),
        forecaster=ForecasterConfig(patch_len=8, stride=8, d_model=16, heads=2, ff_dim=32,
                                    layers=1, dropout=0.0, quantiles=(0.1, 0.5, 0.9)),
        # eval_at_start as forecast runs do: the skip-only start (all quantiles equal) must
        # lose on validation by the pinball loss, not win on the median's MSE
        trainer=attnpred.TrainerConfig(epochs=6, lr=3e-3, metric="mse", mode="min",
                                       eval_at_start=True, progress=False, tensorboard=False),
        batch_size=32)
    metrics = attnpred.train(cfg, tmp_path / "run")
    assert 0.65 < metrics["test"]["coverage"] < 0.95, metrics["test"]["coverage"]
    assert "quantile interval covers" in (tmp_path / "run" / "report.txt").read_text()
    forecast = attnpred.load(tmp_path / "run").predict(tmp_path / "s.csv")[0]
    assert forecast.quantiles.shape == (8, 1, 3)
    assert set(forecast.to_dict()["quantiles"]) == {"0.1", "0.5", "0.9"}
    np.testing.assert_allclose(forecast.quantiles[..., 1], forecast.values, rtol=1e-5)
