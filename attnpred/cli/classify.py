"""Classification's part of the command line: its train flags and its predict/evaluate options.

The commands themselves are generic (``attnpred.cli.main``); help comes from the config
dataclasses' field docstrings.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

# flag -> dotted config field of ClassifyRunConfig
TRAIN_FLAGS = {
    "train": "data.train", "dev": "data.dev", "test": "data.test", "format": "data.format",
    "text_column": "data.text_column", "label_column": "data.label_column",
    "encoding": "data.encoding", "split_seed": "data.split_seed",
    "model": "model", "model_dir": "pretrained.model_dir",
    "dim": "scratch.dim", "layers": "scratch.layers", "heads": "scratch.heads",
    "tokenizer": "tokenizer", "vocab_size": "vocab_size", "batch_size": "batch_size",
    "epochs": "trainer.epochs", "max_steps": "trainer.max_steps", "lr": "trainer.lr",
    "schedule": "trainer.schedule", "patience": "trainer.patience",
    "accumulate": "trainer.accumulate", "seed": "trainer.seed",
    "keep_checkpoint": "trainer.keep_checkpoint",
    "rationales": "supervision.rationales", "attn_lambda": "supervision.weight",
    "attn_target": "supervision.target", "attn_loss": "supervision.loss",
    "attn_fraction": "supervision.fraction", "init_from": "init_from",
}


def add_train_options(parser: argparse.ArgumentParser) -> None:
    both = parser.add_argument_group("either model")
    both.add_argument("--pooling", help="cls, mean or attention (scratch.pooling and "
                      "pretrained.pooling)")
    both.add_argument("--max-len", type=int, help="longest input in tokens (scratch.max_len and "
                      "pretrained.max_len)")
    st = parser.add_argument_group("self-training (pseudo-labels on unlabelled text)")
    st.add_argument("--unlabelled", help="unlabelled texts (.txt one per line, or CSV/TSV/JSONL "
                    "with --text-column); each round's run goes to OUT/roundN")
    st.add_argument("--self-train-rounds", type=int, default=1,
                    help="pseudo-labelling rounds after the first model (default 1)")
    st.add_argument("--pseudo-threshold", type=float, default=0.9,
                    help="keep a pseudo-label when its probability is at least this")


def extra_overrides(args: argparse.Namespace) -> dict[str, tuple[str, Any]]:
    out = {}
    for name in ("pooling", "max_len"):
        for model in ("scratch", "pretrained"):
            out[f"{model}.{name}"] = ("--" + name.replace("_", "-"), getattr(args, name))
    return out


def train_command(cfg: Any, args: argparse.Namespace) -> bool:
    """Self-training when --unlabelled is given (OUT/round0, OUT/round1, ...)."""
    if not args.unlabelled:
        return False
    from attnpred.errors import AttnpredError
    from attnpred.tasks.rundir import prepare_run_dir
    from attnpred.tasks.self_training import SelfTrainingConfig, self_train
    if args.resume:
        raise AttnpredError("--resume is not available with --unlabelled", field="--resume")
    st = SelfTrainingConfig(unlabelled=args.unlabelled, rounds=args.self_train_rounds,
                            threshold=args.pseudo_threshold, text_column=cfg.data.text_column)
    out = Path(args.out)
    if (out / "self_training.json").exists() and not args.overwrite:
        raise AttnpredError("run directory holds a completed self-training run; pass "
                            "--overwrite or choose another --out", file=out)
    prepare_run_dir(out, overwrite=args.overwrite)
    final = self_train(cfg, st, out)
    summary = json.loads((out / "self_training.json").read_text())
    print((final / "report.txt").read_text())
    for r in summary["rounds"]:
        print(f"round {r['round']}: {r['pseudo_labels']} pseudo-labels, "
              + ", ".join(f"{k} {v:.4f}" for k, v in r["metrics"].items()))
    print(f"rounds saved under {out}; the last is {final}")
    return True


def add_predict_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text-column", help="text column / JSON key (default: the run's)")
    parser.add_argument("--attention-source", default="auto",
                        help="auto, pooling, cls or supervised")


def read_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"text_column": args.text_column}


def predict_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"attention": args.attention_source}


def add_evaluate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text-column", help="text column / JSON key (default: the run's)")
    parser.add_argument("--label-column", help="label column / JSON key (default: the run's)")


def evaluate_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"text_column": args.text_column, "label_column": args.label_column,
            "batch_size": args.batch_size}
