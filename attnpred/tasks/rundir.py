"""The run directory, shared by every task family: ownership, completion, safe loading.

A run directory is created by ``prepare_run_dir``, which writes an ownership marker
(``.attnpred-run``). ``finish_run`` writes ``metrics.json`` and ``report.txt``, drops the resume
checkpoint (unless asked to keep it) and writes the completion marker ``complete.json`` last,
so a kill at any point leaves either a resumable run or a complete one. ``--overwrite`` removes
only the names attnpred writes, and only in a folder that carries the ownership marker.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any, TypeVar

from attnpred import distributed
from attnpred.config import load_config
from attnpred.errors import AttnpredError
from attnpred.io import atomic_write_text

T = TypeVar("T")

OWNER = ".attnpred-run"
COMPLETE = "complete.json"
# every top-level name that some task family writes into a run directory
RUN_FILES = frozenset({
    OWNER, COMPLETE, "config.json", "model.safetensors", "tokenizer", "tokenizer.src.json",
    "tokenizer.tgt.json", "labels.json", "split.json", "data_stats.json", "metrics.json",
    "report.txt", "train_log.jsonl", "logs", "checkpoints", "encoder", "scaler.json",
    "tags.json", "self_training.json", "explain", "export",
})


def is_complete(run_dir: str | Path) -> bool:
    """True once the run's final file (the completion marker) has been written."""
    return (Path(run_dir) / COMPLETE).is_file()


def _owned(run_dir: Path) -> bool:
    return (run_dir / OWNER).is_file()


def _clear(run_dir: Path) -> None:
    """Remove what attnpred wrote (and its stale temporary files); keep everything else."""
    for entry in run_dir.iterdir():
        stale_tmp = entry.name.startswith(".") and entry.name.endswith(".tmp")
        if entry.name in RUN_FILES or stale_tmp or entry.name.startswith("round"):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def clean_stale_temporaries(run_dir: Path) -> None:
    """Delete temporary files that a killed atomic write left behind."""
    for sub in (run_dir, run_dir / "checkpoints"):
        if sub.is_dir():
            for entry in sub.glob(".*.tmp"):
                entry.unlink(missing_ok=True)


# fields a resumed run may change: they do not change what is trained
RESUME_MAY_CHANGE = ("trainer.progress", "trainer.tensorboard", "trainer.device",
                     "trainer.keep_checkpoint")


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix[:-1]: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out |= _flat(value, f"{prefix}{key}.")
    return out


def _check_same_config(run_dir: Path, config: Any) -> None:
    """Refuse to resume with a config that differs from the one the run started with."""
    from attnpred.config import config_to_dict
    try:
        before = json.loads((run_dir / OWNER).read_text(encoding="utf-8")).get("config")
    except (OSError, json.JSONDecodeError):
        before = None
    if before is None:
        return
    old, new = _flat(before), _flat(json.loads(json.dumps(config_to_dict(config))))
    changed = sorted(k for k in old.keys() | new.keys()
                     if old.get(k) != new.get(k) and k not in RESUME_MAY_CHANGE)
    if changed:
        key = changed[0]
        raise AttnpredError(f"--resume with a changed config: {key} was {old.get(key)!r}, now "
                            f"{new.get(key)!r} ({len(changed)} field(s) differ); resume with the "
                            "run's own settings or start again with --overwrite",
                            file=run_dir, field=key)


def prepare_run_dir(run_dir: str | Path, *, resume: bool = False, overwrite: bool = False,
                    config: Any = None) -> Path:
    """Make ``run_dir`` ready for training.

    A completed run is refused unless ``overwrite``; an interrupted one needs ``resume`` or
    ``overwrite``; a non-empty folder that attnpred did not create is never written into.
    ``config`` (the run config as the user gave it) is recorded with the ownership marker, and
    a resume with a different one is refused.

    Raises:
        AttnpredError: the folder cannot be used as asked.
    """
    run_dir = Path(run_dir)
    if not distributed.writes_allowed():  # a rank > 0: rank 0 prepares the folder
        distributed.barrier()
        return run_dir
    _prepare(run_dir, resume, overwrite, config)
    distributed.barrier()
    return run_dir


def _prepare(run_dir: Path, resume: bool, overwrite: bool, config: Any) -> None:
    if run_dir.exists() and not run_dir.is_dir():
        raise AttnpredError("exists and is not a directory", file=run_dir)
    busy = run_dir.is_dir() and any(run_dir.iterdir())
    if busy and not _owned(run_dir):
        raise AttnpredError("folder is not empty and was not created by attnpred; choose "
                            "another --out (nothing there was changed)", file=run_dir)
    if busy and is_complete(run_dir) and not overwrite:
        raise AttnpredError("run directory holds a completed run; pass --overwrite or choose "
                            "another --out", file=run_dir)
    if busy and overwrite:
        _clear(run_dir)
    elif busy and not resume:
        raise AttnpredError("run directory holds an interrupted run; pass --resume to "
                            "continue it or --overwrite to start again", file=run_dir)
    if resume and not (run_dir / "checkpoints" / "last.pt").is_file() and busy \
            and not overwrite:
        raise AttnpredError("nothing to resume: no checkpoints/last.pt", file=run_dir)
    if busy and resume and not overwrite and config is not None:
        _check_same_config(run_dir, config)
    run_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(run_dir)
    if not _owned(run_dir) or overwrite or not busy:
        from attnpred.config import config_to_dict
        record = {"created": time.time(),
                  "config": None if config is None else config_to_dict(config)}
        atomic_write_text(run_dir / OWNER, json.dumps(record) + "\n")


def finish_run(run_dir: str | Path, metrics: dict[str, Any], report: str, *,
               keep_checkpoint: bool = False) -> dict[str, Any]:
    """Write metrics.json and report.txt, mark the run complete, then drop the resume checkpoint."""
    run_dir = Path(run_dir)
    if not distributed.writes_allowed():
        return metrics
    atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    atomic_write_text(run_dir / "report.txt", report.rstrip("\n") + "\n")
    atomic_write_text(run_dir / COMPLETE, json.dumps({"completed": time.time()}) + "\n")
    if not keep_checkpoint:  # only once complete: until then the run stays resumable
        shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    return metrics


def require_file(run_dir: str | Path, name: str, what: str) -> Path:
    """``run_dir/name``, or one clear error saying the run lacks it."""
    path = Path(run_dir) / name
    if not path.exists():
        hint = "" if is_complete(run_dir) else " (training did not finish?)"
        raise AttnpredError(f"run directory has no {name}: {what} is missing{hint}",
                            file=run_dir)
    return path


def read_run_config(run_dir: str | Path, cls: type[T]) -> T:
    """The run's config.json as ``cls``."""
    return load_config(cls, require_file(run_dir, "config.json", "the run config"))


def load_run_weights(model: Any, run_dir: str | Path) -> None:
    """Load ``run_dir/model.safetensors`` into ``model``; a damaged or mismatched file is one
    clear error naming it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_model
    path = require_file(run_dir, "model.safetensors", "the trained weights")
    try:
        missing, unexpected = load_model(model, str(path), strict=False)
    except (SafetensorError, RuntimeError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0][:200]
        raise AttnpredError(f"damaged or mismatched weights ({first})", file=path) from None
    if missing or unexpected:
        raise AttnpredError(f"weights do not fit the run's model: {len(missing)} missing "
                            f"(e.g. {sorted(missing)[:2]}), {len(unexpected)} unexpected "
                            f"(e.g. {sorted(unexpected)[:2]})", file=path)
