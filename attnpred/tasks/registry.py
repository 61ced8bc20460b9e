"""The one explicit registry: task name -> run config, train function, predictor, CLI flags.

``attnpred.load``, ``attnpred.train`` and the command line find every task family here and
nowhere else. Entries are "module:attribute" strings so that importing the registry stays cheap
(a family's torch code is imported only when that family is used).

Every family keeps one contract:

* ``train(cfg, run_dir, *, resume=False, overwrite=False) -> dict`` writes config.json,
  model.safetensors, metrics.json, report.txt and, last, complete.json
  (``attnpred.tasks.rundir``); it refuses a completed run without ``overwrite`` and continues an
  interrupted one exactly with ``resume``.
* ``Predictor.load(run_dir, device="cpu")``; ``predict(inputs, *, return_attention=False,
  batch_size=None) -> list[Result]`` where each Result is a dataclass with ``to_dict()``
  (JSON-ready) and ``summary()`` (one line for a terminal); ``evaluate(path, **options) -> dict``
  scores a labelled file beside the family's baselines; ``read_inputs(path, **options)`` reads
  what ``predict`` takes from a file.
* the CLI module ``attnpred.cli.<family>`` holds ``TRAIN_FLAGS`` (flag -> dotted config field)
  and the family's extra evaluate/predict options.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from attnpred.errors import AttnpredError


@dataclass(frozen=True)
class TaskSpec:
    """Where one task family's pieces live ("module:attribute")."""

    config: str
    train: str
    predictor: str
    cli: str
    summary: str


TASKS: dict[str, TaskSpec] = {
    "classify": TaskSpec("attnpred.tasks.classify:ClassifyRunConfig",
                         "attnpred.tasks.classify:train_classifier",
                         "attnpred.tasks.classify_predictor:ClassifierPredictor",
                         "attnpred.cli.classify", "text classification (+ attention prediction)"),
    "forecast": TaskSpec("attnpred.tasks.forecast:ForecastRunConfig",
                         "attnpred.tasks.forecast:train_forecast",
                         "attnpred.tasks.forecast:ForecastPredictor",
                         "attnpred.cli.forecast", "time-series forecasting"),
    "seq2seq": TaskSpec("attnpred.tasks.seq2seq:Seq2SeqRunConfig",
                        "attnpred.tasks.seq2seq:train_seq2seq",
                        "attnpred.tasks.seq2seq:Seq2SeqPredictor",
                        "attnpred.cli.seq2seq", "translation and summarisation"),
    "tag": TaskSpec("attnpred.tasks.tag:TagRunConfig", "attnpred.tasks.tag:train_tagger",
                    "attnpred.tasks.tag:TagPredictor", "attnpred.cli.tag",
                    "token tagging (NER, POS) with per-word attention"),
}


def _resolve(ref: str) -> Any:
    module, attr = ref.split(":")
    return getattr(importlib.import_module(module), attr)


def spec(task: str) -> TaskSpec:
    """The registry entry of ``task``; one clear error for an unknown name."""
    if task not in TASKS:
        raise AttnpredError(f"unknown task {task!r}; expected one of {sorted(TASKS)}",
                            field="task")
    return TASKS[task]


def config_class(task: str) -> type:
    return _resolve(spec(task).config)


def train_function(task: str) -> Any:
    return _resolve(spec(task).train)


def predictor_class(task: str) -> Any:
    return _resolve(spec(task).predictor)


def cli_module(task: str) -> Any:
    return importlib.import_module(spec(task).cli)
