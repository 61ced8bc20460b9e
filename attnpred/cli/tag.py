"""Token tagging's part of the command line: its train flags and its evaluate/predict options.

The commands are generic (``attnpred train --task tag``, ``attnpred evaluate RUN``,
``attnpred predict RUN``); help comes from the config dataclasses' field docstrings.
"""
from __future__ import annotations

import argparse
from typing import Any, Sequence

from attnpred.io import atomic_write_text

# flag -> dotted field of TagRunConfig
TRAIN_FLAGS = {
    "train": "data.train", "dev": "data.dev", "test": "data.test", "format": "data.format",
    "column": "data.column", "encoding": "data.encoding",
    "model": "model", "model_dir": "pretrained.model_dir", "crf": "crf", "scheme": "scheme",
    "dim": "scratch.dim", "layers": "scratch.layers", "heads": "scratch.heads",
    "ff_dim": "scratch.ff_dim", "dropout": "scratch.dropout", "max_len": "scratch.max_len",
    "tokenizer": "tokenizer", "vocab_size": "vocab_size", "lowercase": "lowercase",
    "word_dropout": "word_dropout",
    "batch_size": "batch_size", "eval_batch_size": "eval_batch_size",
    "epochs": "trainer.epochs", "max_steps": "trainer.max_steps", "lr": "trainer.lr",
    "weight_decay": "trainer.weight_decay", "warmup_ratio": "trainer.warmup_ratio",
    "schedule": "trainer.schedule", "patience": "trainer.patience", "metric": "trainer.metric",
    "seed": "trainer.seed", "keep_checkpoint": "trainer.keep_checkpoint",
}


def extra_overrides(args: argparse.Namespace) -> dict[str, tuple[str, Any]]:
    """--max-len and --dropout apply to whichever encoder is trained."""
    out = {}
    for flag in ("max_len", "dropout"):
        value = getattr(args, f"cfg:scratch.{flag}", None)
        if value is not None:
            out[f"pretrained.{flag}"] = ("--" + flag.replace("_", "-"), value)
    return out


def add_evaluate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--column", help="CoNLL-U tag column: upos or xpos (default: the run's)")


def evaluate_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"column": args.column}


def add_predict_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--conll", help="also write the predicted tags as CoNLL "
                        "(word<TAB>tag, a blank line between sentences) here")




def needs_all_results(args: argparse.Namespace) -> bool:
    """--conll writes the whole file at the end: predict without streaming."""
    return bool(args.conll)


def after_predict(results: Sequence[Any], args: argparse.Namespace) -> None:
    if args.conll:
        from attnpred.tasks.tag_predictor import TagPredictor
        atomic_write_text(args.conll, TagPredictor.to_conll(results))
        print(f"{len(results)} tagged sentences written to {args.conll}")
