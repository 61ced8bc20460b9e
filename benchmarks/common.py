"""Shared by every benchmark script: machine description and the results JSON.

Each script calls ``write_results`` once; the file holds the figures, the exact command, the git
commit, the machine and the creation time (BENCHMARKS.md, "Results files").
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SHARED_DATA = Path(os.environ.get("ATTNPRED_DATA", ROOT.parent / "shared" / "data"))
sys.path.insert(0, str(ROOT))

from attnpred.io import atomic_write_text  # noqa: E402


def machine() -> str:
    """CPU model, core count and GPU (if any), e.g. 'AMD EPYC ..., 2 cores, no GPU'."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = "no GPU"
    try:
        import torch
        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
        threads = torch.get_num_threads()
    except ImportError:
        threads = os.cpu_count()
    return f"{cpu}, {os.cpu_count()} cores, torch threads {threads}, {gpu}"


def commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def record(dataset: str, model: str, split: str, metric: str, value: float,
           seconds: float | None = None, **extra: Any) -> dict[str, Any]:
    """One result record (extra fields such as horizon, lambda, fraction, seed, notes)."""
    rec = {"dataset": dataset, "model": model, "split": split, "metric": metric,
           "value": float(value)}
    if seconds is not None:
        rec["seconds"] = round(float(seconds), 2)
    rec.update(extra)
    return rec


def write_results(benchmark: str, records: list[dict[str, Any]], started: float,
                  **extra: Any) -> Path:
    """Write benchmarks/results/<benchmark>.json atomically and return its path."""
    out = {"benchmark": benchmark, "commit": commit(), "machine": machine(),
           "command": "python " + " ".join(sys.argv), "created":
           datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "wall_seconds": round(time.time() - started, 1), **extra, "records": records}
    path = RESULTS / f"{benchmark}.json"
    atomic_write_text(path, json.dumps(out, indent=2) + "\n")
    return path


def merge_results(benchmark: str, records: list[dict[str, Any]], started: float,
                  replaces=None, **extra: Any) -> Path:
    """Merge ``records`` into benchmarks/results/<benchmark>.json, re-read just before writing
    (several invocations may run side by side, each writing its own part).

    An old record is dropped when a new one has the same configuration (every field but the
    value and the seconds) or when ``replaces(old_record)`` is true; dict-valued ``extra``
    fields are merged key by key with the old file's.
    """
    path = RESULTS / f"{benchmark}.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    new_keys = {_config_key(r) for r in records}
    keep = [r for r in old.get("records", [])
            if _config_key(r) not in new_keys and not (replaces and replaces(r))]
    for key, val in extra.items():
        if isinstance(val, dict) and isinstance(old.get(key), dict):
            extra[key] = {**old[key], **val}
    return write_results(benchmark, keep + records, started, **extra)


def kept_records(benchmark: str, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records of (dataset, model) pairs not re-run this time, from the existing results file
    (so the models can be run one invocation at a time); each keeps the command, commit and
    date of the run that produced it under ``from_run``."""
    path = RESULTS / f"{benchmark}.json"
    if not path.is_file():
        return []
    old = json.loads(path.read_text())
    rerun = {(r["dataset"], r["model"]) for r in new}
    origin = {k: old[k] for k in ("command", "commit", "created")}
    return [{**r, "from_run": r.get("from_run", origin)} for r in old["records"]
            if (r["dataset"], r["model"]) not in rerun]


def _config_key(rec: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in rec.items() if k not in ("value", "seconds")},
                      sort_keys=True)


def require_data(*parts: str) -> Path:
    """Path under the shared data folder, or exit with a clear message when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        sys.exit(f"error: {path} not found (set ATTNPRED_DATA to the shared data folder)")
    return path
