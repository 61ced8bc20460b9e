"""Forecasting benchmark (BENCHMARKS.md section 3): ETTh1, Exchange-Rate and ILI, multivariate.

Every setting is chosen on the validation split, per horizon:
1. the attention forecaster's linear skip: look-back L, anchor (last value, window mean, none)
   and ridge penalty, by the validation MSE of the skip alone (closed form, seconds each);
2. the attention path is then trained on top of the chosen skip, the validation MSE (every
   ``eval_every`` steps, a quarter of an epoch) picking the weights; the first evaluation comes
   after some training, so the attention path, whose maps users read, is always trained;
3. the linear (DLinear-style) baseline's look-back, by its validation MSE.
Every test window is scored, beside Repeat and seasonal naive, with the published numbers
copied from BENCHMARKS.md (records marked ``published: true``; not measured here). The skip
candidates' test scores are recorded too (``selected`` says which one validation picked), to
show where validation and test disagree. ETTh1 at H=96 is repeated over three seeds.

    nice -n 10 python benchmarks/forecast.py            # everything -> results/forecast.json
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

from common import record, require_data, write_results

import torch  # noqa: E402

from attnpred.data.timeseries import TimeSeriesConfig  # noqa: E402
from attnpred.evaluation.forecast import evaluate_forecaster  # noqa: E402
from attnpred.models.forecast_baselines import BaselineConfig  # noqa: E402
from attnpred.models.forecaster import ForecasterConfig, PatchForecaster  # noqa: E402
from attnpred.tasks.forecast import (ForecastRunConfig, prepare, train_forecast,  # noqa: E402
                                     with_shapes)
from attnpred.training.trainer import TrainerConfig  # noqa: E402

METRICS = ("mse", "mae", "mse_original", "mae_original")
SEEDS = (13, 14, 15)
ANCHORS = ("last", "mean", "none")
RIDGES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4)


def trainer(epochs: int, lr: float, patience: int, seed: int = 13,
            eval_every: int = 0) -> TrainerConfig:
    return TrainerConfig(epochs=epochs, lr=lr, metric="mse", mode="min", patience=patience,
                         schedule="cosine", warmup_ratio=0.1, weight_decay=0.01, seed=seed,
                         device="cpu", progress=False, tensorboard=False,
                         eval_every=eval_every)


def patch_model(**kw: Any) -> ForecasterConfig:
    """The attention forecaster used here: patches of 16 (no overlap), 2 layers of width 16,
    and a linear skip fitted by ridge least squares and kept fixed (the attention path learns
    the rest)."""
    base = dict(patch_len=16, stride=16, d_model=16, heads=4, ff_dim=64, layers=2,
                dropout=0.3, linear_skip=True, skip_trainable=False)
    return ForecasterConfig(**(base | kw))


# Per dataset: file, split, horizons, seasonal period, training budget, the look-backs tried,
# the patching per look-back, and the attention path's learning rate.
DATASETS: dict[str, dict[str, Any]] = {
    "etth1": dict(
        file=("ett", "ETTh1.csv"), split="ett-hour", horizons=(96, 192, 336, 720), period=24,
        batch=64, windows_per_epoch=4096, epochs=6, eval_every=16, patience=12, lr=1e-4,
        lens=(336, 512), patches={336: (16, 16), 512: (16, 16)}),
    "exchange": dict(
        file=("exchange_rate", "exchange_rate.csv"), split="ratio",
        horizons=(96, 192, 336, 720), period=7, batch=64, windows_per_epoch=2048, epochs=6,
        eval_every=8, patience=12, lr=1e-4, lens=(96, 336),
        patches={96: (16, 16), 336: (16, 16)}),
    "ili": dict(
        file=("illness", "national_illness.csv"), split="ratio", horizons=(24, 36, 48, 60),
        period=52, batch=16, windows_per_epoch=0, epochs=30, patience=5, lr=1e-3,
        lens=(36, 104), patches={36: (12, 6), 104: (24, 2)}),
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
    """Train into a fresh folder; return metrics, wall seconds and CPU seconds."""
    wall, cpu = time.time(), time.process_time()
    metrics = train_forecast(cfg, tempfile.mkdtemp(dir=work))
    return metrics, time.time() - wall, time.process_time() - cpu


def metric_records(dataset: str, model: str, split: str, metrics: dict[str, Any],
                   seconds: float | None, **extra: Any) -> list[dict[str, Any]]:
    return [record(dataset, model, split, m, metrics[m], seconds=seconds, **extra)
            for m in METRICS]


def skip_alone(spec: dict[str, Any], path: Path, h: int, L: int, anchor: str
               ) -> tuple[float, float, float, float]:
    """The linear skip alone (zero attention head), ridge picked on validation:
    (ridge, val MSE, test MSE, seconds)."""
    t0 = time.time()
    cfg = run_config(spec, path, h, L, attention_model(spec, L, anchor, 0.0))
    prep = prepare(cfg.data)
    cfg = with_shapes(cfg, prep.series.columns)
    model = PatchForecaster(dataclasses.replace(cfg.forecaster, ridge_grid=RIDGES)).eval()
    ridge = model.fit_skip(prep.windows["train"].batches(1024), prep.windows["val"].batches(1024))
    scores = [evaluate_forecaster(model, prep.windows[s], prep.scaler, prep.target_names,
                                  1024)["mse"] for s in ("val", "test")]
    return ridge, scores[0], scores[1], time.time() - t0


def choose_skip(name: str, spec: dict[str, Any], path: Path, h: int,
                records: list) -> tuple[int, str, float, float]:
    """Look-back, anchor and ridge of the skip with the lowest validation MSE, and the
    seconds the search took."""
    found = []
    for L in spec["lens"]:
        for anchor in ANCHORS:
            ridge, val, test, sec = skip_alone(spec, path, h, L, anchor)
            found.append((val, L, anchor, ridge, test, sec))
    best = min(found)
    for val, L, anchor, ridge, test, sec in found:
        extra = dict(horizon=h, input_len=L, anchor=anchor, ridge=ridge,
                     selected=(L, anchor) == best[1:3])
        records.append(record(name, "linear-skip", "val", "mse", val, seconds=sec, **extra))
        records.append(record(name, "linear-skip", "test", "mse", test, **extra))
    print(f"{name} H={h}: skip L={best[1]} anchor={best[2]} ridge={best[3]:g} "
          f"val {best[0]:.4f} (test {best[4]:.4f})", flush=True)
    return best[1], best[2], best[3], sum(f[-1] for f in found)


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
        model = attention_model(spec, L, anchor, ridge)
        m, wall, cpu = train_timed(run_config(spec, path, h, L, model, quick=quick), work)
        records += metric_records(name, "attnpred", "test", m["test"], wall, horizon=h,
                                  input_len=L, anchor=anchor, ridge=ridge,
                                  cpu_seconds=round(cpu, 1), windows=m["test"]["windows"],
                                  seed=13, val_mse=m["val"]["mse"],
                                  skip_search_seconds=round(search, 1))
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
            records += seed_study(name, spec, path, model, L, h, m["test"], work, quick)
    return records + published(name)


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
    secs = [r["seconds"] for r in records if r["dataset"] == "etth1" and r["model"] ==
            "attnpred" and r["split"] == "test" and r["metric"] == "mse" and "seconds" in r]
    mse96 = [r["value"] for r in records if r["dataset"] == "etth1" and r["model"] ==
             "attnpred" and r["metric"] == "mse" and r.get("horizon") == 96 and
             r.get("seed") == 13]
    if "etth1" in out and mse96 and "attnpred" in out["etth1"]["mean_over_horizons"]:
        mean = out["etth1"]["mean_over_horizons"]["attnpred"]["mse"]
        out["etth1"]["targets"] = {
            "mse_h96": mse96[0], "mse_h96_le_0.370": mse96[0] <= 0.370,
            "mean_mse": mean, "mean_mse_le_0.413": mean <= 0.413,
            "max_train_seconds": max(secs), "each_under_600s": max(secs) < 600}
    return out


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="etth1,exchange,ili")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny budgets; not for reporting")
    parser.add_argument("--no-seeds", action="store_true", help="skip the 3-seed ETTh1 run")
    parser.add_argument("--summarize", action="store_true",
                        help="only recompute the summary block of results/forecast.json")
    args = parser.parse_args()
    if args.summarize:
        return resummarize()
    torch.set_num_threads(args.threads)
    started, records = time.time(), []
    with tempfile.TemporaryDirectory() as work:
        for name in args.datasets.split(","):
            records += run_dataset(name, Path(work), args.quick,
                                   seeds=name == "etth1" and not args.no_seeds)
    if args.quick:  # smoke runs are never written as results
        return
    out = write_results("forecast", records, started,
                        protocol="BENCHMARKS.md section 3: every test window, scaler fit on "
                        "train, settings chosen on validation at the first horizon",
                        threads=args.threads, summary=summary(records))
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
