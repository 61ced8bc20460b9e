"""The public surface: ``load(run_dir)`` returns the predictor for whatever task the run holds."""
from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from attnpred.errors import AttnpredError
from attnpred.tasks import TASKS


def run_task(run_dir: str | Path) -> str:
    """The task name stored in ``run_dir/config.json``."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise AttnpredError("not a run directory (no config.json)", file=run_dir)
    try:
        task = json.loads(path.read_text(encoding="utf-8")).get("task")
    except json.JSONDecodeError as exc:
        raise AttnpredError(f"invalid JSON: {exc.msg}", file=path, line=exc.lineno) from None
    if task not in TASKS:
        raise AttnpredError(f"unknown task {task!r}; expected one of {sorted(TASKS)}",
                            file=path, field="task")
    return task


def load(run_dir: str | Path, device: str = "cpu") -> Any:
    """Load a trained run directory and return its predictor.

    Args:
        run_dir: a directory written by training (config.json, model.safetensors, ...).
        device: 'cpu' or 'cuda'.
    Returns:
        The task's predictor, e.g. ``ClassifierPredictor`` with
        ``predict(texts, return_attention=True)``.
    """
    module, cls = TASKS[run_task(run_dir)].split(":")
    return getattr(importlib.import_module(module), cls).load(run_dir, device=device)
