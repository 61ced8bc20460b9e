"""Wall time of `attnpred demo` on bundled data (target: under 5 minutes on 2 cores).

Runs the demo in a subprocess with ATTNPRED_DATA pointing nowhere (as on a fresh clone) and
records its wall time and the sentiment test accuracy beside the majority baseline.

    python benchmarks/demo_time.py
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, record, write_results


def main() -> None:
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, ATTNPRED_DATA=str(Path(tmp) / "absent"))
        t0 = time.time()
        proc = subprocess.run([sys.executable, "-m", "attnpred.cli.main", "demo", "--out", tmp],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.time() - t0
        print(proc.stdout[-3000:], proc.stderr[-2000:])
        if proc.returncode:
            raise SystemExit(f"demo failed with status {proc.returncode}")
        metrics = json.loads((Path(tmp) / "sentiment" / "metrics.json").read_text())["test"]
        model = json.loads((Path(tmp) / "sentiment" / "config.json").read_text())["model"]
    records = [record("fpb-allagree", "demo", "n/a", "wall_seconds", seconds, seconds,
                      notes="whole `attnpred demo` (sentiment + forecasting), fresh output dir"),
               record("fpb-allagree", f"demo-{model}", "test", "accuracy",
                      metrics["model"]["accuracy"]),
               record("fpb-allagree", "majority", "test", "accuracy",
                      metrics["majority"]["accuracy"])]
    write_results("demo", records, started, load_average=os.getloadavg())


if __name__ == "__main__":
    main()
