"""Forecasting task: train a forecaster into a run directory, load it back, predict past the end.

A run directory holds ``config.json`` (task "forecast", data/model/trainer configs),
``model.safetensors``, ``scaler.json`` (fitted on the training rows), ``metrics.json`` (validation
and test metrics beside the naive baselines) and the trainer's logs.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from attnpred.config import check, save_config
from attnpred.data.timeseries import (EpochBatches, Scaler, Series, TimeSeriesConfig, Windows,
                                      channel_indices, future_dates, read_series, split_borders)
from attnpred.errors import AttnpredError
from attnpred.evaluation.forecast import evaluate_forecaster, window_forecasts, window_mse
from attnpred.io import atomic_write_text, read_json
from attnpred.models.forecast_baselines import BASELINES, TRAINABLE, BaselineConfig
from attnpred.models.forecaster import ForecasterConfig, PatchForecaster
from attnpred.resources import resource
from attnpred.selection import block_count, block_means, one_standard_error
from attnpred.tasks.rundir import (finish_run, load_run_weights, prepare_run_dir, read_run_config,
                                   require_file)
from attnpred.training.checkpoint import save_weights, seed_everything
from attnpred.training.trainer import Trainer, TrainerConfig

MODELS = ("attnpred", *BASELINES)
NAIVE = ("repeat", "seasonal-naive")
PATH_RULES = ("one-se", "min", "always")


def _trainer_defaults() -> TrainerConfig:
    # eval_at_start: the fitted linear skip (attention head at zero) competes on validation,
    # so a run never ends worse than its skip alone, and its report says when attention lost
    # whole epochs at 1e-3: the attention path alone reaches ETTh1 H=96 validation MSE 0.69
    # this way, 0.86 with 6 x 4,096 windows at 1e-4 (benchmarks/forecast.py)
    return TrainerConfig(epochs=10, lr=1e-3, metric="mse", mode="min", patience=3,
                         schedule="cosine", weight_decay=0.01, progress=False,
                         tensorboard=False, eval_at_start=True)


@dataclass
class ForecastRunConfig:
    """Everything a forecasting run needs; saved as the run's config.json."""

    task: str = "forecast"
    """Always 'forecast' (read by attnpred.load)."""
    model: str = "attnpred"
    """attnpred (the attention forecaster), linear, repeat or seasonal-naive."""
    data: TimeSeriesConfig = field(default_factory=TimeSeriesConfig)
    """The series, targets, look-back, horizon and split."""
    forecaster: ForecasterConfig = field(default_factory=ForecasterConfig)
    """Attention forecaster settings (shape fields are filled in from the data)."""
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    """Baseline settings (seasonal period, trend kernel)."""
    trainer: TrainerConfig = field(default_factory=_trainer_defaults)
    """Optimisation; the validation MSE picks the best epoch."""
    batch_size: int = 128
    """Training windows per batch."""
    windows_per_epoch: int = 0
    """Training windows drawn (without replacement) per epoch; 0: all of them."""
    path_rule: str = "one-se"
    """When the attention path is kept beside the linear skip (else its head is zeroed and the
    forecast is the skip's): 'one-se' when it lowers the validation MSE by more than one
    standard error (over blocks of validation windows, attnpred.selection), 'min' when it lowers
    it at all, 'always'. Quantile forecasters always keep it (it carries the bands)."""
    eval_batch_size: int = 256
    """Windows per batch when evaluating and predicting."""

    def __post_init__(self) -> None:
        check(self.task == "forecast", "task", "must be 'forecast'")
        check(self.model in MODELS, "model", f"must be one of {MODELS}")
        check(self.batch_size >= 1 and self.eval_batch_size >= 1, "batch_size", "must be >= 1")
        check(self.windows_per_epoch >= 0, "windows_per_epoch", "must be >= 0")
        check(self.path_rule in PATH_RULES, "path_rule", f"must be one of {PATH_RULES}")
        check(self.forecaster.patch_len <= self.data.input_len, "forecaster.patch_len",
              f"must be <= input_len ({self.data.input_len})")


# ---- data and models ------------------------------------------------------------------------
@dataclass
class Prepared:
    """A series read, split, scaled and cut into windows for one run config."""

    series: Series
    scaler: Scaler
    inputs: list[int]
    outputs: list[int]
    windows: dict[str, Windows]

    @property
    def target_names(self) -> list[str]:
        return [self.series.columns[i] for i in self.outputs]


def prepare(data: TimeSeriesConfig, series: Series | None = None,
            scaler: Scaler | None = None) -> Prepared:
    """Read (unless given), split, scale (fitting on train rows unless given) and window."""
    series = series or read_series(data.path, data.date_column, data.columns)
    inputs, outputs = channel_indices(series.columns, data.features, data.target)
    borders = split_borders(len(series), data)
    scaler = scaler or Scaler.fit(series.values[: borders["train"][1]])
    values = scaler.transform(series.values)
    windows = {name: Windows(values, a, b, data.input_len, data.horizon, inputs, outputs)
               for name, (a, b) in borders.items()}
    return Prepared(series, scaler, inputs, outputs, windows)


def with_shapes(cfg: ForecastRunConfig, columns: list[str]) -> ForecastRunConfig:
    """Fill the model configs' shape fields (and the resolved channel names) from the data."""
    inputs, outputs = channel_indices(columns, cfg.data.features, cfg.data.target)
    targets = tuple(inputs.index(o) for o in outputs) if len(outputs) < len(inputs) else ()
    shape = dict(input_len=cfg.data.input_len, horizon=cfg.data.horizon,
                 n_channels=len(inputs), targets=targets)
    return replace(cfg, data=replace(cfg.data, columns=tuple(columns)),
                   forecaster=replace(cfg.forecaster, **shape),
                   baseline=replace(cfg.baseline, **shape))


def build_model(cfg: ForecastRunConfig) -> nn.Module:
    """The forecaster named by ``cfg.model`` (shape fields must be filled in)."""
    if cfg.model == "attnpred":
        return PatchForecaster(cfg.forecaster)
    return BASELINES[cfg.model](cfg.baseline)


def is_trainable(cfg: ForecastRunConfig) -> bool:
    return cfg.model == "attnpred" or cfg.model in TRAINABLE


def naive_metrics(cfg: ForecastRunConfig, prep: Prepared, split: str) -> dict[str, Any]:
    """Metrics of Repeat and seasonal naive on the same forecast rows of ``split``.

    Seasonal naive looks back at least one period, whatever the model's look-back; the
    windows' forecast rows (and so the scores) do not depend on the look-back.
    """
    out = {}
    for name in NAIVE:
        L = cfg.data.input_len
        if name == "seasonal-naive":
            L = max(L, cfg.baseline.period)
        here = prep if L == cfg.data.input_len else \
            prepare(replace(cfg.data, input_len=L), prep.series, prep.scaler)
        model = BASELINES[name](replace(cfg.baseline, input_len=L))
        out[name] = evaluate_forecaster(model, here.windows[split], prep.scaler,
                                        prep.target_names, cfg.eval_batch_size)
    return out


# ---- training -------------------------------------------------------------------------------
def train_forecast(cfg: ForecastRunConfig, run_dir: str | Path, *, resume: bool = False,
                   overwrite: bool = False) -> dict[str, Any]:
    """Train (or, for repeat / seasonal-naive, just set up) a forecaster into ``run_dir``.

    Returns:
        The metrics written to ``run_dir/metrics.json``: ``val`` and ``test`` of the model
        (every window; both scales; per channel), ``baselines`` (Repeat and seasonal naive on
        the test windows), ``seconds`` of training.
    """
    run_dir = Path(run_dir)
    prep = prepare(cfg.data)
    prepare_run_dir(run_dir, resume=resume, overwrite=overwrite, config=cfg)
    cfg = with_shapes(cfg, prep.series.columns)
    save_config(cfg, run_dir / "config.json")
    atomic_write_text(run_dir / "scaler.json", json.dumps(prep.scaler.to_dict()) + "\n")
    seed_everything(cfg.trainer.seed)
    model = build_model(cfg)
    started = time.time()
    paths = {}
    if is_trainable(cfg):
        _fit(model, cfg, prep, run_dir, resume)
        if isinstance(model, PatchForecaster):  # fit_skip wrote the ridge it picked
            cfg = replace(cfg, forecaster=model.cfg)
        save_config(cfg, run_dir / "config.json")
        paths = choose_paths(model, prep, cfg, run_dir)
    else:
        save_weights(model, run_dir / "model.safetensors")
    seconds = time.time() - started
    metrics = {split: evaluate_forecaster(model, prep.windows[split], prep.scaler,
                                          prep.target_names, cfg.eval_batch_size)
               for split in ("val", "test")}
    metrics |= {"baselines": naive_metrics(cfg, prep, "test"), "seconds": round(seconds, 2)}
    if paths:
        metrics["paths"] = paths
    return finish_run(run_dir, metrics, format_report(cfg.model, metrics),
                      keep_checkpoint=cfg.trainer.keep_checkpoint)


MIXES = tuple(i / 10 for i in range(11))
"""The attention path's shares tried for combine='blend' (0: the skip alone)."""


def choose_paths(model: nn.Module, prep: Prepared, cfg: ForecastRunConfig,
                 run_dir: Path) -> dict[str, Any]:
    """Does the attention path earn its place, and how large a share? Candidates on
    validation, simplest first: the linear skip alone, then the model with attention
    (combine='residual': the trained model; 'blend': attention shares 0.1 .. 1), chosen by
    ``cfg.path_rule``. The choice is applied (a zeroed head, or the blend weight ``mix``) and
    the weights saved again. Empty for models without both paths."""
    if not (isinstance(model, PatchForecaster) and model.skip is not None):
        return {}
    val = prep.windows["val"]
    errors, apply = (_blend_candidates if model.blends else _residual_candidates)(
        model, val, cfg.eval_batch_size)
    blocks = block_count(len(val), val.H) if cfg.path_rule == "one-se" else 1
    choice = one_standard_error([block_means(e, blocks) for e in errors])
    index = choice.index
    if cfg.path_rule == "always" or model.cfg.quantiles:  # keep attention, at its best share
        index = min(range(1, len(errors)), key=lambda i: errors[i].mean())
    apply(index)
    save_weights(model, run_dir / "model.safetensors")
    out = {"skip_alone_val_mse": float(errors[0].mean()),
           "trained_val_mse": float(errors[-1].mean()),
           "full_val_mse": float(errors[index].mean()),
           "standard_error": choice.standard_errors[0], "rule": cfg.path_rule,
           "attention_helps": index > 0}
    if model.blends:
        out["mix"] = MIXES[index]
    return out


def _residual_candidates(model: PatchForecaster, val: Windows, batch: int):
    """[skip alone, trained model] per-window errors, and how to apply a choice."""
    import copy
    skip_only = copy.deepcopy(model)
    nn.init.zeros_(skip_only.head[-1].weight)
    nn.init.zeros_(skip_only.head[-1].bias)
    errors = [window_mse(m, val, batch) for m in (skip_only, model)]

    def apply(index: int) -> None:
        if index == 0:  # the forecast is the skip's
            model.load_state_dict(skip_only.state_dict())
    return errors, apply


def _blend_candidates(model: PatchForecaster, val: Windows, batch: int):
    """Per-window errors of (1 - m) * skip + m * attention for m in MIXES, and how to set m."""
    preds = {}
    for m in (0.0, 1.0):
        model.mix.fill_(m)
        preds[m], true = window_forecasts(model, val, batch)
    skip, attn = preds[0.0], preds[1.0]
    errors = [((skip + m * (attn - skip) - true) ** 2).mean(dim=(1, 2)).double().numpy()
              for m in MIXES]
    return errors, lambda index: model.mix.fill_(MIXES[index])


def format_report(model: str, metrics: dict[str, Any]) -> str:
    """The readable report: the model on validation and test beside the naive baselines."""
    rows = [(f"{model} ({split})", metrics[split]) for split in ("val", "test") if split in metrics]
    rows += [(f"{name} (test)", m) for name, m in metrics.get("baselines", {}).items()]
    lines = [f"{'':24} {'MSE':>9} {'MAE':>9} {'MSE orig':>12} {'MAE orig':>12}"]
    for name, m in rows:
        lines.append(f"{name:24} {m['mse']:9.4f} {m['mae']:9.4f} {m['mse_original']:12.4f} "
                     f"{m['mae_original']:12.4f}")
    lines.append("MSE/MAE on standardised values (train-split scaler); 'orig': original scale; "
                 "every window scored.")
    for split in ("val", "test"):
        m = metrics.get(split, {})
        if "coverage" in m:
            lo, hi = m["interval"]
            lines.append(f"{split}: {lo:g}-{hi:g} quantile interval covers {m['coverage']:.3f} "
                         f"of the values (nominal {m['nominal_coverage']:.2f}); pinball "
                         f"{m['pinball']:.4f}")
    paths = metrics.get("paths")
    if paths:
        if not paths["attention_helps"]:
            margin = " by more than one standard error" \
                if paths.get("rule", "one-se") == "one-se" else ""
            verdict = (f"the attention path does NOT improve on the linear skip{margin} here: "
                       "it is switched off and the forecast is the skip's")
        elif "mix" in paths:
            verdict = (f"the forecast blends them with an attention share of {paths['mix']:g} "
                       f"(validation MSE {paths['full_val_mse']:.4f})")
        else:
            verdict = "the attention path improves on the linear skip and is kept"
        trained = paths.get("trained_val_mse", paths["full_val_mse"])
        lines.append(f"validation MSE: linear skip alone {paths['skip_alone_val_mse']:.4f}, "
                     f"with the trained attention path {trained:.4f} (standard error of the "
                     f"difference {paths.get('standard_error', 0.0):.4f}): {verdict}.")
    return "\n".join(lines)


def _fit(model: nn.Module, cfg: ForecastRunConfig, prep: Prepared, run_dir: Path,
         resume: bool = False) -> None:
    train, val = prep.windows["train"], prep.windows["val"]
    if isinstance(model, PatchForecaster) and cfg.forecaster.linear_skip \
            and cfg.forecaster.skip_lstsq:
        model.fit_skip(train.batches(1024), val.blocks(block_count(len(val), val.H)))

    def source(epoch: int) -> EpochBatches:
        return EpochBatches(train, cfg.batch_size, epoch, cfg.trainer.seed,
                            cfg.windows_per_epoch)

    def evaluate(m: nn.Module) -> dict[str, float]:
        res = evaluate_forecaster(m, val, prep.scaler, prep.target_names, cfg.eval_batch_size)
        return {k: res[k] for k in ("mse", "mae", "pinball") if k in res}

    trainer = cfg.trainer
    if getattr(getattr(model, "cfg", None), "quantiles", ()) and trainer.metric == "mse":
        # a quantile forecaster is judged by its pinball loss (the skip-only start, whose
        # quantiles coincide, would otherwise win on the median's MSE with a zero-width band)
        trainer = replace(trainer, metric="pinball")
    Trainer(model, trainer, run_dir, evaluate=evaluate).fit(source, resume=resume)


# ---- prediction -----------------------------------------------------------------------------
@dataclass
class Forecast:
    """A forecast of the H rows after a history, on the original scale.

    Attributes:
        dates: (H,) the forecast timestamps.
        values: (H, C_out) forecasts. columns: the C_out target names.
        history_dates: (L,) timestamps of the history the model saw.
        history: (L, C_out) the history of the target channels.
        attention: (C_out, L) attention over the history (rows sum to 1), or None.
        truth: (H, C_out) observed values where the series has them (NaN elsewhere), or None.
        attention_part: (H, C_out) how much of each forecast value the attention path adds (the
            rest comes from the linear skip and the window level), or None.
        quantiles: (H, C_out, Q) forecasts of the run's quantile ``levels``, or None.
    """

    dates: pd.DatetimeIndex
    values: np.ndarray
    columns: list[str]
    history_dates: pd.DatetimeIndex
    history: np.ndarray
    attention: np.ndarray | None = None
    truth: np.ndarray | None = None
    attention_part: np.ndarray | None = None
    quantiles: np.ndarray | None = None
    levels: tuple[float, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The forecast as a table: a date column and one column per target."""
        frame = pd.DataFrame(self.values, columns=self.columns)
        frame.insert(0, "date", self.dates)
        return frame

    def attention_frame(self) -> pd.DataFrame:
        """The attention over the history: a date column and one column per target."""
        if self.attention is None:
            raise AttnpredError("this forecast was made without attention")
        frame = pd.DataFrame(self.attention.T, columns=self.columns)
        frame.insert(0, "date", self.history_dates)
        return frame

    def summary(self) -> str:
        """One line: the horizon, its dates and the first target's first forecasts."""
        first = ", ".join(f"{v:.3f}" for v in self.values[:3, 0])
        return (f"{len(self.dates)} steps {self.dates[0]} .. {self.dates[-1]}; "
                f"{self.columns[0]}: {first}, ...")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings, forecasts and attention per target."""
        out: dict[str, Any] = {
            "dates": [d.isoformat() for d in self.dates],
            "forecast": {c: self.values[:, i].tolist() for i, c in enumerate(self.columns)}}
        if self.attention is not None:
            out["history_dates"] = [d.isoformat() for d in self.history_dates]
            out["attention"] = {c: self.attention[i].tolist()
                                for i, c in enumerate(self.columns)}
        if self.attention_part is not None:
            out["attention_part"] = {c: self.attention_part[:, i].tolist()
                                     for i, c in enumerate(self.columns)}
        if self.quantiles is not None:
            out["quantiles"] = {str(q): {c: self.quantiles[:, i, k].tolist()
                                         for i, c in enumerate(self.columns)}
                                for k, q in enumerate(self.levels)}
        return out


class ForecastPredictor:
    """A trained forecaster with its scaler; forecasts from any series with the same channels.

    Use ``attnpred.load(run_dir)`` (or ``ForecastPredictor.load``) to get one.
    """

    def __init__(self, cfg: ForecastRunConfig, model: nn.Module, scaler: Scaler,
                 device: str = "cpu") -> None:
        self.cfg, self.model, self.scaler = cfg, model.to(device).eval(), scaler
        self.device = torch.device(device)
        self.inputs, self.outputs = channel_indices(list(cfg.data.columns), cfg.data.features,
                                                    cfg.data.target)

    @classmethod
    def load(cls, run_dir: str | Path, device: str = "cpu") -> "ForecastPredictor":
        """Load a run directory written by ``train_forecast``."""
        run_dir = Path(run_dir)
        cfg = read_run_config(run_dir, ForecastRunConfig)
        model = build_model(cfg)
        load_run_weights(model, run_dir)
        scaler_path = require_file(run_dir, "scaler.json", "the scaler fitted on the train rows")
        scaler = Scaler.from_dict(read_json(scaler_path, "scaler"))
        return cls(cfg, model, scaler, device)

    def read_inputs(self, path: str | Path, format: str | None = None) -> list[Series]:
        """A series file (CSV/Parquet with the run's date column and channels), as one input."""
        return [self.read(path)]

    @property
    def target_names(self) -> list[str]:
        return [self.cfg.data.columns[i] for i in self.outputs]

    def read(self, path: str | Path) -> Series:
        """Read a series with this run's date column and channels."""
        return read_series(path, self.cfg.data.date_column, self.cfg.data.columns)

    def predict(self, inputs: Series | str | Path | Sequence[Series | str | Path], *,
                return_attention: bool = False, batch_size: int | None = None,
                end: int | None = None) -> list[Forecast]:
        """Forecast the H rows after each input series (after row ``end``, default the last).

        Args:
            inputs: a Series or a CSV/Parquet path with the run's date column and channels, or
                a list of them; one Forecast each, in order.
            return_attention: also return the attention over the history.
            batch_size: series per forward pass (default: the run's eval batch size).
            end: the history is rows [end - L, end); rows from ``end`` on, where present, are
                returned as ``truth``.
        Raises:
            AttnpredError: fewer than L rows of history.
        """
        if isinstance(inputs, (Series, str, Path)):
            inputs = [inputs]
        series = [s if isinstance(s, Series) else self.read(s) for s in inputs]
        size = batch_size or self.cfg.eval_batch_size
        out: list[Forecast] = []
        for i in range(0, len(series), size):
            out += self._predict_batch(series[i: i + size], end, return_attention)
        return out

    @torch.no_grad()
    def _predict_batch(self, batch: Sequence[Series], end: int | None,
                       return_attention: bool) -> list[Forecast]:
        L = self.cfg.data.input_len
        ends = [len(s) if end is None else end for s in batch]
        for s, e in zip(batch, ends):
            if not L <= e <= len(s):
                what = ("series too short:" if end is None
                        else f"end={e} must be in [{L}, {len(s)}]:")
                raise AttnpredError(f"{what} need {L} rows of history (input_len) before the "
                                    f"forecast; the series has {len(s)} rows",
                                    field="input_len" if end is None else "end")
        x = np.stack([self.scaler.transform(s.values[e - L: e])[:, self.inputs]
                      for s, e in zip(batch, ends)])
        x = torch.as_tensor(x, dtype=torch.float32, device=self.device)  # (B, L, C_in)
        out = self.model(x=x, return_attention=return_attention)
        return [self._forecast(s, e, out, row) for row, (s, e) in enumerate(zip(batch, ends))]

    def _forecast(self, series: Series, end: int, out: Any, row: int) -> Forecast:
        L, H = self.cfg.data.input_len, self.cfg.data.horizon
        values = self.scaler.inverse(out.forecast[row].cpu().double().numpy(), self.outputs)
        attn = out.history_attention
        known = series.values[end: end + H][:, self.outputs]
        truth = None
        if len(known):
            truth = np.full((H, len(self.outputs)), np.nan)
            truth[: len(known)] = known
        dates = series.dates[end: end + H] if end + H <= len(series) else \
            future_dates(series.dates[:end], H)
        part = out.attention_part
        if part is not None and attn is not None:  # a difference: rescaled, not shifted
            part = part[row].cpu().double().numpy() * self.scaler.std[self.outputs]
        else:
            part = None
        quantiles = None
        if out.quantiles is not None:
            q = out.quantiles[row].cpu().double().numpy()  # (H, C_out, Q), scaled
            quantiles = np.stack([self.scaler.inverse(q[..., k], self.outputs)
                                  for k in range(q.shape[-1])], -1)
        return Forecast(dates, values, self.target_names, series.dates[end - L: end],
                        series.values[end - L: end][:, self.outputs],
                        None if attn is None else attn[row].cpu().numpy(), truth, part,
                        quantiles, tuple(getattr(self.cfg.forecaster, "quantiles", ())))

    def evaluate(self, path: str | Path | None = None, split: str = "test",
                 baselines: bool = True, format: str | None = None) -> dict[str, Any]:
        """Metrics on every window of ``split`` of ``path`` (default: the training file), with
        the training scaler, beside Repeat and seasonal naive."""
        data = replace(self.cfg.data, path=str(path or self.cfg.data.path))
        if split not in ("train", "val", "test"):
            raise AttnpredError(f"unknown split {split!r}; expected train, val or test",
                                field="split")
        prep = prepare(data, scaler=self.scaler)
        out = {"model": self.cfg.model, split: evaluate_forecaster(
            self.model, prep.windows[split], self.scaler, prep.target_names,
            self.cfg.eval_batch_size)}
        if baselines:
            out["baselines"] = naive_metrics(self.cfg, prep, split)
        if self.cfg.model == "attnpred":
            from attnpred.evaluation.forecast_faithfulness import forecast_faithfulness
            out["faithfulness"] = forecast_faithfulness(self.model, prep.windows[split])
        return out

    @staticmethod
    def format_evaluation(result: dict[str, Any]) -> str:
        """The readable report of ``evaluate``'s result."""
        from attnpred.evaluation.forecast_faithfulness import format_faithfulness
        split = next(k for k in ("test", "val", "train") if k in result)
        text = f"split: {split}\n" + format_report(result["model"], {
            "test" if split == "test" else "val": result[split],
            "baselines": result.get("baselines", {})})
        if "faithfulness" in result:
            text += "\n" + format_faithfulness(result["faithfulness"])
        return text

    def window_end(self, path: str | Path | None, split: str, window: int) -> tuple[Series, int]:
        """The series and the history end row of window ``window`` of ``split``."""
        series = self.read(path or self.cfg.data.path)
        start, stop = split_borders(len(series), self.cfg.data)[split]
        count = stop - start - self.cfg.data.input_len - self.cfg.data.horizon + 1
        if not 0 <= window < count:
            raise AttnpredError(f"window {window} out of range; {split} has {count} windows",
                                field="window")
        return series, start + window + self.cfg.data.input_len

    @staticmethod
    def to_csv(results: Sequence[Any], start: int = 0) -> str:
        """The forecast table: a date column and one column per target."""
        return "".join(r.to_frame().to_csv(index=False) for r in results)


# ---- demo -----------------------------------------------------------------------------------
def demo_config(data_path: str | Path, quick: bool = True) -> ForecastRunConfig:
    """ETTh1, all channels, L=336, H=96, the benchmark's model and training; quick: two
    short epochs."""
    trainer = replace(_trainer_defaults(), epochs=2 if quick else 10,
                      patience=0 if quick else 3)
    return ForecastRunConfig(
        data=TimeSeriesConfig(path=str(data_path), split="ett-hour", input_len=336, horizon=96),
        trainer=trainer, batch_size=64, windows_per_epoch=1024 if quick else 0)


def forecast_demo(out_dir: str | Path, quick: bool = True) -> dict[str, Any]:
    """Train on the bundled ETTh1, score every test window beside Repeat and seasonal naive,
    forecast the 96 hours after the last row and draw the attention overlay.

    Returns:
        {"run_dir", "test": model metrics, "baselines": {...}, "faithfulness" (of the
         attention map on the test windows), "paths" (skip alone vs full on validation),
         "forecast_csv", "plot", "seconds", "note"}.
    """
    from attnpred.explain.ts_plot import plot_forecast
    out_dir = Path(out_dir)
    data = resource("ett", "ETTh1.csv")
    started = time.time()
    metrics = train_forecast(demo_config(data, quick), out_dir / "forecast_run", overwrite=True)
    predictor = ForecastPredictor.load(out_dir / "forecast_run")
    forecast = predictor.predict(data, return_attention=True)[0]
    csv_path, png_path = out_dir / "forecast_ett_next96h.csv", out_dir / "forecast_ett_OT.png"
    atomic_write_text(csv_path, forecast.to_frame().to_csv(index=False))
    plot_forecast(forecast, "OT", png_path)
    test = {k: metrics["test"][k] for k in ("mse", "mae", "mse_original", "mae_original")}
    from attnpred.evaluation.forecast_faithfulness import forecast_faithfulness
    prep = prepare(predictor.cfg.data, scaler=predictor.scaler)
    faith = forecast_faithfulness(predictor.model, prep.windows["test"], max_windows=256)
    return {"run_dir": str(out_dir / "forecast_run"), "test": test,
            "faithfulness": faith, "paths": metrics.get("paths"),
            "baselines": {n: {k: m[k] for k in test} for n, m in metrics["baselines"].items()},
            "forecast_csv": str(csv_path), "plot": str(png_path),
            "seconds": round(time.time() - started, 1),
            "note": "ETTh1 (Zhou et al., AAAI 2021; CC BY-ND 4.0), all 7 channels, L=336, "
                    "H=96, every test window; MSE/MAE on standardised values."}
