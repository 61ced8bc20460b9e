"""Forecasting benchmark (BENCHMARKS.md section 3): ETTh1, Exchange-Rate and ILI, multivariate.

Every setting is chosen on the validation split, per horizon, by the one-standard-error rule
(attnpred.selection: the simplest candidate within one standard error of the lowest validation
MSE, the error measured over blocks of validation windows as long as the horizon):
1. the attention forecaster's linear skip: look-back L, anchor (last value, window mean,
   RevIN-style norm, none; in that order of preference) and ridge penalty (largest first), by
   the validation MSE of the skip alone (closed form, seconds each);
2. the attention path is then trained on top of the chosen skip, the validation MSE (each
   epoch or every ``eval_every`` steps, and before the first step) picking the weights; it is
   kept only where it beats the skip alone by more than one standard error on validation,
   else its head is zeroed and the run's report says so (``attention_helps`` records);
   ablation per horizon: (a) the skip alone, (b) the attention path alone (no skip, trained
   the same way), (c) the full model; the faithfulness of (b)'s and (c)'s attention maps
   (masking the top-attended vs random 10% / 20% of the history); on ETTh1 at H = 96 the
   quantile option (10/50/90%) and its interval coverage;
   the attention path's width (SIZES; on ILI also PatchTST's published ILI recipe, 3 layers
   trained 100 epochs) is picked by the full model's validation MSE, by the same rule
   (fewest parameters first);
3. the linear (DLinear-style) baseline's look-back, by its validation MSE.
Every test window is scored, beside Repeat and seasonal naive, with the published numbers
copied from BENCHMARKS.md (records marked ``published: true``; not measured here). The skip
candidates' test scores are recorded too (``selected`` says which one validation picked), to
show where validation and test disagree. ETTh1 at H=96 is repeated over three seeds.

    nice -n 10 python benchmarks/forecast.py            # everything -> results/forecast.json
    python benchmarks/forecast.py --datasets ili  # one dataset; the others' records are kept
    python benchmarks/forecast.py --quick --datasets ili  # a fast smoke run (not for reporting)
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import kept_records, record, require_data, write_results

import numpy as np  # noqa: E402
import torch  # noqa: E402

from attnpred.data.timeseries import TimeSeriesConfig  # noqa: E402
from attnpred.evaluation.forecast import evaluate_forecaster, window_mse  # noqa: E402
from attnpred.models.forecast_baselines import BaselineConfig  # noqa: E402
from attnpred.models.forecaster import ForecasterConfig, PatchForecaster  # noqa: E402
from attnpred.selection import block_count, block_means, one_standard_error  # noqa: E402
from attnpred.tasks.forecast import (ForecastRunConfig, prepare, train_forecast,  # noqa: E402
                                     with_shapes)
from attnpred.training.trainer import TrainerConfig  # noqa: E402

METRICS = ("mse", "mae", "mse_original", "mae_original")
# attention-path sizes tried per horizon (picked on validation): the small landed one and a
# PatchTST-like wider one
SIZES = ({"d_model": 16, "ff_dim": 64, "heads": 4, "layers": 2, "dropout": 0.3},
         {"d_model": 64, "ff_dim": 128, "heads": 4, "layers": 2, "dropout": 0.2})
# PatchTST's published ILI recipe (3 layers of width 16, 100 epochs at lr 2.5e-3, the best
# validation epoch kept): a third candidate on ILI, where training takes seconds per epoch
PATCHTST_ILI = {"d_model": 16, "ff_dim": 128, "heads": 4, "layers": 3, "dropout": 0.3,
                "epochs": 100, "lr": 2.5e-3, "patience": 100}
TRAINING = ("epochs", "lr", "patience")
"""Keys of a size candidate that set its training budget (the dataset's own otherwise)."""
SEEDS = (13, 14, 15)
ANCHORS = ("last", "mean", "norm", "none")
RIDGES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4)


def trainer(epochs: int, lr: float, patience: int, seed: int = 13,
            eval_every: int = 0) -> TrainerConfig:
    return TrainerConfig(epochs=epochs, lr=lr, metric="mse", mode="min", patience=patience,
                         schedule="cosine", warmup_ratio=0.1, weight_decay=0.01, seed=seed,
                         device="cpu", progress=False, tensorboard=False,
                         eval_every=eval_every, eval_at_start=True)


def patch_model(**kw: Any) -> ForecasterConfig:
    """The attention forecaster used here: patches of 16 (no overlap), 2 layers of width 16,
    and a linear skip fitted by ridge least squares and kept fixed; the attention path is
    trained to forecast alone and blended with the skip, its share chosen on validation."""
    base = dict(patch_len=16, stride=16, d_model=16, heads=4, ff_dim=64, layers=2,
                dropout=0.3, linear_skip=True, skip_trainable=False, combine="blend")
    return ForecasterConfig(**(base | kw))


# Per dataset: file, split, horizons, seasonal period, training budget, the look-backs tried,
# the patching per look-back, and the attention path's learning rate.
DATASETS: dict[str, dict[str, Any]] = {
    "etth1": dict(
        file=("ett", "ETTh1.csv"), split="ett-hour", horizons=(96, 192, 336, 720), period=24,
        batch=64, windows_per_epoch=0, epochs=10, eval_every=0, patience=3, lr=1e-3,
        lens=(336, 512, 720), patches={336: (16, 16), 512: (16, 16), 720: (16, 16)}),
    "exchange": dict(
        file=("exchange_rate", "exchange_rate.csv"), split="ratio", sizes=SIZES[:1],
        horizons=(96, 192, 336, 720), period=7, batch=64, windows_per_epoch=0, epochs=10,
        eval_every=0, patience=3, lr=1e-3, lens=(96, 336),
        patches={96: (16, 16), 336: (16, 16)}),
    "ili": dict(
        file=("illness", "national_illness.csv"), split="ratio", horizons=(24, 36, 48, 60),
        period=52, batch=16, windows_per_epoch=0, epochs=30, patience=5, lr=1e-3,
        lens=(36, 104), patches={36: (12, 6), 104: (24, 2)},
        sizes=(SIZES[0], PATCHTST_ILI, SIZES[1])),  # fewest parameters first
}

# Published ETTh1 figures (MSE, MAE) per horizon, and the others, copied from BENCHMARKS.md.
PUBLISHED = {
    "etth1": {
        "PatchTST/64 (published)": {96: (0.370, 0.400), 192: (0.413, 0.429),
                                    336: (0.422, 0.440), 720: (0.447, 0.468)},
        "DLinear (published)": {96: (0.375, 0.399), 192: (0.405, 0.416), 336: (0.439, 0.443),
                                720: (0.472, 0.490)},
        "TimeMixer (published)": {96: (0.361, 0.390), 192: (0.409, 0.414),
                                  336: (0.430, 0.429), 720: (0.445, 0.460)},
        "iTransformer (published)": {96: (0.386, 0.405), 192: (0.441, 0.436),
                                     336: (0.487, 0.458), 720: (0.503, 0.491)},
        "Informer (published)": {96: (0.865, 0.713)},
        "Repeat (published)": {96: (1.295, 0.713)},
    },
    "exchange": {"DLinear (published)": {96: (0.081, 0.203)},
                 "Repeat (published)": {96: (0.081, 0.196)}},
    "ili": {"PatchTST/64 (published)": {24: (1.319, 0.754)}},
}


def attention_model(spec: dict[str, Any], L: int, anchor: str, ridge: float) -> ForecasterConfig:
    patch_len, stride = spec["patches"][L]
    return patch_model(patch_len=patch_len, stride=stride, skip_anchor=anchor, ridge=ridge,
                       ridge_grid=())


def run_config(spec: dict[str, Any], path: Path, horizon: int, L: int,
               model: ForecasterConfig | None = None, seed: int = 13,
               quick: bool = False) -> ForecastRunConfig:
    """The attention model's run (``model`` given) or the linear baseline's (None)."""
    epochs = 2 if quick else spec["epochs"]
    per_epoch = spec["windows_per_epoch"]
    if quick:
        per_epoch = min(per_epoch or 512, 512)
    return ForecastRunConfig(
        model="attnpred" if model else "linear",
        data=TimeSeriesConfig(path=str(path), split=spec["split"], input_len=L,
                              horizon=horizon),
        forecaster=model or ForecasterConfig(),
        baseline=BaselineConfig(period=spec["period"]),
        trainer=trainer(epochs, spec["lr"] if model else 1e-3, spec["patience"], seed=seed,
                        eval_every=spec.get("eval_every", 0) if model else 0),
        batch_size=spec["batch"] if model else 32, windows_per_epoch=per_epoch)


def train_timed(cfg: ForecastRunConfig, work: Path) -> tuple[dict[str, Any], float, float]:
    """Train into a fresh folder; return metrics (with the run folder), wall and CPU seconds."""
    wall, cpu = time.time(), time.process_time()
    run = tempfile.mkdtemp(dir=work)
    metrics = train_forecast(cfg, run)
    return metrics | {"run": run}, time.time() - wall, time.process_time() - cpu


def faithfulness_records(name: str, model: str, run: str, h: int) -> list[dict[str, Any]]:
    """Masking the top-attended vs random 10% / 20% of the history on the test windows, and
    the map's entropy relative to uniform (attnpred.evaluation.forecast_faithfulness)."""
    from attnpred.evaluation.forecast_faithfulness import forecast_faithfulness
    from attnpred.tasks.forecast import ForecastPredictor
    pred = ForecastPredictor.load(run)
    prep = prepare(pred.cfg.data, scaler=pred.scaler)
    res = forecast_faithfulness(pred.model, prep.windows["test"])
    out = [record(name, model, "test", "attention_entropy_ratio", res["entropy_ratio"],
                  horizon=h, windows=res["windows"])]
    for f, r in res["by_fraction"].items():
        rises = dict(horizon=h, fraction=float(f), random_mse_rise=r["random_mse_rise"],
                     recent_mse_rise=r["recent_mse_rise"], windows=res["windows"])
        out.append(record(name, model, "test", "mask_top_mse_rise", r["top_mse_rise"], **rises))
        if r["ratio"] is not None:  # undefined where random masking did not raise the error
            out.append(record(name, model, "test", "faithfulness_ratio", r["ratio"], **rises))
    return out


def metric_records(dataset: str, model: str, split: str, metrics: dict[str, Any],
                   seconds: float | None, **extra: Any) -> list[dict[str, Any]]:
    return [record(dataset, model, split, m, metrics[m], seconds=seconds, **extra)
            for m in METRICS]


def skip_alone(spec: dict[str, Any], path: Path, h: int, L: int, anchor: str
               ) -> tuple[float, np.ndarray, dict[str, Any], float]:
    """The linear skip alone (zero attention head), ridge picked on validation by the
    one-standard-error rule: (ridge, per-window validation MSE, test metrics, seconds)."""
    t0 = time.time()
    cfg = run_config(spec, path, h, L, attention_model(spec, L, anchor, 0.0))
    prep = prepare(cfg.data)
    cfg = with_shapes(cfg, prep.series.columns)
    model = PatchForecaster(dataclasses.replace(cfg.forecaster, ridge_grid=RIDGES,
                                                combine="residual")).eval()  # zero head
    val = prep.windows["val"]
    ridge = model.fit_skip(prep.windows["train"].batches(1024), val.blocks(block_count(len(val), h)))
    val = window_mse(model, val, 1024)
    test = evaluate_forecaster(model, prep.windows["test"], prep.scaler, prep.target_names, 1024)
    return ridge, val, test, time.time() - t0


def choose_skip(name: str, spec: dict[str, Any], path: Path, h: int,
                records: list) -> tuple[int, str, float, float]:
    """Look-back, anchor and ridge of the skip, by the one-standard-error rule on validation
    (candidates simplest first: the shift-equivariant anchors before 'none', shorter
    look-backs first), and the seconds the search took. The validation windows' forecast rows
    do not depend on the look-back, so every candidate is scored on the same blocks."""
    found = [(L, anchor, *skip_alone(spec, path, h, L, anchor))
             for anchor in ANCHORS for L in spec["lens"]]
    blocks = block_count(len(found[0][3]), h)
    choice = one_standard_error([block_means(f[3], blocks) for f in found])
    for i, (L, anchor, ridge, val, test, sec) in enumerate(found):
        extra = dict(horizon=h, input_len=L, anchor=anchor, ridge=ridge,
                     selected=i == choice.index, lowest_val=i == choice.best,
                     val_gap=choice.gaps[i], val_gap_se=choice.standard_errors[i])
        records.append(record(name, "linear-skip", "val", "mse", float(val.mean()),
                              seconds=sec, **extra))
        records.append(record(name, "linear-skip", "test", "mse", test["mse"], **extra))
        if extra["selected"]:  # the ablation's (a): the skip alone, chosen on validation
            records += metric_records(name, "ablation:skip-alone", "test", test, sec,
                                      horizon=h, input_len=L, val_mse=float(val.mean()))
    L, anchor, ridge, val, test, _ = found[choice.index]
    print(f"{name} H={h}: skip L={L} anchor={anchor} ridge={ridge:g} val {val.mean():.4f} "
          f"(lowest: {found[choice.best][:2]}, test {test['mse']:.4f})", flush=True)
    return L, anchor, ridge, sum(f[-1] for f in found)


def linear_baseline(name: str, spec: dict[str, Any], path: Path, h: int, work: Path,
                    quick: bool, records: list) -> dict[str, Any]:
    """The DLinear-style baseline with its look-back picked on validation."""
    runs = []
    for L in spec["lens"]:
        m, wall, _ = train_timed(run_config(spec, path, h, L, quick=quick), work)
        runs.append((m["val"]["mse"], L, m, wall))
        records.append(record(name, "linear", "val", "mse", m["val"]["mse"], seconds=wall,
                              horizon=h, input_len=L))
    _, L, m, wall = min(runs, key=lambda r: r[0])
    records.extend(metric_records(name, "linear", "test", m["test"], wall, horizon=h,
                                  input_len=L))
    return m


def run_dataset(name: str, work: Path, quick: bool, seeds: bool) -> list[dict[str, Any]]:
    spec = DATASETS[name]
    path = require_data(*spec["file"])
    records: list[dict[str, Any]] = []
    horizons = spec["horizons"][:1] if quick else spec["horizons"]
    for h in horizons:
        L, anchor, ridge, search = choose_skip(name, spec, path, h, records)
        model, m, wall, cpu, trained = choose_size(name, spec, path, h, L, anchor, ridge,
                                                   work, quick, records)
        records += metric_records(name, "attnpred", "test", m["test"], wall, horizon=h,
                                  input_len=L, anchor=anchor, ridge=ridge,
                                  cpu_seconds=round(cpu, 1), windows=m["test"]["windows"],
                                  seed=13, val_mse=m["val"]["mse"],
                                  skip_search_seconds=round(search, 1),
                                  d_model=model.d_model, layers=model.layers,
                                  epochs=trained["epochs"], lr=trained["lr"])
        records += ablation(name, trained, path, h, L, model, m, wall, work, quick)
        for base, bm in m["baselines"].items():
            records += metric_records(name, base, "test", bm, None, horizon=h,
                                      **({"period": spec["period"]} if base != "repeat"
                                         else {}))
        lm = linear_baseline(name, spec, path, h, work, quick, records)
        print(f"{name} H={h}: attnpred {m['test']['mse']:.4f}/{m['test']['mae']:.4f} "
              f"(val {m['val']['mse']:.4f}) linear {lm['test']['mse']:.4f} "
              f"repeat {m['baselines']['repeat']['mse']:.4f} ({wall:.0f}s wall, {cpu:.0f}s cpu)",
              flush=True)
        if seeds and h == spec["horizons"][0]:
            records += seed_study(name, trained, path, model, L, h, m["test"], work, quick)
    return records + published(name)


def val_window_mse(run: str) -> np.ndarray:
    """Per-window validation MSE of a trained run (the blocks of the one-SE rule)."""
    from attnpred.tasks.forecast import ForecastPredictor
    pred = ForecastPredictor.load(run)
    return window_mse(pred.model, prepare(pred.cfg.data, scaler=pred.scaler).windows["val"],
                      1024)


def choose_size(name: str, spec: dict[str, Any], path: Path, h: int, L: int, anchor: str,
                ridge: float, work: Path, quick: bool, records: list
                ) -> tuple[ForecasterConfig, dict[str, Any], float, float, dict[str, Any]]:
    """Train the full model at each attention-path candidate (a size, optionally with its own
    training budget; fewest parameters first) and keep one by the one-standard-error rule on
    the full model's validation MSE (each candidate's is recorded). Returns the model, its
    metrics, wall and CPU seconds, and the dataset spec with the chosen budget (so the
    ablation trains the same way)."""
    runs = []
    for size in SIZES[:1] if quick else spec.get("sizes", SIZES):
        budget = {k: v for k, v in size.items() if k in TRAINING}
        shape = {k: v for k, v in size.items() if k not in TRAINING}
        model = dataclasses.replace(attention_model(spec, L, anchor, ridge), **shape)
        m, wall, cpu = train_timed(run_config(spec | budget, path, h, L, model, quick=quick),
                                   work)
        runs.append((val_window_mse(m["run"]), model, m, wall, cpu, spec | budget, size))
    blocks = block_count(len(runs[0][0]), h)
    choice = one_standard_error([block_means(r[0], blocks) for r in runs])
    for i, (val, *_, wall, _, _, size) in enumerate(runs):
        records.append(record(name, "attnpred-size", "val", "mse", float(val.mean()),
                              seconds=wall, horizon=h, input_len=L, **size,
                              selected=i == choice.index, val_gap=choice.gaps[i],
                              val_gap_se=choice.standard_errors[i]))
    val, model, m, wall, cpu, chosen, _ = runs[choice.index]
    print(f"{name} H={h}: attention path d_model={model.d_model} layers={model.layers} "
          f"epochs={chosen['epochs']} (val {val.mean():.4f})", flush=True)
    return model, m, wall, cpu, chosen


def ablation(name: str, spec: dict[str, Any], path: Path, h: int, L: int,
             model: ForecasterConfig, full: dict[str, Any], full_wall: float, work: Path,
             quick: bool) -> list[dict[str, Any]]:
    """(b) the attention path alone (no skip) trained the same way, (c) the full model; the
    full model's own check of its paths on validation; faithfulness of both maps; and, on
    ETTh1 at the first horizon, the quantile option's interval coverage."""
    alone, wall, _ = train_timed(run_config(spec, path, h, L, dataclasses.replace(
        model, linear_skip=False), quick=quick), work)
    out = metric_records(name, "ablation:attention-alone", "test", alone["test"], wall,
                         horizon=h, input_len=L, val_mse=alone["val"]["mse"])
    out += metric_records(name, "ablation:full", "test", full["test"], full_wall, horizon=h,
                          input_len=L, val_mse=full["val"]["mse"])
    if "paths" in full:
        out.append(record(name, "ablation:full", "val", "attention_helps",
                          float(full["paths"]["attention_helps"]), horizon=h,
                          mix=full["paths"].get("mix"),
                          skip_alone_val_mse=full["paths"]["skip_alone_val_mse"],
                          full_val_mse=full["paths"]["full_val_mse"],
                          trained_val_mse=full["paths"]["trained_val_mse"],
                          standard_error=full["paths"]["standard_error"]))
    out += faithfulness_records(name, "ablation:full", full["run"], h)
    out += faithfulness_records(name, "ablation:attention-alone", alone["run"], h)
    print(f"{name} H={h}: ablation test MSE attention-alone {alone['test']['mse']:.4f} "
          f"full {full['test']['mse']:.4f}", flush=True)
    if name == "etth1" and h == spec["horizons"][0]:
        out += quantile_records(name, spec, path, h, L, model, work, quick)
    return out


def quantile_records(name: str, spec: dict[str, Any], path: Path, h: int, L: int,
                     model: ForecasterConfig, work: Path, quick: bool) -> list[dict[str, Any]]:
    """The quantile option (10/50/90%) of the chosen model: point metrics, 80% interval
    coverage and pinball loss on test."""
    q, wall, _ = train_timed(run_config(spec, path, h, L, dataclasses.replace(
        model, quantiles=(0.1, 0.5, 0.9), combine="residual"), quick=quick), work)
    out = metric_records(name, "attnpred-quantiles", "test", q["test"], wall, horizon=h,
                         input_len=L)
    out += [record(name, "attnpred-quantiles", "test", m, q["test"][m], horizon=h,
                   interval=q["test"]["interval"]) for m in ("coverage", "pinball")]
    print(f"{name} H={h}: quantiles 10-90% coverage {q['test']['coverage']:.3f}", flush=True)
    return out


def rerun_quantiles(work: Path) -> None:
    """Re-run only the quantile option (ETTh1, first horizon, the size picked in the results
    file) and merge it into results/forecast.json."""
    import json
    from common import RESULTS
    name, spec = "etth1", DATASETS["etth1"]
    h, path = spec["horizons"][0], require_data(*DATASETS["etth1"]["file"])
    old = json.loads((RESULTS / "forecast.json").read_text())["records"]
    chosen = next(r for r in old if r["dataset"] == name and r["model"] == "attnpred"
                  and r.get("horizon") == h and r["metric"] == "mse" and r.get("seed") == 13)
    L, anchor, ridge, _ = choose_skip(name, spec, path, h, [])
    model = dataclasses.replace(attention_model(spec, L, anchor, ridge),
                                **next(s for s in SIZES if s["d_model"] == chosen["d_model"]))
    started = time.time()
    new = quantile_records(name, spec, path, h, L, model, work, False)
    from common import commit, machine
    from attnpred.io import atomic_write_text
    out = RESULTS / "forecast.json"
    data = json.loads(out.read_text())  # the main run's metadata stays; the rerun is listed
    data["records"] = [r for r in data["records"] if r["model"] != "attnpred-quantiles"] + [
        r | {"rerun": True} for r in new]
    data.setdefault("reruns", []).append({
        "command": "python " + " ".join(sys.argv), "commit": commit(), "machine": machine(),
        "records": "attnpred-quantiles", "wall_seconds": round(time.time() - started, 1)})
    data["summary"] = summary(data["records"])
    atomic_write_text(out, json.dumps(data, indent=2) + "\n")
    print(f"merged into {out}")


def seed_study(name: str, spec: dict[str, Any], path: Path, model: ForecasterConfig, L: int,
               h: int, first: dict[str, Any], work: Path, quick: bool) -> list[dict[str, Any]]:
    """The chosen setting over three seeds (the first is the main run): mean and spread."""
    runs, out = [first], []
    for seed in SEEDS[1:]:
        m, wall, cpu = train_timed(run_config(spec, path, h, L, model, seed=seed, quick=quick),
                                   work)
        runs.append(m["test"])
        out += metric_records(name, "attnpred", "test", m["test"], wall, horizon=h, seed=seed,
                              cpu_seconds=round(cpu, 1), input_len=L, seed_study=True)
    for metric in ("mse", "mae"):
        values = [r[metric] for r in runs]
        for stat, value in (("mean", statistics.mean(values)),
                            ("std", statistics.stdev(values))):
            out.append(record(name, "attnpred", "test", f"{metric}_{stat}", value, horizon=h,
                              seeds=list(SEEDS), values=values))
    return out


def published(name: str) -> list[dict[str, Any]]:
    return [record(name, model, "test", metric, value, horizon=h, published=True,
                   notes="copied from BENCHMARKS.md, not measured here")
            for model, per_h in PUBLISHED.get(name, {}).items()
            for h, pair in per_h.items() for metric, value in zip(("mse", "mae"), pair)]


def summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per dataset: the attention model's test MSE/MAE per horizon and their mean over the
    horizons, beside the linear model and Repeat, and the ETTh1 targets of the issue."""
    out: dict[str, Any] = {}
    for name, spec in DATASETS.items():
        rows = {}
        for model in ("attnpred", "linear", "repeat", "seasonal-naive"):
            found = {(r["horizon"], r["metric"]): r["value"] for r in records
                     if r["dataset"] == name and r["model"] == model and r["split"] == "test"
                     and r["metric"] in ("mse", "mae") and not r.get("seed_study")
                     and not r.get("published")}
            if len(found) == 2 * len(spec["horizons"]):
                rows[model] = {m: statistics.mean(found[h, m] for h in spec["horizons"])
                               for m in ("mse", "mae")}
        if rows:
            out[name] = {"mean_over_horizons": rows}
    out["ablation"] = ablation_table(records)
    out["targets"] = targets(out, records)
    return out


def _find(records: list, **want: Any) -> list[dict[str, Any]]:
    return [r for r in records if all(r.get(k) == v for k, v in want.items())
            and not r.get("seed_study")]


def ablation_table(records: list) -> dict[str, Any]:
    """Per dataset and horizon: test MSE/MAE of (a) the skip alone, (b) the attention path
    alone, (c) the full model, and whether (c) beats (a) on validation."""
    table: dict[str, Any] = {}
    for r in _find(records, split="test", metric="mse"):
        if not r["model"].startswith("ablation:"):
            continue
        mae = _find(records, dataset=r["dataset"], model=r["model"], split="test",
                    metric="mae", horizon=r["horizon"])
        row = table.setdefault(r["dataset"], {}).setdefault(str(r["horizon"]), {})
        row[r["model"].split(":")[1]] = {"mse": r["value"], "mae": mae[0]["value"] if mae
                                         else None, "val_mse": r.get("val_mse")}
    for r in _find(records, metric="attention_helps"):
        table[r["dataset"]][str(r["horizon"])]["full_beats_skip_on_val"] = bool(r["value"])
    return table


def targets(out: dict[str, Any], records: list) -> dict[str, Any]:
    """The issue's targets, each with the figure it is judged on."""
    t: dict[str, Any] = {}
    mean = out.get("etth1", {}).get("mean_over_horizons", {}).get("attnpred", {}).get("mse")
    h_mse = {r["horizon"]: r["value"] for r in _find(records, dataset="etth1",
                                                     model="attnpred", split="test",
                                                     metric="mse") if r.get("seed") == 13}
    if mean is not None:
        t["etth1_mean_mse"] = {"value": mean, "target": 0.400, "met": mean <= 0.400}
    for h, goal in ((96, 0.365), (720, 0.430)):
        if h in h_mse:
            t[f"etth1_h{h}_mse"] = {"value": h_mse[h], "target": goal, "met": h_mse[h] <= goal}
    ili = out.get("ili", {}).get("mean_over_horizons", {}).get("attnpred", {}).get("mse")
    if ili is not None:
        t["ili_mean_mse"] = {"value": ili, "target": 1.60, "met": ili <= 1.60}
    ex = {(r["horizon"], r["model"]): r["value"] for r in _find(records, dataset="exchange",
                                                                split="test", metric="mse")}
    hs = sorted({h for h, m in ex if m == "attnpred"})
    if hs:
        t["exchange_no_worse_than_repeat"] = {
            "value": {h: [ex[h, "attnpred"], ex.get((h, "repeat"))] for h in hs},
            "met": all(ex[h, "attnpred"] <= ex.get((h, "repeat"), float("inf")) for h in hs)}
    ab = ablation_table(records).get("etth1", {}).get("96", {})
    if "attention-alone" in ab and "full" in ab:
        gap = ab["attention-alone"]["mse"] / ab["full"]["mse"] - 1
        t["etth1_h96_attention_alone_within_3pct"] = {"value": gap, "met": gap <= 0.03}
    checks = _find(records, metric="attention_helps")
    if checks:
        helps = sum(int(r["value"]) for r in checks)
        t["full_no_worse_than_skip_on_val_everywhere"] = {
            "value": f"attention improves validation at {helps} of {len(checks)} "
                     "dataset-horizons; elsewhere the skip's weights are kept",
            "met": all(r["full_val_mse"] <= r["skip_alone_val_mse"] * (1 + 1e-6)
                       for r in checks)}
    kept = _find(records, dataset="etth1", metric="attention_helps", horizon=96)
    # judged on a model whose forecast goes through its attention: the full model where its
    # attention path is kept, else the attention path alone (b)
    judged = "ablation:full" if kept and kept[0]["value"] else "ablation:attention-alone"
    faith = _find(records, dataset="etth1", model=judged, metric="faithfulness_ratio",
                  horizon=96, fraction=0.1)
    if faith:
        t["etth1_h96_faithfulness_top10_ge_2x_random"] = {
            "value": faith[0]["value"], "model": judged, "met": faith[0]["value"] >= 2}
    cov = _find(records, dataset="etth1", model="attnpred-quantiles", metric="coverage")
    if cov:
        t["etth1_h96_80pct_coverage_in_0.75_0.85"] = {
            "value": cov[0]["value"], "met": 0.75 <= cov[0]["value"] <= 0.85}
    secs = [r["seconds"] for r in _find(records, split="test", metric="mse")
            if r["model"] in ("attnpred", "ablation:attention-alone") and "seconds" in r]
    if secs:
        t["each_training_under_600s"] = {"value": max(secs), "met": max(secs) < 600}
    return t


def resummarize() -> None:
    """Recompute the summary block of results/forecast.json from its records."""
    import json
    from common import RESULTS
    from attnpred.io import atomic_write_text
    path = RESULTS / "forecast.json"
    data = json.loads(path.read_text())
    data["summary"] = summary(data["records"])
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")
    print(json.dumps(data["summary"], indent=2))
    print(ablation_markdown(data["summary"]["ablation"]))


def ablation_markdown(table: dict[str, Any]) -> str:
    """The README's ablation table: test MSE of (a), (b), (c) and the validation verdict."""
    lines = ["| dataset | H | (a) skip alone | (b) attention alone | (c) full | attention path "
             "kept (beats (a) on val by > 1 SE) |", "|---|---|---|---|---|---|"]
    for name, per_h in table.items():
        for h, row in per_h.items():
            cells = [f"{row[k]['mse']:.4f}" if k in row else "" for k in
                     ("skip-alone", "attention-alone", "full")]
            kept = row.get("full_beats_skip_on_val")
            verdict = "" if kept is None else "yes" if kept else "no: skip alone"
            lines.append(f"| {name} | {h} | " + " | ".join(cells) + f" | {verdict} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="etth1,exchange,ili")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny budgets; not for reporting")
    parser.add_argument("--no-seeds", action="store_true", help="skip the 3-seed ETTh1 run")
    parser.add_argument("--rerun-quantiles", action="store_true",
                        help="re-run only the quantile option and merge it into the results")
    parser.add_argument("--summarize", action="store_true",
                        help="only recompute the summary block of results/forecast.json")
    args = parser.parse_args()
    if args.summarize:
        return resummarize()
    torch.set_num_threads(args.threads)
    if args.rerun_quantiles:
        with tempfile.TemporaryDirectory() as work:
            return rerun_quantiles(Path(work))
    started, records = time.time(), []
    with tempfile.TemporaryDirectory() as work:
        for name in args.datasets.split(","):
            records += run_dataset(name, Path(work), args.quick,
                                   seeds=name == "etth1" and not args.no_seeds)
    if args.quick:  # smoke runs are never written as results
        import json
        print(json.dumps(summary(records), indent=1, default=str)[:3000])
        return
    records = kept_records("forecast", records) + records  # datasets not re-run stay
    out = write_results("forecast", records, started,
                        protocol="BENCHMARKS.md section 3: every test window, scaler fit on "
                        "train, settings chosen on validation at the first horizon",
                        threads=args.threads, summary=summary(records))
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
