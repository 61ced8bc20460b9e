"""ONNX export, int8 quantization and head pruning of the MiniLM classifier (issue 12).

On Financial PhraseBank AllAgree (bundled; FinBERT split, seed 13) with the MiniLM adapter
(attention pooling, max length 128), trained here for --epochs passes when --run is absent:

* ONNX fp32: max absolute difference of probabilities and word attention against PyTorch on
  the whole test split (bounded by attnpred export's check);
* dynamic int8 (ONNX Runtime ``quantize_dynamic``, per-channel, head in fp32; beside it the
  plain per-tensor variant): test accuracy before and after (target:
  at most 1 point lost) and speed-up over PyTorch fp32 on the same batches (batch 32 and batch
  1), one thread on every side, best of --repeats timed passes;
* pruning curve: test accuracy and speed with 0, 6, 12, 18 of the 72 heads removed (importance
  on the dev split, Michel et al. 2019), pruned heads removed physically.

Run:  flock /tmp/attnpred-cpu.lock .venv/bin/python benchmarks/export.py [--run DIR]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from common import record, write_results  # noqa: E402  (repository on sys.path)

DATASET, SPLIT_SEED = "fpb-allagree", 13
DEFAULT_RUN = Path(os.environ.get("ATTNPRED_RUNS", Path.home() / "attnpred-runs")) / \
    "serve" / "fpb-minilm"


def minilm_run(run: Path, epochs: int) -> Path:
    """The MiniLM classifier on FPB AllAgree, trained once (reused when complete)."""
    if (run / "metrics.json").exists():
        return run
    from attnpred.models.hf_classifier import HFClassifierConfig
    from attnpred.resources import resource
    from attnpred.tasks.classify import ClassifyRunConfig, train_classifier
    from attnpred.tasks.classify_data import TextDataConfig
    from attnpred.training.trainer import TrainerConfig
    data = TextDataConfig(train=str(resource("financial_phrasebank", "Sentences_AllAgree.txt")),
                          split_seed=SPLIT_SEED)
    cfg = ClassifyRunConfig(model="pretrained", data=data, batch_size=32,
                            pretrained=HFClassifierConfig(model_dir="minilm", pooling="attention",
                                                          max_len=128),
                            trainer=TrainerConfig(epochs=epochs, lr=8e-5, warmup_ratio=0.1,
                                                  weight_decay=0.01, patience=2, progress=False))
    train_classifier(cfg, run, overwrite=True)
    return run


def best_time(predictor, texts: list[str], batch_size: int, repeats: int) -> tuple[list, float]:
    """Predictions (with attention) and the best wall time of ``repeats`` passes."""
    best, preds = float("inf"), []
    for _ in range(repeats):
        start = time.perf_counter()
        preds = predictor.predict(texts, return_attention=True, batch_size=batch_size)
        best = min(best, time.perf_counter() - start)
    return preds, best


def accuracy(preds, labels) -> float:
    return sum(p.label == y for p, y in zip(preds, labels)) / len(labels)


def bench_export(run: Path, repeats: int, single: int) -> list[dict]:
    """Parity, int8 accuracy cost and speed against PyTorch fp32 on the same batches."""
    import attnpred
    from attnpred.export.checks import test_examples
    from attnpred.export.onnx import export_run
    from attnpred.export.onnx_predictor import OnnxPredictor
    start = time.perf_counter()
    report = export_run(run, quantize="int8", max_diff=1e-3)
    export_s = time.perf_counter() - start
    records = [record(DATASET, "minilm-onnx-fp32", "test", "max_abs_diff_probabilities",
                      report["onnx_fp32"]["max_abs_diff"]["probabilities"], export_s,
                      max_abs_diff_word_attention=report["onnx_fp32"]["max_abs_diff"]
                      ["word_attention"], bound=report["max_diff_bound"],
                      n=report["test_examples"])]
    from attnpred.export.onnx import quantize_int8
    onnx_dir = run / "onnx"  # the plain per-tensor variant, for comparison (not served)
    quantize_int8(onnx_dir / "model.onnx", onnx_dir / "model.int8-per-tensor.onnx",
                  per_channel=False, keep_head=False)
    sides = {"pytorch-fp32": attnpred.load(run),
             "onnx-fp32": OnnxPredictor.load(run, "model.onnx"),
             "onnx-int8": OnnxPredictor.load(run, "model.int8.onnx"),
             "onnx-int8-per-tensor": OnnxPredictor.load(run, "model.int8-per-tensor.onnx")}
    texts, labels = test_examples(run, sides["pytorch-fp32"])
    for batch, subset in ((32, texts), (1, texts[:single])):
        times = {}
        for name, pred in sides.items():
            preds, seconds = best_time(pred, subset, batch, repeats)
            times[name] = seconds
            extra = {}
            if batch == 32:
                extra["accuracy"] = accuracy(preds, labels)
            records.append(record(DATASET, "minilm", "test", "ms_per_example",
                                  1000 * seconds / len(subset), seconds, backend=name,
                                  batch_size=batch, n=len(subset), repeats=repeats, **extra))
            print(records[-1], flush=True)
        for name in ("onnx-fp32", "onnx-int8", "onnx-int8-per-tensor"):
            records.append(record(DATASET, "minilm", "test", "speedup_vs_pytorch_fp32",
                                  times["pytorch-fp32"] / times[name], backend=name,
                                  batch_size=batch, n=len(subset)))
    acc = {r["backend"]: r["accuracy"] for r in records if "accuracy" in r}
    records.append(record(DATASET, "minilm-onnx-int8", "test", "accuracy_change_points",
                          100 * (acc["onnx-int8"] - acc["pytorch-fp32"]),
                          accuracy_pytorch_fp32=acc["pytorch-fp32"],
                          accuracy_onnx_int8=acc["onnx-int8"],
                          label_agreement=report["onnx_int8"]["label_agreement"],
                          quantization="per-channel weights, pooling and output head in fp32",
                          target="at most 1 point lost"))
    records.append(record(DATASET, "minilm-onnx-int8-per-tensor", "test",
                          "accuracy_change_points",
                          100 * (acc["onnx-int8-per-tensor"] - acc["pytorch-fp32"]),
                          quantization="per-tensor weights, whole graph"))
    return records


def bench_pruning(run: Path, repeats: int, counts: tuple[int, ...]) -> list[dict]:
    """Accuracy and speed with 0, 6, 12, 18 heads removed (importance once, on dev)."""
    import attnpred
    from attnpred.export.checks import test_examples
    from attnpred.export.prune import apply_pruning, choose_heads, head_importance
    base = attnpred.load(run)
    dev, dev_labels = test_examples(run, base, "dev")
    texts, labels = test_examples(run, base, "test")
    start = time.perf_counter()
    importance = head_importance(base, dev, dev_labels)
    importance_s = time.perf_counter() - start
    records = []
    for n in counts:
        pruned = choose_heads(importance, n)
        pred = attnpred.load(run)
        apply_pruning(pred.model, pruned)
        preds, seconds = best_time(pred, texts, 32, repeats)
        records.append(record(DATASET, "minilm-pruned", "test", "accuracy",
                              accuracy(preds, labels), seconds, heads_removed=n,
                              heads_total=sum(len(s) for s in importance),
                              ms_per_example=1000 * seconds / len(texts), batch_size=32,
                              pruned={str(k): v for k, v in pruned.items()},
                              importance_seconds=round(importance_s, 1), n=len(texts)))
        print(records[-1], flush=True)
    return records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", type=Path, default=DEFAULT_RUN, help="MiniLM run (trained "
                    "here when absent)")
    ap.add_argument("--epochs", type=int, default=3, help="training passes when training")
    ap.add_argument("--repeats", type=int, default=3, help="timed passes (best is kept)")
    ap.add_argument("--single", type=int, default=128, help="texts timed at batch size 1")
    ap.add_argument("--prune", default="0,6,12,18", help="heads removed on the curve")
    args = ap.parse_args()
    started = time.time()
    torch.set_num_threads(1)
    run = minilm_run(args.run, args.epochs)
    records = bench_export(run, args.repeats, args.single)
    records += bench_pruning(run, args.repeats, tuple(int(x) for x in args.prune.split(",")))
    trained = json.loads((run / "metrics.json").read_text())["test"]["model"]["accuracy"]
    path = write_results("export", records, started, run=str(run),
                         run_test_accuracy=trained, threads=1,
                         published="ONNX int8 about 3x PyTorch fp32 on short texts with "
                                   "all-MiniLM-L6-v2 (issue 12)")
    print("wrote", path)


if __name__ == "__main__" and os.environ.get("ATTNPRED_TRAIN_ONLY"):
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", type=Path, default=DEFAULT_RUN)
    ap.add_argument("--epochs", type=int, default=3)
    a = ap.parse_args()
    print(json.loads((minilm_run(a.run, a.epochs) / "metrics.json").read_text())["test"])
elif __name__ == "__main__":
    main()
