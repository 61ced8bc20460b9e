"""One process of a distributed test run, started by torchrun (see test_distributed.py).

    python -m torch.distributed.run --nproc-per-node 2 ddp_worker.py FAMILY ROOT RUN [options]

Builds the tiny config of FAMILY (tests/test_contract.py, dropout off) on data written under
ROOT/rank<r> and calls ``attnpred.train``. ``--kill-at N`` makes every rank die after optimizer
step N; ``--writes FILE`` records, on ranks > 0, every file write or removal under RUN.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

import torch  # noqa: E402

torch.set_num_threads(1)

import test_contract  # noqa: E402

import attnpred  # noqa: E402
from attnpred.training.trainer import Trainer  # noqa: E402

WRITE_EVENTS = {"os.rename", "os.replace", "os.remove", "os.unlink", "os.rmdir",
                "shutil.rmtree", "os.truncate"}


def no_dropout(cfg):
    for name in ("scratch", "forecaster", "transformer"):
        sub = getattr(cfg, name, None)
        if sub is not None and hasattr(sub, "dropout"):
            cfg = dataclasses.replace(cfg, **{name: dataclasses.replace(sub, dropout=0.0)})
    return cfg


def record_writes(run: Path, out: Path) -> None:
    seen: list[str] = []
    prefix = str(run.resolve())

    def hook(event, args):
        if event == "open" and args and isinstance(args[0], (str, Path)):
            mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
            if any(c in mode for c in "wax+") and str(Path(args[0]).resolve()).startswith(prefix):
                seen.append(f"open {args[0]} {mode}")
        elif event in WRITE_EVENTS and args and str(args[0]).startswith(prefix):
            seen.append(f"{event} {args[0]}")
    sys.addaudithook(hook)
    import atexit
    atexit.register(lambda: out.write_text(json.dumps(seen)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("family")
    ap.add_argument("root", type=Path)
    ap.add_argument("run", type=Path)
    ap.add_argument("--kill-at", type=int, default=0)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--writes", type=Path)
    args = ap.parse_args()
    rank = int(os.environ.get("RANK", "0"))
    root = args.root / f"rank{rank}"
    root.mkdir(parents=True, exist_ok=True)
    cfg = no_dropout(test_contract.FAMILIES[args.family].config(root))
    if args.writes and rank > 0:
        record_writes(args.run, args.writes)
    if args.kill_at:
        step = Trainer._optimizer_step

        def dying(self):
            norm = step(self)
            if self.scheduler.last_epoch >= args.kill_at:
                os._exit(3)
            return norm
        Trainer._optimizer_step = dying
    attnpred.train(cfg, args.run, resume=args.resume)


if __name__ == "__main__":
    main()
