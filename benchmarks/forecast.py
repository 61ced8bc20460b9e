"""Forecasting benchmark (BENCHMARKS.md section 3): ETTh1, Exchange-Rate and ILI, multivariate.

For each dataset the look-back and model settings are chosen on the validation split at the
first horizon (candidates below), then every horizon is trained and scored on every test window,
beside Repeat, seasonal naive and the linear (DLinear-style) model, with the published numbers
copied from BENCHMARKS.md (records marked ``published: true``; not measured here). ETTh1 at
H=96 is repeated over three seeds.

    nice -n 10 python benchmarks/forecast.py            # everything -> results/forecast.json
    python benchmarks/forecast.py --quick --datasets ili  # a fast smoke run (not for reporting)
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from common import record, require_data, write_results

import torch  # noqa: E402

from attnpred.data.timeseries import TimeSeriesConfig  # noqa: E402
from attnpred.models.forecast_baselines import BaselineConfig  # noqa: E402
from attnpred.models.forecaster import ForecasterConfig  # noqa: E402
from attnpred.tasks.forecast import ForecastRunConfig, train_forecast  # noqa: E402
from attnpred.training.trainer import TrainerConfig  # noqa: E402

METRICS = ("mse", "mae", "mse_original", "mae_original")
SEEDS = (13, 14, 15)


def trainer(epochs: int, lr: float, patience: int, seed: int = 13) -> TrainerConfig:
    return TrainerConfig(epochs=epochs, lr=lr, metric="mse", mode="min", patience=patience,
                         schedule="cosine", warmup_ratio=0.1, weight_decay=0.01, seed=seed,
                         device="cpu", progress=False, tensorboard=False)


def patch_model(**kw: Any) -> ForecasterConfig:
    """The attention forecaster used here: patches of 16 (no overlap), 2 layers of width 16,
    and a linear skip fitted by least squares and kept fixed (the attention path learns the
    rest)."""
    base = dict(patch_len=16, stride=16, d_model=16, heads=4, ff_dim=64, layers=2,
                dropout=0.3, linear_skip=True, skip_trainable=False)
    return ForecasterConfig(**(base | kw))


def candidate(input_len: int, lr: float, **kw: Any) -> dict[str, Any]:
    return {"input_len": input_len, "lr": lr, "model": patch_model(**kw)}


# Per dataset: file, split, horizons, seasonal period, training budget, and the candidates
# compared on the validation split at the first horizon.
DATASETS: dict[str, dict[str, Any]] = {
    "etth1": dict(
        file=("ett", "ETTh1.csv"), split="ett-hour", horizons=(96, 192, 336, 720), period=24,
        batch=64, windows_per_epoch=4096, epochs=6, patience=3,
        candidates=[candidate(336, 1e-4), candidate(512, 1e-4),
                    candidate(336, 1e-3, linear_skip=False, dropout=0.1)],
        linear_lens=(336, 512)),
    "exchange": dict(
        file=("exchange_rate", "exchange_rate.csv"), split="ratio",
        horizons=(96, 192, 336, 720), period=7, batch=64, windows_per_epoch=2048, epochs=6,
        patience=3, candidates=[candidate(96, 1e-4), candidate(336, 1e-4)],
        linear_lens=(96, 336)),
    "ili": dict(
        file=("illness", "national_illness.csv"), split="ratio", horizons=(24, 36, 48, 60),
        period=52, batch=16, windows_per_epoch=0, epochs=30, patience=5,
        candidates=[candidate(36, 1e-3, patch_len=12, stride=6),
                    candidate(104, 1e-3, patch_len=24, stride=2)],
        linear_lens=(36, 104)),
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


def run_config(spec: dict[str, Any], path: Path, horizon: int, cand: dict[str, Any] | None,
               linear_len: int = 0, seed: int = 13, quick: bool = False) -> ForecastRunConfig:
    """The attention model's run for candidate ``cand``, or (cand None) the linear model's."""
    epochs = 2 if quick else spec["epochs"]
    per_epoch = spec["windows_per_epoch"]
    if quick:
        per_epoch = min(per_epoch or 512, 512)
    model = "attnpred" if cand else "linear"
    lr = cand["lr"] if cand else 1e-3
    return ForecastRunConfig(
        model=model,
        data=TimeSeriesConfig(path=str(path), split=spec["split"],
                              input_len=cand["input_len"] if cand else linear_len,
                              horizon=horizon),
        forecaster=cand["model"] if cand else ForecasterConfig(),
        baseline=BaselineConfig(period=spec["period"]),
        trainer=trainer(epochs, lr, spec["patience"], seed=seed),
        batch_size=spec["batch"] if cand else 32, windows_per_epoch=per_epoch)


def train_timed(cfg: ForecastRunConfig, work: Path) -> tuple[dict[str, Any], float, float]:
    """Train into a fresh folder; return metrics, wall seconds and CPU seconds."""
    wall, cpu = time.time(), time.process_time()
    metrics = train_forecast(cfg, tempfile.mkdtemp(dir=work))
    return metrics, time.time() - wall, time.process_time() - cpu


def metric_records(dataset: str, model: str, split: str, metrics: dict[str, Any],
                   seconds: float | None, **extra: Any) -> list[dict[str, Any]]:
    return [record(dataset, model, split, m, metrics[m], seconds=seconds, **extra)
            for m in METRICS]


def select(name: str, spec: dict[str, Any], path: Path, work: Path, quick: bool,
           records: list) -> tuple[dict[str, Any], int]:
    """Pick the attention model's and the linear model's settings on validation MSE."""
    h0 = spec["horizons"][0]
    scored = []
    for i, cand in enumerate(spec["candidates"]):
        m, wall, cpu = train_timed(run_config(spec, path, h0, cand, quick=quick), work)
        scored.append((m["val"]["mse"], i))
        records.append(record(name, "attnpred", "val", "mse", m["val"]["mse"], seconds=wall,
                              cpu_seconds=round(cpu, 1), horizon=h0, candidate=i,
                              input_len=cand["input_len"], lr=cand["lr"],
                              settings=asdict(cand["model"])))
        print(f"{name} candidate {i} L={cand['input_len']}: val mse {m['val']['mse']:.4f} "
              f"({wall:.0f}s wall, {cpu:.0f}s cpu)", flush=True)
    lin = []
    for L in spec["linear_lens"]:
        m, wall, _ = train_timed(run_config(spec, path, h0, None, L, quick=quick), work)
        lin.append((m["val"]["mse"], L))
        records.append(record(name, "linear", "val", "mse", m["val"]["mse"], seconds=wall,
                              horizon=h0, input_len=L))
    return spec["candidates"][min(scored)[1]], min(lin)[1]


def run_dataset(name: str, work: Path, quick: bool, seeds: bool) -> list[dict[str, Any]]:
    spec = DATASETS[name]
    path = require_data(*spec["file"])
    records: list[dict[str, Any]] = []
    cand, lin_L = select(name, spec, path, work, quick, records)
    L = cand["input_len"]
    horizons = spec["horizons"][:1] if quick else spec["horizons"]
    for h in horizons:
        m, wall, cpu = train_timed(run_config(spec, path, h, cand, quick=quick), work)
        records += metric_records(name, "attnpred", "test", m["test"], wall, horizon=h,
                                  input_len=L, cpu_seconds=round(cpu, 1),
                                  windows=m["test"]["windows"], seed=13)
        for base, bm in m["baselines"].items():
            records += metric_records(name, base, "test", bm, None, horizon=h,
                                      **({"period": spec["period"]} if base != "repeat"
                                         else {}))
        lm, lwall, _ = train_timed(run_config(spec, path, h, None, lin_L, quick=quick), work)
        records += metric_records(name, "linear", "test", lm["test"], lwall, horizon=h,
                                  input_len=lin_L)
        print(f"{name} H={h}: attnpred {m['test']['mse']:.4f}/{m['test']['mae']:.4f} "
              f"linear {lm['test']['mse']:.4f} repeat {m['baselines']['repeat']['mse']:.4f} "
              f"({wall:.0f}s wall, {cpu:.0f}s cpu)", flush=True)
        if seeds and h == spec["horizons"][0]:
            records += seed_study(name, spec, path, cand, h, m["test"], work, quick)
    return records + published(name)


def seed_study(name: str, spec: dict[str, Any], path: Path, cand: dict[str, Any], h: int,
               first: dict[str, Any], work: Path, quick: bool) -> list[dict[str, Any]]:
    """The chosen setting over three seeds (the first is the main run): mean and spread."""
    runs, out = [first], []
    for seed in SEEDS[1:]:
        m, wall, cpu = train_timed(run_config(spec, path, h, cand, seed=seed, quick=quick),
                                   work)
        runs.append(m["test"])
        out += metric_records(name, "attnpred", "test", m["test"], wall, horizon=h, seed=seed,
                              cpu_seconds=round(cpu, 1), input_len=cand["input_len"],
                              seed_study=True)
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
