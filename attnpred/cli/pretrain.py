"""``attnpred pretrain``: masked-token pretraining of the from-scratch encoder on raw text.

Fine-tune from it with ``attnpred train --task classify --init-from DIR``.
"""
from __future__ import annotations

import argparse
import json

from attnpred.config import apply_overrides, config_from_dict, read_config_dict

FLAGS = {
    "texts": ("texts", str, "raw text: .txt (one per line) or CSV/TSV/JSONL with --text-column"),
    "format": ("format", str, "lines, csv, tsv, jsonl or auto"),
    "text_column": ("text_column", str, "text column / JSON key"),
    "dim": ("model.dim", int, "model width"),
    "layers": ("model.layers", int, "encoder layers"),
    "heads": ("model.heads", int, "attention heads"),
    "ff_dim": ("model.ff_dim", int, "feed-forward width"),
    "max_len": ("model.max_len", int, "longest input in tokens"),
    "vocab_size": ("vocab_size", int, "tokenizer vocabulary size"),
    "mask_prob": ("mask_prob", float, "share of tokens to predict"),
    "batch_size": ("batch_size", int, "texts per batch"),
    "epochs": ("trainer.epochs", int, "passes over the texts"),
    "lr": ("trainer.lr", float, "peak learning rate"),
    "seed": ("trainer.seed", int, "random seed"),
    "device": ("trainer.device", str, "auto, cpu or cuda"),
}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="attnpred pretrain",
        description="Masked-token pretraining of the from-scratch encoder on raw text. "
                    "Flags override --config.")
    ap.add_argument("--out", required=True, help="directory to write the pretraining to")
    ap.add_argument("--config", help="JSON MLM config (see a pretraining's config.json)")
    ap.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    for flag, (_, typ, help_) in FLAGS.items():
        ap.add_argument("--" + flag.replace("_", "-"), type=typ, help=help_)
    return ap


def main(argv: list[str]) -> None:
    """Pretrain; print the held-out masked-token loss."""
    from attnpred.tasks.pretrain import MLMConfig, pretrain_mlm
    args = parser().parse_args(argv)
    data = apply_overrides(read_config_dict(args.config),
                           {field: getattr(args, flag) for flag, (field, _, _) in FLAGS.items()})
    if args.no_progress:
        data = apply_overrides(data, {"trainer.progress": False})
    cfg = config_from_dict(MLMConfig, data, source=args.config or "command line")
    metrics = pretrain_mlm(cfg, args.out)
    print(json.dumps(metrics, indent=2))
    print(f"pretraining saved to {args.out}; fine-tune with "
          f"'attnpred train --task classify --init-from {args.out} ...'")
