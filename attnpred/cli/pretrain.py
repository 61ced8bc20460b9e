"""``attnpred pretrain``: masked-token pretraining of the from-scratch encoder on raw text.

Fine-tune from it with ``attnpred train --task classify --init-from DIR``. Flags follow the
scheme of ``attnpred train`` (generated from ``MLMConfig``'s field docstrings).
"""
from __future__ import annotations

import json

from attnpred.cli.common import Parser, add_config_flags, add_run_flags, config_from_args

# flag -> dotted field of MLMConfig
FLAGS = {
    "train": "texts", "format": "format", "text_column": "text_column",
    "dim": "model.dim", "layers": "model.layers", "heads": "model.heads",
    "ff_dim": "model.ff_dim", "max_len": "model.max_len", "vocab_size": "vocab_size",
    "mask_prob": "mask_prob", "batch_size": "batch_size", "epochs": "trainer.epochs",
    "lr": "trainer.lr", "seed": "trainer.seed",
}


def parser() -> Parser:
    from attnpred.tasks.pretrain import MLMConfig
    ap = Parser(prog="attnpred pretrain",
                description="Masked-token pretraining of the from-scratch encoder on raw text "
                            "(--train: one text per line, or CSV/TSV/JSONL with --text-column).")
    add_run_flags(ap)
    add_config_flags(ap, MLMConfig, FLAGS)
    return ap


def main(argv: list[str]) -> None:
    """Pretrain; print the held-out masked-token loss."""
    from attnpred.errors import AttnpredError
    from attnpred.tasks.pretrain import MLMConfig, pretrain_mlm
    args = parser().parse_args(argv)
    cfg = config_from_args(MLMConfig, args, FLAGS)
    if not cfg.texts:
        raise AttnpredError("no training texts given", field="--train")
    metrics = pretrain_mlm(cfg, args.out, resume=args.resume, overwrite=args.overwrite)
    print(json.dumps(metrics, indent=2))
    print(f"pretraining saved to {args.out}; fine-tune with "
          f"'attnpred train --task classify --init-from {args.out} ...'")
