"""Text classification benchmark (BENCHMARKS.md section 1) -> benchmarks/results/classification.json.

Financial PhraseBank AllAgree and 50Agree (FinBERT protocol: de-duplicate, stratified seeded
split, 20% test, 20% of the rest dev), SST-2 and SST-5 (given train/dev/test), for the
from-scratch classifier (`scratch`) and the MiniLM adapter (`minilm`), beside `majority`.
Settings are fixed below (standard fine-tuning defaults, not tuned on test); the best epoch
is picked on dev accuracy, with early stopping on dev.

    python benchmarks/classification.py [--datasets fpb-allagree,sst2] [--models scratch,minilm]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import merge_results, record, require_data

import torch

from attnpred.models.classifier import ClassifierConfig
from attnpred.models.hf_classifier import HFClassifierConfig
from attnpred.tasks.classify import ClassifyRunConfig, train_classifier
from attnpred.tasks.classify_data import TextDataConfig
from attnpred.training.trainer import TrainerConfig

FPB = ("financial_phrasebank",)
DATASETS = {
    "fpb-allagree": dict(train=FPB + ("Sentences_AllAgree.txt",)),
    "fpb-50agree": dict(train=FPB + ("Sentences_50Agree.txt",)),
    "sst2": dict(train=("sst", "stsa.binary.train"), dev=("sst", "stsa.binary.dev"),
                 test=("sst", "stsa.binary.test")),
    "sst5": dict(train=("sst", "stsa.fine.train"), dev=("sst", "stsa.fine.dev"),
                 test=("sst", "stsa.fine.test")),
}


def data_config(name: str) -> TextDataConfig:
    paths = {k: str(require_data(*v)) for k, v in DATASETS[name].items()}
    return TextDataConfig(**paths, split_seed=13)


def run_config(model: str, dataset: str, epochs: int | None) -> ClassifyRunConfig:
    if model == "scratch":
        return ClassifyRunConfig(
            model="scratch", data=data_config(dataset), vocab_size=8000,
            scratch=ClassifierConfig(dim=256, heads=4, layers=2, ff_dim=512, dropout=0.2,
                                     pooling="attention", max_len=128),
            trainer=TrainerConfig(epochs=epochs or 10, lr=5e-4, warmup_ratio=0.1,
                                  weight_decay=0.01, patience=3, progress=False))
    return ClassifyRunConfig(
        model="pretrained", data=data_config(dataset),
        pretrained=HFClassifierConfig(model_dir="minilm", pooling="attention", max_len=128),
        trainer=TrainerConfig(epochs=epochs or MINILM_EPOCHS.get(dataset, 4), lr=8e-5,
                              warmup_ratio=0.1, weight_decay=0.01, patience=2, progress=False))


# Passes over the data, from the dev curves: on FPB AllAgree dev accuracy was still rising
# after 4 epochs (0.903, 0.934, 0.939, 0.948), so it gets 8; the SST training sets are 3-4x
# larger, and fewer passes keep the CPU cost of a run under ~30 min. Early stopping on dev.
MINILM_EPOCHS = {"fpb-allagree": 8, "fpb-50agree": 5, "sst2": 3, "sst5": 3}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--models", default="scratch,minilm")
    ap.add_argument("--epochs", type=int, default=None, help="override (quick runs)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", default="runs/bench-classification")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    started = time.time()
    for dataset in args.datasets.split(","):
        for model in args.models.split(","):
            cfg = run_config(model, dataset, args.epochs)
            t0 = time.time()
            metrics = train_classifier(cfg, Path(args.runs) / f"{dataset}-{model}",
                                       overwrite=True)
            seconds = time.time() - t0
            new = []
            for split in ("dev", "test"):
                m, b = metrics[split]["model"], metrics[split]["majority"]
                for metric in ("accuracy", "macro_f1"):
                    new.append(record(dataset, model, split, metric, m[metric], seconds,
                                      n=m["n"], epochs=cfg.trainer.epochs))
                    new.append(record(dataset, "majority", split, metric, b[metric], 0.0,
                                      n=b["n"]))
            print(dataset, model, f"test acc {metrics['test']['model']['accuracy']:.4f}",
                  f"macro-F1 {metrics['test']['model']['macro_f1']:.4f}",
                  f"(majority {metrics['test']['majority']['accuracy']:.4f})",
                  f"{seconds:.0f}s", flush=True)
            save(dataset, model, new, started)


def save(dataset: str, model: str, new: list[dict], started: float) -> None:
    """Merge this run's records into classification.json (several invocations, one per
    dataset or model, may run side by side)."""
    merge_results("classification", new, started, replaces=lambda r: r["dataset"] == dataset
                  and r["model"] in (model, "majority"))

if __name__ == "__main__":
    main()
