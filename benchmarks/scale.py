"""Scaling out: training with 1 vs 2 processes (torchrun, DDP, gloo) and streamed prediction
over a 1,000,000-line JSONL file with its peak memory.

    python benchmarks/scale.py                 # about 15 minutes on 2 cores
    python benchmarks/scale.py --lines 20000   # smoke run (results not written)

Writes benchmarks/results/scale.json:
- training throughput (sentences/s) of the same classifier on Financial PhraseBank (AllAgree)
  with 1 process x 2 threads and 2 processes x 1 thread (same global batch, same steps); on
  this 2-core machine both use the same two cores, so 2 processes cannot be faster: the figure
  shows what DDP's communication costs, not a speed-up;
- ``attnpred predict`` on 100k and 1M-line JSONL files (texts cycled from the PhraseBank):
  rows/s and the peak resident memory (ru_maxrss) of the process, whose ratio must stay
  within 1.2 (bounded memory);
- sharded prediction: the same 100k file as 2 shards in parallel, merged, equal to the
  unsharded output.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, record, require_data, write_results  # noqa: E402

RUNS = Path.home() / "attnpred-runs" / "scale"
CHILD = ("import resource, sys\n"
         "from attnpred.cli.main import main\n"
         "rc = main(sys.argv[1:])\n"
         "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
         "file=sys.stderr)\n"
         "sys.exit(rc)\n")
TRAIN = ["train", "--task", "classify", "--dim", "128", "--heads", "4", "--layers", "2",
         "--batch-size", "32", "--epochs", "100", "--no-progress",
         "--set", "trainer.tensorboard=false", "--set", "trainer.eval_every=0"]


def sh(cmd: list[str], threads: int) -> tuple[float, str]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONWARNINGS": "ignore"}
    t0 = time.time()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return time.time() - t0, proc.stderr


def train(procs: int, fpb: Path, steps: int, out: Path) -> dict:
    base = ["-m", "attnpred"] + TRAIN + ["--train", str(fpb), "--out", str(out), "--overwrite",
                                         "--set", f"trainer.max_steps={steps}"]
    if procs == 1:
        cmd = [sys.executable] + base
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={procs}",
               "--master-addr=127.0.0.1", "--master-port=29533"] + base
    wall, _ = sh(cmd, 2 // procs)
    log = [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines()]
    seconds = max(r["train/seconds"] for r in log if "train/seconds" in r)
    return {"wall": wall, "train_seconds": seconds, "sentences_per_second": steps * 32 / seconds}


def make_jsonl(path: Path, texts: list[str], n: int) -> Path:
    if not path.is_file() or sum(1 for _ in open(path)) != n:
        with open(path, "w", encoding="utf-8") as fh:
            for i in range(n):
                fh.write(json.dumps({"text": texts[i % len(texts)]}) + "\n")
    return path


def predict(run: Path, src: Path, out: Path, *extra: str) -> tuple[float, int]:
    wall, err = sh([sys.executable, "-c", CHILD, "predict", str(run), "--input", str(src),
                    "--output", str(out), "--no-attention", "--no-progress", *extra], 2)
    rss = int(next(x for x in err.splitlines() if x.startswith("MAXRSS_KB")).split()[1])
    return wall, rss


def compare(a: Path, b: Path) -> tuple[bool, float]:
    """Whether two prediction files hold the same texts and labels in the same order, and the
    largest difference of a probability (float noise: batches are padded differently)."""
    same, diff = True, 0.0
    with open(a, encoding="utf-8") as fa, open(b, encoding="utf-8") as fb:
        for la, lb in zip(fa, fb, strict=True):
            x, y = json.loads(la), json.loads(lb)
            same &= (x["text"], x["label"]) == (y["text"], y["label"])
            diff = max(diff, max(abs(x["probabilities"][k] - y["probabilities"][k])
                                 for k in x["probabilities"]))
    return same, diff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="rows of the big file")
    ap.add_argument("--steps", type=int, default=150, help="training steps per run")
    args = ap.parse_args()
    started = time.time()
    fpb = require_data("financial_phrasebank", "Sentences_AllAgree.txt")
    RUNS.mkdir(parents=True, exist_ok=True)
    records = []
    ds = "financial_phrasebank-allagree"
    for procs in (1, 2):
        r = train(procs, fpb, args.steps, RUNS / f"train-{procs}p")
        records.append(record(ds, f"classifier-{procs}proc", "train", "sentences_per_second",
                              r["sentences_per_second"], r["wall"], processes=procs,
                              threads_per_process=2 // procs, steps=args.steps,
                              global_batch=32, train_seconds=round(r["train_seconds"], 1)))
        print(records[-1], flush=True)
    run = RUNS / "train-1p"
    texts = [line.rsplit("@", 1)[0] for line in
             fpb.read_text(encoding="latin-1").splitlines() if "@" in line]
    small_n = max(1, args.lines // 10)
    for n in (small_n, args.lines):
        src = make_jsonl(RUNS / f"in-{n}.jsonl", texts, n)
        wall, rss = predict(run, src, RUNS / f"out-{n}.jsonl")
        records.append(record("jsonl-cycled-fpb", "classifier", f"{n}_lines", "rows_per_second",
                              n / wall, wall, rows=n, peak_rss_mb=round(rss / 1024, 1),
                              chunk_size=1000, attention=False))
        print(records[-1], flush=True)
    small, big = records[-2]["peak_rss_mb"], records[-1]["peak_rss_mb"]
    records.append(record("jsonl-cycled-fpb", "classifier", "memory", "peak_rss_ratio_1m_vs_100k",
                          big / small, notes="peak RSS of predict on 10x more lines; <= 1.2 "
                                             "means bounded memory"))
    # two shards side by side (one thread each), merged, against the unsharded output
    src = RUNS / f"in-{small_n}.jsonl"
    t0 = time.time()
    procs = [subprocess.Popen([sys.executable, "-m", "attnpred", "predict", str(run), "--input",
                               str(src), "--output", str(RUNS / "parts"), "--shard", f"{i}/2",
                               "--no-attention", "--no-progress"],
                              env={**os.environ, "OMP_NUM_THREADS": "1"}, cwd=ROOT,
                              stdout=subprocess.DEVNULL) for i in range(2)]
    if any(p.wait() for p in procs):
        sys.exit("a shard failed")
    sh([sys.executable, "-m", "attnpred", "merge-shards", str(RUNS / "parts"), "--output",
        str(RUNS / "merged.jsonl")], 1)
    wall = time.time() - t0
    same, diff = compare(RUNS / "merged.jsonl", RUNS / f"out-{small_n}.jsonl")
    records.append(record("jsonl-cycled-fpb", "classifier-2shards", f"{small_n}_lines",
                          "rows_per_second", small_n / wall, wall, same_labels_in_order=same,
                          max_probability_difference=diff))
    print(records[-1], flush=True)
    if args.lines != 1_000_000:
        print("smoke run (--lines): results not written")
        return
    print(f"wrote {write_results('scale', records, started)}")


if __name__ == "__main__":
    main()
