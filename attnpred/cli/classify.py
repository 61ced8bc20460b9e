"""``attnpred train --task classify``, and evaluate / predict for classification runs."""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from attnpred.config import apply_overrides, config_from_dict, read_config_dict
from attnpred.io import atomic_write_text

# flag -> dotted config field; flags override the --config file
TRAIN_FLAGS = {
    "train": ("data.train", str, "training file (CSV/TSV/JSONL/FPB/SST)"),
    "dev": ("data.dev", str, "dev file (default: split off the training file)"),
    "test": ("data.test", str, "test file (default: split off the training file)"),
    "format": ("data.format", str, "auto, csv, tsv, jsonl, fpb or sst"),
    "text_column": ("data.text_column", str, "text column / JSON key"),
    "label_column": ("data.label_column", str, "label column / JSON key"),
    "encoding": ("data.encoding", str, "file encoding (default: detect)"),
    "split_seed": ("data.split_seed", int, "seed of the stratified split"),
    "model": ("model", str, "scratch or pretrained"),
    "model_dir": ("pretrained.model_dir", str, "pretrained model directory ('minilm': bundled)"),
    "pooling": (None, str, "cls, mean or attention"),
    "max_len": (None, int, "longest input in tokens"),
    "dim": ("scratch.dim", int, "scratch model width"),
    "layers": ("scratch.layers", int, "scratch encoder layers"),
    "heads": ("scratch.heads", int, "scratch attention heads"),
    "tokenizer": ("tokenizer", str, "wordpiece or bpe (scratch model)"),
    "vocab_size": ("vocab_size", int, "tokenizer vocabulary size (scratch model)"),
    "batch_size": ("batch_size", int, "training batch size"),
    "epochs": ("trainer.epochs", int, "training epochs"),
    "lr": ("trainer.lr", float, "peak learning rate"),
    "schedule": ("trainer.schedule", str, "linear, cosine or constant"),
    "patience": ("trainer.patience", int, "early-stopping patience in evaluations"),
    "accumulate": ("trainer.accumulate", int, "gradient accumulation steps"),
    "seed": ("trainer.seed", int, "random seed"),
    "device": ("trainer.device", str, "auto, cpu or cuda"),
    "rationales": ("supervision.rationales", str,
                   "rationale file (JSONL or Yelp-HAT CSV) matched to the data by text"),
    "attn_lambda": ("supervision.weight", float,
                    "weight of the attention loss against rationales (0: off)"),
    "attn_target": ("supervision.target", str, "supervised attention: pooling or cls"),
    "attn_loss": ("supervision.loss", str, "attention loss: ce, kl or mse"),
    "attn_fraction": ("supervision.fraction", float, "share of the rationales to use"),
    "init_from": ("init_from", str, "scratch model: start from this MLM pretraining "
                  "(attnpred pretrain)"),
}


def train_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="attnpred train --task classify",
        description="Train a text classifier into a run directory. Flags override --config.")
    ap.add_argument("--out", required=True, help="run directory to create")
    ap.add_argument("--config", help="JSON run config (see a run's config.json)")
    ap.add_argument("--resume", action="store_true", help="continue an interrupted run")
    ap.add_argument("--overwrite", action="store_true", help="replace a completed run")
    ap.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    for flag, (_, typ, help_) in TRAIN_FLAGS.items():
        ap.add_argument("--" + flag.replace("_", "-"), type=typ, help=help_)
    st = ap.add_argument_group("self-training (pseudo-labels on unlabelled text)")
    st.add_argument("--unlabelled", help="unlabelled texts (.txt one per line, or CSV/TSV/JSONL "
                    "with --text-column); each round's run goes to OUT/roundN")
    st.add_argument("--self-train-rounds", type=int, default=1,
                    help="pseudo-labelling rounds after the first model (default 1)")
    st.add_argument("--pseudo-threshold", type=float, default=0.9,
                    help="keep a pseudo-label when its probability is at least this")
    return ap


def build_config(args: argparse.Namespace):
    from attnpred.tasks.classify import ClassifyRunConfig
    data = read_config_dict(args.config)
    overrides = {field: getattr(args, flag) for flag, (field, _, _) in TRAIN_FLAGS.items()
                 if field}
    for flag in ("pooling", "max_len"):  # apply to whichever model is used
        overrides[f"scratch.{flag}"] = overrides[f"pretrained.{flag}"] = getattr(args, flag)
    if args.no_progress:
        overrides["trainer.progress"] = False
    data = apply_overrides(data, overrides)
    return config_from_dict(ClassifyRunConfig, data, source=args.config or "command line")


def train(argv: list[str]) -> None:
    """Train a classifier; print the test report beside the majority baseline."""
    from attnpred.tasks.classify import train_classifier
    args = train_parser().parse_args(argv)
    cfg = build_config(args)
    if args.unlabelled:
        return self_train_cli(cfg, args)
    train_classifier(cfg, args.out, resume=args.resume, overwrite=args.overwrite)
    print((Path(args.out) / "report.txt").read_text())
    print(f"run saved to {args.out}")


def self_train_cli(cfg, args: argparse.Namespace) -> None:
    """Self-training: OUT/round0 (the labelled data), OUT/round1, ...; report the last round."""
    import shutil

    from attnpred.errors import AttnpredError
    from attnpred.supervision.self_training import SelfTrainingConfig, self_train
    from attnpred.tasks.classify import prepare_run_dir
    if args.resume:
        raise AttnpredError("--resume is not available with --unlabelled", field="resume")
    st = SelfTrainingConfig(unlabelled=args.unlabelled, rounds=args.self_train_rounds,
                            threshold=args.pseudo_threshold, text_column=cfg.data.text_column)
    out = Path(args.out)
    if (out / "self_training.json").exists():
        if not args.overwrite:
            raise AttnpredError("run directory holds a completed self-training run; pass "
                                "--overwrite or choose another --out", file=out)
        shutil.rmtree(out)
    prepare_run_dir(out, resume=False, overwrite=args.overwrite)
    final = self_train(cfg, st, out)
    summary = json.loads((out / "self_training.json").read_text())
    print((final / "report.txt").read_text())
    for r in summary["rounds"]:
        print(f"round {r['round']}: {r['pseudo_labels']} pseudo-labels, "
              + ", ".join(f"{k} {v:.4f}" for k, v in r["metrics"].items()))
    print(f"rounds saved under {out}; the last is {final}")


def evaluate(run_dir: str, argv: list[str]) -> None:
    """Score a run on a labelled file (default: the run's own dev/test report)."""
    ap = argparse.ArgumentParser(prog="attnpred evaluate RUN",
                                 description="Evaluate a classification run.")
    ap.add_argument("--input", help="labelled file; default: show the run's test report")
    ap.add_argument("--format", help="auto, csv, tsv, jsonl, fpb or sst")
    ap.add_argument("--text-column", help="text column / JSON key")
    ap.add_argument("--label-column", help="label column / JSON key")
    ap.add_argument("--json", help="also write the metrics JSON here")
    args = ap.parse_args(argv)
    from attnpred.evaluation.classification import format_report
    from attnpred.tasks.classify import evaluate_run
    if not args.input:
        print((Path(run_dir) / "report.txt").read_text())
        return
    result = evaluate_run(run_dir, args.input, format=args.format,
                          text_column=args.text_column, label_column=args.label_column)
    print(format_report(result))
    if "rationales" in result:
        from attnpred.evaluation.rationale_report import format_rationales
        print(format_rationales(result["rationales"]))
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2) + "\n")


def predict(run_dir: str, argv: list[str]) -> None:
    """Predict labels, probabilities and the words attended to."""
    ap = argparse.ArgumentParser(prog="attnpred predict RUN",
                                 description="Classify texts with a trained run.")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="file of texts (CSV/TSV/JSONL, or .txt one per line)")
    src.add_argument("--text", action="append", help="a text to classify (repeatable)")
    ap.add_argument("--format", default="auto", help="format of --input")
    ap.add_argument("--text-column", default="text", help="text column / JSON key")
    ap.add_argument("--attention", default="auto", help="auto, pooling, cls or supervised")
    ap.add_argument("--top-k", type=int, default=5, help="words to show per text")
    ap.add_argument("--output", help="write JSONL (or CSV by suffix) here instead of stdout")
    args = ap.parse_args(argv)
    from attnpred.api import load
    from attnpred.data.text import read_texts
    texts = args.text or read_texts(args.input, format=args.format, text_column=args.text_column)
    preds = load(run_dir).predict(texts, return_attention=True, attention=args.attention)
    rows = [{"text": p.text, "label": p.label, "probabilities": p.probabilities,
             "top_words": p.top_words(args.top_k), "words": p.words,
             "word_attention": p.word_attention} for p in preds]
    if args.output:
        atomic_write_text(args.output, _render(rows, Path(args.output).suffix.lower()))
        print(f"{len(rows)} predictions written to {args.output}")
        return
    for r in rows:
        words = ", ".join(f"{w} {a:.2f}" for w, a in r["top_words"])
        print(f"{r['label']:>10} {r['probabilities'][r['label']]:.3f}  {r['text'][:70]}"
              f"\n{'':>17}attends to: {words}")


def _render(rows: list[dict], suffix: str) -> str:
    if suffix == ".csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["text", "label", "probability", "top_words"])
        for r in rows:
            w.writerow([r["text"], r["label"], f"{r['probabilities'][r['label']]:.6f}",
                        " ".join(word for word, _ in r["top_words"])])
        return buf.getvalue()
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


if __name__ == "__main__":  # pragma: no cover
    train(sys.argv[1:])
