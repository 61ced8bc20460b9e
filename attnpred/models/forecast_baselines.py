"""Forecasting baselines in the same framework as the attention forecaster.

Each takes (B, L, C) histories and returns a ``ForecastOutput`` with (B, H, C_out) forecasts and
no attention: Repeat (the last value), seasonal naive (the value one period earlier) and a
DLinear-style linear model (moving-average trend + remainder, one linear map each over time,
shared by the channels; Zeng et al. 2023).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnpred.config import check
from attnpred.models.forecaster import ForecastOutput, ForecastShape, forecast_loss


@dataclass
class BaselineConfig(ForecastShape):
    """Shape of a baseline forecaster and its one or two settings."""

    period: int = 24
    """Season length in rows for seasonal naive (24 for hourly data with a daily cycle)."""
    kernel: int = 25
    """Moving-average window of the linear model's trend (odd)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.period >= 1, "period", "must be >= 1")
        check(self.kernel >= 1 and self.kernel % 2 == 1, "kernel", "must be odd and >= 1")


class RepeatLast(nn.Module):
    """Forecast every future step as the last observed value."""

    def __init__(self, cfg: BaselineConfig) -> None:
        super().__init__()
        self.cfg = cfg

    def forward(self, x: Tensor, y: Tensor | None = None, **_: bool) -> ForecastOutput:
        last = x[:, -1:, self.cfg.target_list]  # (B, 1, C_out)
        forecast = last.expand(-1, self.cfg.horizon, -1)
        return ForecastOutput(forecast, forecast_loss(forecast, y))


class SeasonalNaive(nn.Module):
    """Forecast step t as the value ``period`` steps before it, repeating the last season."""

    def __init__(self, cfg: BaselineConfig) -> None:
        super().__init__()
        check(cfg.period <= cfg.input_len, "period", "must be <= input_len (one full season)")
        self.cfg = cfg
        L, m = cfg.input_len, cfg.period
        self.register_buffer("index", L - m + torch.arange(cfg.horizon) % m, persistent=False)

    def forward(self, x: Tensor, y: Tensor | None = None, **_: bool) -> ForecastOutput:
        forecast = x[:, self.index][..., self.cfg.target_list]  # (B, H, C_out)
        return ForecastOutput(forecast, forecast_loss(forecast, y))


class LinearForecaster(nn.Module):
    """DLinear: split each history into a moving-average trend and the remainder, map each to
    the horizon with a linear layer over time, and add the two."""

    def __init__(self, cfg: BaselineConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.trend = nn.Linear(cfg.input_len, cfg.horizon)
        self.season = nn.Linear(cfg.input_len, cfg.horizon)
        for layer in (self.trend, self.season):  # start as the mean of the history
            nn.init.constant_(layer.weight, 1.0 / cfg.input_len)

    def _moving_average(self, z: Tensor) -> Tensor:
        """z: (B, C, L) -> (B, C, L), edges padded by repeating the end values."""
        half = (self.cfg.kernel - 1) // 2
        padded = F.pad(z, (half, half), mode="replicate")
        return F.avg_pool1d(padded, self.cfg.kernel, stride=1)

    def forward(self, x: Tensor, y: Tensor | None = None, **_: bool) -> ForecastOutput:
        z = x[..., self.cfg.target_list].transpose(1, 2)  # (B, C_out, L)
        trend = self._moving_average(z)
        out = self.trend(trend) + self.season(z - trend)  # (B, C_out, H)
        forecast = out.transpose(1, 2)
        return ForecastOutput(forecast, forecast_loss(forecast, y))


BASELINES = {"repeat": RepeatLast, "seasonal-naive": SeasonalNaive, "linear": LinearForecaster}
TRAINABLE = {"linear"}
