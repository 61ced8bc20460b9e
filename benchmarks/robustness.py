"""Bad-input robustness (issue 17) -> benchmarks/results/robustness.json.

Runs the case list of the bad-input suite (``tests/robustness/bad_inputs.py``: malformed files,
bad flag values generated from every family's TRAIN_FLAGS and config dataclasses, bad --set and
--config, damaged run directories, for train/evaluate/predict of every task family and for
align, explain, serve, export, prune, monitor, pretrain) through ``attnpred.cli.main.main``
in-process, after training one tiny run per task family. Per family it records ``cases``,
``clear_errors`` (exit 2, one line naming the file/line or field/flag, no saved run changed),
``tracebacks``, ``silent_wrong`` (exit 0 on invalid input) and ``unclear`` (exit 2 but a line
that does not name what it should); every case that is not a clear error is listed under
``failures`` with its verdict and last line.

    python benchmarks/robustness.py [--only classify,align]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, record, write_results

sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "robustness")]

import torch  # noqa: E402
from bad_inputs import FAMILIES, Workspace, cases, run_one, summarise, tag_registered  # noqa: E402

DATASET = "generated bad inputs"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma list of families (default: all)")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else set(FAMILIES)
    started = time.time()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="attnpred-robustness-") as tmp, tag_registered():
        ws = Workspace(Path(tmp))
        ws.train_runs()
        selected = [c for c in cases() if c.family in only]
        outcomes = [run_one(c, ws) for c in selected]
    summary = summarise(outcomes)
    total = {k: sum(row[k] for row in summary.values()) for k in next(iter(summary.values()))}
    records = [record(DATASET, family, "n/a", metric, value)
               for family, row in list(summary.items()) + [("all", total)]
               for metric, value in row.items()]
    failures = [{"case": o.case, "verdict": o.verdict, "exit": o.code, "detail": o.detail,
                 "stderr_last_line": (o.stderr.splitlines() or [""])[-1][:300]}
                for o in outcomes if o.verdict != "clear"]
    path = write_results("robustness", records, started, failures=failures)
    for family, row in list(summary.items()) + [("all", total)]:
        print(f"{family:10s} " + "  ".join(f"{k} {v}" for k, v in row.items()))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
