"""Training, reloading and predicting with a tiny forecasting run."""
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error

import attnpred.api
from attnpred.data.timeseries import TimeSeriesConfig
from attnpred.models.forecaster import ForecasterConfig
from attnpred.tasks.forecast import ForecastPredictor, ForecastRunConfig, train_forecast
from attnpred.training.trainer import TrainerConfig


def tiny_config(path, **data) -> ForecastRunConfig:
    return ForecastRunConfig(
        data=TimeSeriesConfig(path=str(path), input_len=48, horizon=12, **data),
        forecaster=ForecasterConfig(patch_len=8, stride=8, d_model=16, heads=2, ff_dim=32,
                                    layers=1, dropout=0.0),
        trainer=TrainerConfig(epochs=6, lr=3e-3, metric="mse", mode="min", progress=False,
                              tensorboard=False, warmup_ratio=0.0, schedule="constant"),
        batch_size=16)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, make_frame):
    root = tmp_path_factory.mktemp("fc")
    path = root / "s.csv"
    make_frame().to_csv(path, index=False)
    metrics = train_forecast(tiny_config(path), root / "run")
    return path, root / "run", metrics


def test_run_directory_and_metrics(trained):
    path, run, metrics = trained
    for name in ("config.json", "model.safetensors", "scaler.json", "metrics.json"):
        assert (run / name).is_file()
    assert json.loads((run / "config.json").read_text())["task"] == "forecast"
    test = metrics["test"]
    assert test["windows"] == 300 - int(300 * 0.7) - (300 - int(300 * 0.7) - int(300 * 0.2)) \
        - 12 + 1
    assert set(test["per_channel"]) == {"a", "b", "OT"}
    # the periodic series is learnable: far better than repeating the last value
    assert test["mse"] < 0.5 * metrics["baselines"]["repeat"]["mse"]


def test_reload_predicts_the_same(trained):
    path, run, metrics = trained
    predictor = attnpred.api.load(run)
    assert isinstance(predictor, ForecastPredictor)
    again = predictor.evaluate(path)
    assert again["test"]["mse"] == pytest.approx(metrics["test"]["mse"], rel=1e-6)
    a, b = predictor.predict(path, end=250, return_attention=True)[0], ForecastPredictor.load(run).predict(path, end=250, return_attention=True)[0]
    np.testing.assert_allclose(a.values, b.values)


def test_metrics_match_sklearn_on_both_scales(trained):
    path, run, metrics = trained
    predictor = ForecastPredictor.load(run)
    series = predictor.read(path)
    start = int(300 * 0.8)  # first test row (ratio split)
    preds, truths = [], []
    for end in range(start, 300 - 12 + 1):
        f = predictor.predict(series, end=end, return_attention=False)[0]
        preds.append(f.values)
        truths.append(f.truth)
    pred, true = np.concatenate(preds), np.concatenate(truths)
    assert metrics["test"]["mse_original"] == pytest.approx(mean_squared_error(true, pred),
                                                            rel=1e-4)
    assert metrics["test"]["mae_original"] == pytest.approx(mean_absolute_error(true, pred),
                                                            rel=1e-4)
    std = predictor.scaler.std
    assert metrics["test"]["mse"] == pytest.approx(mean_squared_error(true / std, pred / std),
                                                   rel=1e-4)


def test_predict_past_the_end_with_dates_and_attention(trained):
    path, run, _ = trained
    f = ForecastPredictor.load(run).predict(path, return_attention=True)[0]
    last = pd.read_csv(path)["date"].iloc[-1]
    assert f.dates[0] == pd.Timestamp(last) + pd.Timedelta(hours=1) and len(f.dates) == 12
    assert f.values.shape == (12, 3) and f.truth is None
    assert f.attention.shape == (3, 48)
    np.testing.assert_allclose(f.attention.sum(1), 1.0, rtol=1e-5)
    assert f.history_dates[-1] == pd.Timestamp(last)
    assert list(f.to_frame().columns) == ["date", "a", "b", "OT"]
    assert len(f.to_dict()["attention"]["OT"]) == 48
    assert f.attention_part.shape == (12, 3) and len(f.to_dict()["attention_part"]["OT"]) == 12


def test_predict_needs_a_full_history(trained):
    from attnpred.errors import AttnpredError
    path, run, _ = trained
    with pytest.raises(AttnpredError, match="need 48 rows"):
        ForecastPredictor.load(run).predict(path, end=20, return_attention=True)[0]


def test_single_target_daily_series(tmp_path, make_frame):
    path = tmp_path / "daily.csv"
    make_frame(200, freq="D").to_csv(path, index=False)
    cfg = tiny_config(path, features="S", target="OT")
    cfg.trainer.epochs = 1
    metrics = train_forecast(cfg, tmp_path / "run")
    assert list(metrics["test"]["per_channel"]) == ["OT"]
    f = ForecastPredictor.load(tmp_path / "run").predict(path, return_attention=True)[0]
    assert f.values.shape == (12, 1) and f.columns == ["OT"]
    assert f.dates[0] - f.history_dates[-1] == pd.Timedelta(days=1)


@pytest.mark.parametrize("model", ["repeat", "seasonal-naive", "linear"])
def test_baselines_train_and_load(tmp_path, model, make_frame):
    path = tmp_path / "s.csv"
    make_frame().to_csv(path, index=False)
    cfg = tiny_config(path)
    cfg.model, cfg.trainer.epochs = model, 1
    metrics = train_forecast(cfg, tmp_path / "run")
    f = ForecastPredictor.load(tmp_path / "run").predict(path, return_attention=False)[0]
    assert f.values.shape == (12, 3) and f.attention is None
    if model == "repeat":
        assert metrics["test"]["mse"] == pytest.approx(metrics["baselines"]["repeat"]["mse"])


def test_config_records_the_ridge_picked_on_validation(tmp_path, make_frame):
    """The saved config holds the penalty fit_skip picked, not the one configured."""
    from dataclasses import replace

    from attnpred.models.forecaster import PatchForecaster
    from attnpred.selection import block_count
    from attnpred.tasks.forecast import prepare, with_shapes
    path = tmp_path / "s.csv"
    make_frame().to_csv(path, index=False)
    cfg = tiny_config(path)
    cfg = replace(cfg, forecaster=replace(cfg.forecaster, ridge=1e4),
                  trainer=replace(cfg.trainer, epochs=1))
    train_forecast(cfg, tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["forecaster"]
    prep = prepare(cfg.data)
    model = PatchForecaster(with_shapes(cfg, prep.series.columns).forecaster)
    val = prep.windows["val"]
    picked = model.fit_skip(prep.windows["train"].batches(64),
                            val.blocks(block_count(len(val), val.H)))
    assert saved["ridge"] == picked != 1e4 and picked in cfg.forecaster.ridge_grid


@pytest.mark.parametrize("rule", ["one-se", "min", "always"])
def test_a_harmful_attention_path_is_switched_off_unless_always(tmp_path, make_frame, rule):
    """choose_paths zeroes (and saves) a head that makes validation worse than the skip
    alone; with 'always' the trained head stays."""
    from dataclasses import replace

    import torch
    from safetensors.torch import load_file

    from attnpred.models.forecaster import PatchForecaster
    from attnpred.tasks.forecast import choose_paths, prepare, with_shapes
    path = tmp_path / "s.csv"
    make_frame().to_csv(path, index=False)
    cfg = replace(tiny_config(path), path_rule=rule)
    prep = prepare(cfg.data)
    cfg = with_shapes(cfg, prep.series.columns)
    model = PatchForecaster(cfg.forecaster).eval()
    model.fit_skip(prep.windows["train"].batches(64))
    torch.manual_seed(0)
    torch.nn.init.normal_(model.head[-1].weight, std=1.0)  # a head that only adds noise
    paths = choose_paths(model, prep, cfg, tmp_path)
    assert paths["trained_val_mse"] > paths["skip_alone_val_mse"]
    assert paths["attention_helps"] == (rule == "always")
    saved = tmp_path / "model.safetensors"
    if rule == "always":
        assert paths["full_val_mse"] == paths["trained_val_mse"]
        assert load_file(saved)["head.1.weight"].abs().sum() > 0
    else:
        assert paths["full_val_mse"] == pytest.approx(paths["skip_alone_val_mse"])
        assert load_file(saved)["head.1.weight"].abs().sum() == 0


def test_blend_trains_the_attention_path_alone_and_picks_its_share_on_validation(tmp_path,
                                                                                make_frame):
    """combine='blend': the saved share reproduces the validation MSE reported for it, the
    blend equals (1 - mix) * skip + mix * attention, and share 0 is the skip alone."""
    from dataclasses import replace

    import torch

    from attnpred.tasks.forecast import MIXES, prepare
    path = tmp_path / "s.csv"
    make_frame().to_csv(path, index=False)
    cfg = tiny_config(path)
    cfg = replace(cfg, forecaster=replace(cfg.forecaster, combine="blend"))
    metrics = train_forecast(cfg, tmp_path / "run")
    paths = metrics["paths"]
    assert paths["mix"] in MIXES and paths["attention_helps"] == (paths["mix"] > 0)
    assert metrics["val"]["mse"] == pytest.approx(paths["full_val_mse"], rel=1e-5)
    assert paths["full_val_mse"] <= paths["skip_alone_val_mse"] + 1e-9
    model = ForecastPredictor.load(tmp_path / "run").model
    assert float(model.mix) == pytest.approx(paths["mix"])
    x = prepare(cfg.data).windows["val"].batch(torch.arange(4))["x"]
    with torch.no_grad():
        blended = model(x=x).forecast
        model.mix.fill_(0.0)
        skip = model(x=x).forecast
        model.mix.fill_(1.0)
        attn = model(x=x).forecast
    m = paths["mix"]
    assert torch.allclose(blended, (1 - m) * skip + m * attn, atol=1e-5)
