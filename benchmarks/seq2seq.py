"""Translation (Multi30k En->De) and summarisation (AESLC) with attnpred's seq2seq models.

    python benchmarks/seq2seq.py --quick                 # small CPU configs (minutes)
    python benchmarks/seq2seq.py --cpu --threads 2 --runs ~/attnpred-runs   # the CPU recipe
    python benchmarks/seq2seq.py --cpu --threads 2 --runs ~/attnpred-runs --resume  # continue
    python benchmarks/seq2seq.py --full --device cuda    # bigger configs for a GPU

The CPU recipe (issue 13) trains the 3+3-layer d = 256 Transformer (joint BPE 8k) and the GRU
with attention on Multi30k En->De on 2 cores, picking the epoch by dev BLEU (greedy, every
epoch) and averaging the last checkpoints; an interrupted run continues with --resume to the
same weights. The JSON gets the dev-BLEU curve per epoch (and a PNG of it), the training
seconds (summed over resumed sessions), and beam-5 decoding speed with and without the cache.

Writes benchmarks/results/seq2seq.json (BENCHMARKS.md section 4): sacreBLEU and chrF on the raw
cased test2016 text, BLEU on the lowercased tokenized tok/ references, ROUGE-1/2/L on AESLC
against the annotator subjects, beside the copy / first-sentence baselines, with wall times.
Best weights are picked on the validation split (dev NLL); the test set is only decoded once.
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import json
import re
import sys
import tarfile
import time
from pathlib import Path

from common import ROOT, kept_records, record, require_data, write_results  # noqa: E402  (sets sys.path)

import torch  # noqa: E402

from attnpred.config import config_from_dict  # noqa: E402
from attnpred.data.parallel import read_lines  # noqa: E402
from attnpred.evaluation.generation import bleu, chrf, rouge  # noqa: E402
from attnpred.tasks.seq2seq import Seq2SeqPredictor, Seq2SeqRunConfig, train_seq2seq  # noqa: E402

RUNS = ROOT / "benchmarks" / "runs" / "seq2seq"

# Settings per (profile, model). quick: CPU minutes; full: what the target needs (a GPU).
CONFIGS = {
    # the run in results/seq2seq.json (258 steps, 0.4 BLEU). max_tokens 2048 / lr 2e-3 learnt
    # far faster per CPU second on En-Fr (benchmarks/alignment.py): try that next.
    ("quick", "transformer"): {
        "data": {"vocab_size": 5000, "max_tokens": 4096, "max_len": 64},
        "transformer": {"dim": 128, "heads": 4, "ff_dim": 512, "encoder_layers": 2,
                        "decoder_layers": 2, "dropout": 0.1},
        "trainer": {"epochs": 2, "lr": 1e-3, "warmup_ratio": 0.05}},
    ("quick", "gru-attention"): {
        "data": {"vocab_size": 5000, "max_tokens": 2048, "max_len": 64},
        "gru": {"embed_dim": 128, "hidden_dim": 256, "dropout": 0.2},
        "trainer": {"epochs": 1, "lr": 2e-3, "warmup_ratio": 0.05}},
    # the CPU recipe: ~120 sentences per batch, 20 epochs, dev BLEU each epoch, mean of the
    # last 5 epochs' weights when dev prefers it
    ("cpu", "transformer"): {
        "data": {"vocab_size": 8000, "max_tokens": 2048, "max_len": 128},
        "transformer": {"dim": 256, "heads": 4, "ff_dim": 1024, "encoder_layers": 3,
                        "decoder_layers": 3, "dropout": 0.1, "label_smoothing": 0.1},
        "trainer": {"epochs": 20, "lr": 1e-3, "warmup_ratio": 0.04, "metric": "bleu",
                    "mode": "max", "average_last": 5}},
    ("cpu", "gru-attention"): {
        "data": {"vocab_size": 8000, "max_tokens": 2048, "max_len": 128},
        "gru": {"embed_dim": 256, "hidden_dim": 512, "dropout": 0.3},
        "trainer": {"epochs": 12, "lr": 1e-3, "warmup_ratio": 0.02, "metric": "bleu",
                    "mode": "max", "average_last": 3}},
    ("full", "transformer"): {
        "data": {"vocab_size": 10000, "max_tokens": 8192, "max_len": 128},
        "transformer": {"dim": 512, "heads": 8, "ff_dim": 2048, "encoder_layers": 6,
                        "decoder_layers": 6, "dropout": 0.3},
        "trainer": {"epochs": 60, "lr": 7e-4, "warmup_ratio": 0.04, "patience": 10,
                    "amp": True}},
    ("full", "gru-attention"): {
        "data": {"vocab_size": 10000, "max_tokens": 8192, "max_len": 128},
        "gru": {"embed_dim": 256, "hidden_dim": 512, "dropout": 0.3},
        "trainer": {"epochs": 30, "lr": 1e-3, "warmup_ratio": 0.02, "patience": 5}},
}
# AESLC: long inputs, short outputs.
SUMMARY = {
    "quick": {"data": {"vocab_size": 5000, "max_tokens": 4096, "max_len": 64},
              "transformer": {"dim": 128, "heads": 4, "ff_dim": 512, "encoder_layers": 2,
                              "decoder_layers": 2, "dropout": 0.1},
              "trainer": {"epochs": 1, "lr": 2e-3, "warmup_ratio": 0.05},
              "decoding": {"beam": 4, "length_penalty": 1.0, "max_len_a": 0.0, "max_len_b": 24}},
    # the Multi30k CPU Transformer; emails cut to their first 128 tokens (the subject is
    # mostly about the opening; a quarter of the bodies are longer) and 4 epochs (~30 min)
    "cpu": {"data": {"vocab_size": 8000, "max_tokens": 4096, "max_len": 128},
            "transformer": {"dim": 256, "heads": 4, "ff_dim": 1024, "encoder_layers": 3,
                            "decoder_layers": 3, "dropout": 0.1, "label_smoothing": 0.1},
            "trainer": {"epochs": 4, "lr": 1e-3, "warmup_ratio": 0.04},
            "decoding": {"beam": 4, "length_penalty": 1.0, "max_len_a": 0.0, "max_len_b": 24}},
    "full": {"data": {"vocab_size": 16000, "max_tokens": 16384, "max_len": 512},
             "transformer": {"dim": 512, "heads": 8, "ff_dim": 2048, "encoder_layers": 6,
                             "decoder_layers": 6, "dropout": 0.2},
             "trainer": {"epochs": 30, "lr": 5e-4, "warmup_ratio": 0.04, "patience": 5,
                         "amp": True},
             "decoding": {"beam": 4, "length_penalty": 1.0, "max_len_a": 0.0, "max_len_b": 32}},
}
AESLC_PUBLISHED = {"zhang-tetreault-2019": (23.67, 10.29, 23.44), "pegasus-large": (37.69, 21.85, 36.84)}


def merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def run_config(profile_cfg: dict, arch: str, data: dict,
               args: argparse.Namespace) -> Seq2SeqRunConfig:
    common = {"model": arch, "data": data,
              "decoding": {"beam": 5, "length_penalty": 0.6},
              "trainer": {"metric": "nll", "mode": "min", "device": args.device,
                          "seed": args.seed, "progress": False}}
    cfg = merge(common, profile_cfg)
    if args.max_steps:
        cfg["trainer"]["max_steps"] = args.max_steps
    return config_from_dict(Seq2SeqRunConfig, cfg, source="benchmark")


# ---- Multi30k ---------------------------------------------------------------------------
def multi30k(args, records: list) -> None:
    raw, tok = require_data("multi30k", "raw"), require_data("multi30k", "tok")
    data = {"train_src": str(raw / "train.en.gz"), "train_tgt": str(raw / "train.de.gz"),
            "dev_src": str(raw / "val.en.gz"), "dev_tgt": str(raw / "val.de.gz")}
    n = args.limit or None
    src = read_lines(raw / "test_2016_flickr.en.gz")[:n]
    ref = read_lines(raw / "test_2016_flickr.de.gz")[:n]
    ref_tok = read_lines(tok / "test_2016_flickr.lc.norm.tok.de")[:n]
    src_tok = read_lines(tok / "test_2016_flickr.lc.norm.tok.en")[:n]
    ds, split = "multi30k-en-de", "test2016"
    note = ("tok_bleu: lowercased output against the lowercased Moses-tokenised tok/ references "
            "(13a tokenisation of both)")
    records += [record(ds, "copy", split, "bleu", bleu(src, [ref])),
                record(ds, "copy", split, "chrf", chrf(src, [ref])),
                record(ds, "copy", split, "tok_bleu", bleu(src_tok, [ref_tok], lowercase=True))]
    for arch in args.models:
        cfg = run_config(CONFIGS[(args.profile, arch)], arch, data, args)
        t0 = time.time()
        run_dir = args.runs / f"multi30k-{arch}-{args.profile}"
        train_or_resume(cfg, run_dir, args)
        predictor = Seq2SeqPredictor.load(run_dir)
        train_s = time.time() - t0
        t1 = time.time()
        hyps = [t.text for t in predictor.translate(src)]
        decode_s = time.time() - t1
        curve = dev_curve(run_dir)
        extra = dict(profile=args.profile, train_seconds=curve["train_seconds"],
                     session_seconds=round(train_s, 1), decode_seconds=round(decode_s, 1),
                     beam=cfg.decoding.beam, epochs=cfg.trainer.epochs,
                     params=sum(p.numel() for p in predictor.model.parameters()),
                     config=dataclasses.asdict(cfg))
        seconds = train_s + decode_s
        records += [record(ds, arch, split, "bleu", bleu(hyps, [ref]), seconds, **extra),
                    record(ds, arch, split, "chrf", chrf(hyps, [ref]), seconds, **extra),
                    record(ds, arch, split, "tok_bleu", bleu(hyps, [ref_tok], lowercase=True),
                           seconds, notes=note, **extra),
                    record(ds, arch, "val", "dev_bleu_curve", curve["best"], curve=curve,
                           notes="greedy dev BLEU after each epoch (sacreBLEU on val); value: "
                                 "the best epoch; 'averaged': the mean of the last epochs")]
        if args.decode_speed:
            records += decode_speed(predictor, src, ds, arch)
        print(records[-4:], flush=True)
    if args.profile == "cpu":
        plot_curves(kept_records("seq2seq", records) + records,  # every model's curve, earlier runs too
                    ROOT / "benchmarks" / "results" / "seq2seq_curve.png")


def train_or_resume(cfg: Seq2SeqRunConfig, run_dir, args) -> None:
    """Train into run_dir; with --resume continue an interrupted run (or reuse a finished
    one: its complete.json is written last)."""
    if args.resume and (run_dir / "complete.json").is_file():
        print(f"{run_dir} is complete: reusing it", flush=True)
        return
    train_seq2seq(cfg, run_dir, resume=args.resume and run_dir.exists(),
                  overwrite=not args.resume)


def dev_curve(run_dir) -> dict:
    """Dev BLEU per epoch, the averaged weights' BLEU and the summed training seconds."""
    path = run_dir / "train_log.jsonl"
    log = [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []
    epochs = [{"epoch": r["epoch"], "step": r["step"], "dev_bleu": r["dev/bleu"],
               "dev_nll": r["dev/nll"]} for r in log if "dev/bleu" in r]
    averaged = next((r["averaged/bleu"] for r in log if "averaged/bleu" in r), None)
    seconds = max((r["train/seconds"] for r in log if "train/seconds" in r), default=0.0)
    best = max([e["dev_bleu"] for e in epochs] + ([averaged] if averaged is not None else []),
               default=float("nan"))
    return {"epochs": epochs, "averaged": averaged, "best": best,
            "train_seconds": round(seconds, 1)}


def decode_speed(predictor: Seq2SeqPredictor, src: list[str], ds: str, arch: str) -> list:
    """Sentences per second of beam 5 with and without the key/value cache (same outputs)."""
    out, texts = [], {}
    for use_cache in (True, False):
        dec = dataclasses.replace(predictor.cfg.decoding, beam=5, use_cache=use_cache)
        t0 = time.time()
        texts[use_cache] = [t.text for t in predictor.translate(src, dec)]
        sec = time.time() - t0
        out.append(record(ds, arch, "test2016", "sentences_per_second", len(src) / sec, sec,
                          beam=5, use_cache=use_cache, threads=torch.get_num_threads()))
    same = sum(a == b for a, b in zip(texts[True], texts[False])) / len(src)
    out.append(record(ds, arch, "test2016", "cache_same_output", same,
                      notes="share of sentences decoded identically with and without cache"))
    return out


def plot_curves(records: list[dict], path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for r in records:
        if r["metric"] == "dev_bleu_curve":
            e = r["curve"]["epochs"]
            ax.plot([x["epoch"] for x in e], [x["dev_bleu"] for x in e], marker="o",
                    label=r["model"])
    ax.set(xlabel="epoch", ylabel="dev BLEU (greedy)", title="Multi30k En->De, 2-core CPU")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


# ---- AESLC ------------------------------------------------------------------------------
def read_aeslc(split: str) -> list[dict[str, object]]:
    """Emails of one split: body, subject and annotator subjects (dev/test)."""
    path = require_data("aeslc", "enron_subject_line.tar.gz")
    out = []
    with tarfile.open(path) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not (member.isfile() and f"/{split}/" in member.name):
                continue
            text = io.TextIOWrapper(tar.extractfile(member), encoding="utf-8").read()
            parts = re.split(r"^@(subject|ann\d)\s*$", text, flags=re.M)
            fields = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
            out.append({"body": " ".join(parts[0].split()), "subject": fields.get("subject", ""),
                        "anns": [fields[k] for k in sorted(fields) if k.startswith("ann")],
                        "first": next((ln.strip() for ln in parts[0].splitlines()
                                       if ln.strip()), "")})
    return out


def aeslc(args, records: list) -> None:
    folder = args.runs / "aeslc-data"
    folder.mkdir(parents=True, exist_ok=True)
    splits = {s: read_aeslc(s) for s in ("train", "dev", "test")}
    for s in ("train", "dev"):
        (folder / f"{s}.body").write_text("".join(e["body"] + "\n" for e in splits[s]))
        (folder / f"{s}.subject").write_text("".join(" ".join(e["subject"].split()) + "\n"
                                                     for e in splits[s]))
    test = splits["test"][: args.limit or None]
    refs = [[e["anns"][k] for e in test] for k in range(3)]
    ds, split = "aeslc", "test"
    for name, (r1, r2, rl) in AESLC_PUBLISHED.items():
        records += [record(ds, name, split, m, v, published=True)
                    for m, v in (("rouge1", r1), ("rouge2", r2), ("rougeL", rl))]
    base = rouge([e["first"] for e in test], refs)
    records += [record(ds, "first-sentence", split, k, v) for k, v in base.items()]
    data = {"train_src": str(folder / "train.body"), "train_tgt": str(folder / "train.subject"),
            "dev_src": str(folder / "dev.body"), "dev_tgt": str(folder / "dev.subject")}
    cfg = run_config(SUMMARY[args.profile], "transformer", data, args)
    t0 = time.time()
    run_dir = args.runs / f"aeslc-transformer-{args.profile}"
    train_or_resume(cfg, run_dir, args)
    predictor = Seq2SeqPredictor.load(run_dir)
    hyps = [t.text for t in predictor.translate([e["body"] for e in test])]
    seconds = time.time() - t0
    for k, v in rouge(hyps, refs).items():
        records.append(record(ds, "transformer", split, k, v, seconds, profile=args.profile,
                              notes="ROUGE F1 x100 (rouge-score, stemming), mean over the 3 "
                                    "annotator subjects"))
    print(records[-3:], flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", dest="profile", action="store_const", const="quick",
                       help="small CPU configs (default)")
    group.add_argument("--cpu", dest="profile", action="store_const", const="cpu",
                       help="the CPU recipe meant to reach the target (about 2 hours)")
    group.add_argument("--full", dest="profile", action="store_const", const="full",
                       help="bigger configs for a GPU")
    parser.set_defaults(profile="quick")
    parser.add_argument("--datasets", default="multi30k,aeslc", help="comma list")
    parser.add_argument("--models", default="transformer,gru-attention",
                        help="comma list for Multi30k")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--runs", type=Path, default=RUNS,
                        help="folder of the run directories (keep long runs outside the tree)")
    parser.add_argument("--resume", action="store_true",
                        help="continue interrupted runs in --runs (reuse finished ones)")
    parser.add_argument("--no-decode-speed", dest="decode_speed", action="store_false",
                        help="skip the beam-5 cached vs uncached timing")
    parser.add_argument("--max-steps", type=int, default=0, help="cap training steps (smoke runs)")
    parser.add_argument("--limit", type=int, default=0,
                        help="score only the first n test examples (smoke runs; 0: all)")
    args = parser.parse_args()
    args.models = [m for m in args.models.split(",") if m]
    args.runs = args.runs.expanduser()
    torch.set_num_threads(args.threads)
    started, records = time.time(), []
    datasets = [d for d in args.datasets.split(",") if d]
    if "multi30k" in datasets:
        multi30k(args, records)
    if "aeslc" in datasets:
        aeslc(args, records)
    if args.limit or args.max_steps:
        print("smoke run (--limit / --max-steps): results not written")
        return
    path = write_results("seq2seq", kept_records("seq2seq", records) + records, started,
                         profile=args.profile)
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
