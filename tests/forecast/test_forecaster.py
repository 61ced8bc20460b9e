import pytest
import torch

from attnpred.errors import ConfigError
from attnpred.models.forecaster import ForecasterConfig, PatchForecaster, patch_to_steps


def tiny(**kw) -> ForecasterConfig:
    base = dict(input_len=32, horizon=8, n_channels=3, patch_len=8, stride=4, d_model=8,
                heads=2, ff_dim=16, layers=2, dropout=0.0, linear_skip=False)
    return ForecasterConfig(**(base | kw))


def test_shapes_and_attention_rows_sum_to_one():
    cfg = tiny()
    model = PatchForecaster(cfg).eval()
    x = torch.randn(5, 32, 3)
    out = model(x=x, y=torch.randn(5, 8, 3), return_attention=True)
    assert out.forecast.shape == (5, 8, 3) and out.loss.ndim == 0
    assert len(out.attentions) == 2
    P = cfg.n_patches
    assert P == 8 and out.attentions[0].shape == (5 * 3, 2, P, P)
    for a in out.attentions:
        torch.testing.assert_close(a.sum(-1), torch.ones(15, 2, P))
    assert out.history_attention.shape == (5, 3, 32)
    torch.testing.assert_close(out.history_attention.sum(-1), torch.ones(5, 3))
    assert (out.history_attention >= 0).all()


def test_without_attention_same_forecast_and_type():
    model = PatchForecaster(tiny()).eval()
    x = torch.randn(4, 32, 3)
    fused, explicit = model(x=x), model(x=x, return_attention=True)
    assert fused.attentions == () and fused.history_attention is None and fused.loss is None
    torch.testing.assert_close(fused.forecast, explicit.forecast, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("length, patch, stride", [(30, 8, 4), (32, 8, 8), (33, 5, 3)])
def test_patch_to_steps_rows_sum_to_one_and_cover_history(length, patch, stride):
    cfg = tiny(input_len=length, patch_len=patch, stride=stride)
    spread = patch_to_steps(cfg)
    assert spread.shape == (cfg.n_patches, length)
    torch.testing.assert_close(spread.sum(1), torch.ones(cfg.n_patches))
    assert (spread.sum(0) > 0).all()  # every history step belongs to some patch


def test_batched_equals_one_at_a_time():
    model = PatchForecaster(tiny(channel_layers=1, linear_skip=True)).eval()
    x = torch.randn(4, 32, 3)
    batched = model(x=x, return_attention=True)
    for i in range(4):
        single = model(x=x[i: i + 1], return_attention=True)
        torch.testing.assert_close(single.forecast[0], batched.forecast[i], atol=1e-5,
                                   rtol=1e-5)
        torch.testing.assert_close(single.history_attention[0], batched.history_attention[i],
                                   atol=1e-6, rtol=1e-5)


def test_many_inputs_one_target_reads_other_channels():
    """MS: the target's forecast changes with another channel only when channels mix."""
    x = torch.randn(2, 32, 3)
    moved = x.clone()
    moved[..., 0] += torch.randn(2, 32)
    for mixing, changes in ((0, False), (1, True)):
        torch.manual_seed(0)
        model = PatchForecaster(tiny(targets=(2,), channel_layers=mixing)).eval()
        a, b = model(x=x).forecast, model(x=moved).forecast
        assert a.shape == (2, 8, 1)
        assert (not torch.allclose(a, b)) == changes
    out = model(x=x, return_attention=True)
    assert out.channel_attentions[0].shape == (2 * 8, 2, 3, 3)
    assert out.history_attention.shape == (2, 1, 32)


def test_revin_makes_the_attention_path_follow_shifts_and_scales():
    torch.manual_seed(0)
    model = PatchForecaster(tiny()).eval()
    x = torch.randn(2, 32, 3)
    base = model(x=x).forecast
    torch.testing.assert_close(model(x=3 * x + 5).forecast, 3 * base + 5, atol=1e-4, rtol=1e-4)


def test_config_validation():
    with pytest.raises(ConfigError):
        tiny(d_model=10, heads=4)
    with pytest.raises(ConfigError):
        tiny(patch_len=64)
    with pytest.raises(ConfigError):
        tiny(targets=(3,))


def test_least_squares_skip_recovers_a_linear_rule():
    """Futures that are an exact linear map of the (normalised) history are fit exactly."""
    cfg = tiny(linear_skip=True, targets=(1,))
    model = PatchForecaster(cfg).eval()
    torch.manual_seed(1)
    x = torch.randn(64, 32, 3)
    rule = torch.randn(32, 8) / 8
    # the rule is not shift/scale equivariant, so fit on windows already normalised
    x = (x - x.mean(1, keepdim=True)) / x.std(1, unbiased=False, keepdim=True)
    y = (x[..., 1:2].transpose(1, 2) @ rule).transpose(1, 2)  # (64, 8, 1), linear in history
    model.fit_skip([{"x": x[:32], "y": y[:32]}, {"x": x[32:], "y": y[32:]}])
    assert model(x=x, y=y).loss.item() < 1e-3
    assert model.head[-1].weight.abs().sum() == 0


def test_ridge_grid_picks_the_penalty_with_the_lowest_validation_error():
    """The grid's pick matches fitting each penalty alone and scoring it on validation."""
    torch.manual_seed(3)
    x = torch.randn(96, 32, 3)
    y = (x[..., :1].transpose(1, 2) @ (torch.randn(32, 8) / 8)).transpose(1, 2)
    y = y.expand(-1, -1, 3) + 0.8 * torch.randn(96, 8, 3)  # noisy: some penalty helps
    train, val = [{"x": x[:40], "y": y[:40]}], [{"x": x[40:], "y": y[40:]}]
    grid = (1e-4, 1e-1, 1.0, 10.0, 1e3)
    errors = {}
    for ridge in grid:
        model = PatchForecaster(tiny(linear_skip=True, ridge=ridge)).eval()
        model.fit_skip(train)
        errors[ridge] = model(x=x[40:], y=y[40:]).loss.item()
    model = PatchForecaster(tiny(linear_skip=True, ridge_grid=grid)).eval()
    picked = model.fit_skip(train, val)
    assert picked == min(errors, key=errors.get) == model.cfg.ridge
    assert model(x=x[40:], y=y[40:]).loss.item() == pytest.approx(errors[picked], rel=1e-4)
    assert len(set(round(e, 6) for e in errors.values())) > 1  # the penalty matters here


def test_ridge_grid_with_blocks_keeps_the_largest_penalty_within_one_standard_error():
    """With several validation blocks the pick is the one-standard-error rule applied to each
    penalty's loss on each block (fitted alone): the most shrunk penalty within noise."""
    from attnpred.selection import one_standard_error
    torch.manual_seed(9)
    x = torch.randn(160, 32, 3)
    y = (x[..., :1].transpose(1, 2) @ (torch.randn(32, 8) / 8)).transpose(1, 2)
    y = y.expand(-1, -1, 3) + 0.3 * torch.randn(160, 8, 3)
    train = [{"x": x[:100], "y": y[:100]}]
    blocks = [{"x": x[a: a + 24], "y": y[a: a + 24]} for a in range(100, 160, 24)]
    grid = (1e-4, 1e-1, 1.0, 10.0, 1e3)
    losses = {}
    for ridge in grid:
        model = PatchForecaster(tiny(linear_skip=True, ridge=ridge)).eval()
        model.fit_skip(train)
        losses[ridge] = [model(**b).loss.item() for b in blocks]
    order = sorted(grid, reverse=True)
    expected = order[one_standard_error([losses[r] for r in order]).index]
    model = PatchForecaster(tiny(linear_skip=True, ridge_grid=grid)).eval()
    assert model.fit_skip(train, blocks) == expected
    means = {r: sum(v) / len(v) for r, v in losses.items()}
    assert expected > min(means, key=means.get)  # here more shrunk than the plain minimum


def _fitted(anchor, ridge=1e-3, seed=4):
    torch.manual_seed(seed)
    x = torch.randn(48, 32, 3).cumsum(1)
    y = x[:, -8:].flip(1) + 0.1 * torch.randn(48, 8, 3)
    model = PatchForecaster(tiny(linear_skip=True, skip_anchor=anchor, ridge=ridge)).eval()
    model.fit_skip([{"x": x, "y": y}])
    return model, x


@pytest.mark.parametrize("anchor", ["last", "mean", "norm"])
def test_anchored_skip_makes_the_whole_model_shift_equivariant(anchor):
    """Adding c to every history value adds c to every forecast ('none' does not)."""
    model, x = _fitted(anchor)
    torch.nn.init.normal_(model.head[-1].weight, std=0.1)  # the attention path forecasts too
    shifted = model(x=x + 5.0).forecast
    assert torch.allclose(shifted, model(x=x).forecast + 5.0, atol=1e-3)
    level, _ = _fitted("none")
    assert not torch.allclose(level(x=x + 5.0).forecast, level(x=x).forecast + 5.0, atol=1e-2)


def test_norm_anchor_makes_the_whole_model_scale_equivariant():
    """Multiplying the history by s multiplies every forecast by s (RevIN on both paths)."""
    model, x = _fitted("norm")
    torch.nn.init.normal_(model.head[-1].weight, std=0.1)
    assert torch.allclose(model(x=3.0 * x).forecast, 3.0 * model(x=x).forecast, atol=1e-3)
    last, _ = _fitted("last")
    assert not torch.allclose(last(x=3.0 * x).forecast, 3.0 * last(x=x).forecast, atol=1e-2)


def test_last_anchor_with_a_huge_penalty_is_repeat():
    model, x = _fitted("last", ridge=1e9)
    repeat = x[:, -1:].expand(-1, 8, -1)
    assert torch.allclose(model(x=x).forecast, repeat, atol=1e-3)


def test_attention_part_is_what_the_attention_path_adds():
    """Zero head: the attention path adds nothing; otherwise forecast - attention_part is the
    forecast of the same model with its head zeroed (the skip and the window level)."""
    model, x = _fitted("last")
    out = model(x=x, return_attention=True)
    assert torch.allclose(out.attention_part, torch.zeros_like(out.attention_part), atol=1e-6)
    torch.nn.init.normal_(model.head[-1].weight, std=0.1)
    out = model(x=x, return_attention=True)
    assert out.attention_part.abs().max() > 1e-2
    torch.nn.init.zeros_(model.head[-1].weight)
    torch.nn.init.zeros_(model.head[-1].bias)
    rest = model(x=x).forecast
    assert torch.allclose(out.forecast - out.attention_part, rest, atol=1e-4)
    assert model(x=x).attention_part is None
