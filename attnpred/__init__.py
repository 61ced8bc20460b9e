"""attnpred: train, supervise, explain and serve attention-based sequence predictors.

``attnpred.train(config, run_dir)`` trains any task family; ``attnpred.load(run_dir)`` returns
its predictor. The run configs (``ClassifyRunConfig``, ``ForecastRunConfig``,
``Seq2SeqRunConfig``, ...) are importable from here; they are loaded on first use.
"""
from typing import Any

from attnpred.api import load, merge_shards, predict_file, train
from attnpred.errors import AttnpredError

__version__ = "0.1.0"
__all__ = ["load", "train", "predict_file", "merge_shards", "AttnpredError", "__version__", "ClassifyRunConfig",
           "ForecastRunConfig", "Seq2SeqRunConfig", "TrainerConfig"]

_LAZY = {
    "TrainerConfig": "attnpred.training.trainer:TrainerConfig",
    "TextDataConfig": "attnpred.tasks.classify_data:TextDataConfig",
    "TimeSeriesConfig": "attnpred.data.timeseries:TimeSeriesConfig",
    "Seq2SeqDataConfig": "attnpred.tasks.seq2seq:Seq2SeqDataConfig",
    "TagDataConfig": "attnpred.tasks.tag:TagDataConfig",
}


def __getattr__(name: str) -> Any:
    import importlib

    from attnpred.tasks import registry
    for task, spec in registry.TASKS.items():
        if spec.config.endswith(":" + name):
            return registry.config_class(task)
    if name in _LAZY:
        module, attr = _LAZY[name].split(":")
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'attnpred' has no attribute {name!r}")
