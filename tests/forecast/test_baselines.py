import pytest
import torch

from attnpred.errors import ConfigError
from attnpred.models.forecast_baselines import (BaselineConfig, LinearForecaster, RepeatLast,
                                                SeasonalNaive)


def toy() -> torch.Tensor:
    """(1, 6, 2): channel 0 counts 0..5, channel 1 counts 10, 20, ... 60."""
    t = torch.arange(6, dtype=torch.float32)
    return torch.stack([t, 10 * (t + 1)], dim=-1)[None]


def test_repeat_last_value():
    out = RepeatLast(BaselineConfig(input_len=6, horizon=3, n_channels=2))(x=toy())
    assert out.forecast.tolist() == [[[5.0, 60.0]] * 3]
    assert out.attentions == () and out.history_attention is None


def test_seasonal_naive_repeats_the_last_season():
    cfg = BaselineConfig(input_len=6, horizon=5, n_channels=2, period=2, targets=(0,))
    out = SeasonalNaive(cfg)(x=toy(), y=torch.zeros(1, 5, 1))
    assert out.forecast[0, :, 0].tolist() == [4.0, 5.0, 4.0, 5.0, 4.0]
    assert out.loss.item() == pytest.approx((16 + 25 + 16 + 25 + 16) / 5)


def test_linear_starts_as_the_history_mean_and_can_learn():
    cfg = BaselineConfig(input_len=6, horizon=2, n_channels=2, kernel=3)
    model = LinearForecaster(cfg)
    torch.nn.init.zeros_(model.trend.bias)
    torch.nn.init.zeros_(model.season.bias)
    out = model(x=toy())
    torch.testing.assert_close(out.forecast[0, 0], torch.tensor([2.5, 35.0]))
    # learn "next value = last + 1" on ramps
    x = torch.arange(6.0)[None, :, None] + torch.randn(64, 1, 1) * 3
    x = x.expand(64, 6, 2)
    y = x[:, -1:, :] + torch.arange(1.0, 3.0)[None, :, None]
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(120):
        loss = model(x=x, y=y).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-2


def test_period_longer_than_history_is_rejected():
    with pytest.raises(ConfigError):
        SeasonalNaive(BaselineConfig(input_len=12, period=24))
