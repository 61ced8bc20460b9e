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


def require_data(*parts: str) -> Path:
    """Path under the shared data folder, or exit with a clear message when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        sys.exit(f"error: {path} not found (set ATTNPRED_DATA to the shared data folder)")
    return path
