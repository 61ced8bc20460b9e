"""Token tagging benchmark (BENCHMARKS.md section 6) -> benchmarks/results/tagging.json.

WNUT-17 (NER, BIO, 6 types): test entity P/R/F1 (seqeval, strict spans) of the MiniLM tagger
and the from-scratch tagger, each with and without a CRF, beside the majority-tag-per-word and
all-'O' baselines. UD English EWT: test UPOS accuracy of both encoders beside the majority
baseline. Throughput: words/s of the MiniLM tagger returning word attention vs a `transformers`
token-classification pipeline (no attention) on the same weights and batch size, fed in the
given order and sorted by length.

Settings are fixed below (common fine-tuning defaults, chosen before any run, not tuned on test);
the best epoch is picked on the dev split (entity F1 for WNUT, accuracy for EWT). Training
wall time is on this machine with one torch thread.

    python benchmarks/tagging.py [--only wnut-minilm,ewt-scratch,throughput] [--epochs N]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from common import merge_results, record, require_data, write_results

import torch

from attnpred.models.tagger import PretrainedTaggerConfig, ScratchTaggerConfig
from attnpred.tasks.rundir import is_complete
from attnpred.tasks.tag import TagDataConfig, TagRunConfig, TagPredictor, train_tagger
from attnpred.training.trainer import TrainerConfig

DATA = {
    "wnut17": dict(train=("wnut17", "wnut17train.conll"), dev=("wnut17", "emerging.dev.conll"),
                   test=("wnut17", "emerging.test.annotated")),
    "ud-ewt": dict(train=("ud_english_ewt", "en_ewt-ud-train.sources.tar.gz"),
                   dev=("ud_english_ewt", "en_ewt-ud-dev.conllu"),
                   test=("ud_english_ewt", "en_ewt-ud-test.conllu")),
}


def minilm(dataset: str, crf: bool, epochs: int) -> TagRunConfig:
    return TagRunConfig(model="pretrained", data=data(dataset), crf=crf,
                        pretrained=PretrainedTaggerConfig(model_dir="minilm", max_len=256),
                        batch_size=16 if dataset == "wnut17" else 32,
                        trainer=TrainerConfig(epochs=epochs, lr=1e-4, warmup_ratio=0.1,
                                              metric="score", progress=False))


def scratch(dataset: str, crf: bool, epochs: int, word_dropout: float = 0.0) -> TagRunConfig:
    return TagRunConfig(model="scratch", data=data(dataset), crf=crf, word_dropout=word_dropout,
                        vocab_size=4000 if dataset == "wnut17" else 8000,
                        scratch=ScratchTaggerConfig(dim=256, heads=4, layers=4, ff_dim=1024,
                                                    dropout=0.2, max_len=256),
                        trainer=TrainerConfig(epochs=epochs, lr=5e-4, warmup_ratio=0.1,
                                              metric="score", progress=False))


# name -> (dataset, builder, crf, epochs); the best epoch on dev is kept. The six runs took
# 53 minutes of one CPU core in all (40 were planned: the scratch runs were slower than estimated).
RUNS = {
    "wnut-minilm": ("wnut17", minilm, False, 6),
    "wnut-minilm-crf": ("wnut17", minilm, True, 6),
    "wnut-scratch": ("wnut17", scratch, False, 15),
    "wnut-scratch-crf": ("wnut17", scratch, True, 15),
    "ewt-scratch": ("ud-ewt", scratch, False, 8),
    "ewt-minilm": ("ud-ewt", minilm, False, 2),
}
# groups of variants of one model -> the test score of the best on dev (none run at present;
# e.g. {"ud-ewt scratch": ("ewt-scratch", "ewt-scratch-wd")} for a word-dropout variant)
DEV_PICKS: dict[str, tuple[str, ...]] = {}


def setting(name: str) -> str:
    cfg = RUNS[name][1](RUNS[name][0], RUNS[name][2], RUNS[name][3])
    return (f"epochs={cfg.trainer.epochs} lr={cfg.trainer.lr} batch={cfg.batch_size} "
            f"word_dropout={cfg.word_dropout}")


def data(name: str) -> TagDataConfig:
    return TagDataConfig(**{k: str(require_data(*v)) for k, v in DATA[name].items()})


def train(name: str, runs: Path, epochs: int | None) -> tuple[dict, float]:
    """Train (or reuse a completed run of) ``name``; return its metrics and training seconds."""
    dataset, builder, crf, default_epochs = RUNS[name]
    run_dir, seconds_file = runs / name, runs / f"{name}.seconds"
    if is_complete(run_dir) and seconds_file.exists():
        print(f"{name}: reusing the completed run in {run_dir}", flush=True)
        return json.loads((run_dir / "metrics.json").read_text()), float(seconds_file.read_text())
    cfg = builder(dataset, crf, epochs or default_epochs)
    start = time.time()
    metrics = train_tagger(cfg, run_dir, overwrite=True)
    seconds = time.time() - start
    seconds_file.write_text(f"{seconds:.1f}\n")
    return metrics, seconds


def records_for(name: str, metrics: dict, seconds: float) -> list[dict]:
    dataset, _, crf, _ = RUNS[name]
    model = name.split("-")[1] + ("+crf" if crf else "")
    kw = {"setting": setting(name)}
    out = []
    for split in ("dev", "test"):
        m = metrics[split]
        if "entities" in m:
            ent = m["entities"]
            out += [record(dataset, model, split, "entity_f1", ent["micro"]["f1"], seconds, **kw),
                    record(dataset, model, split, "entity_precision", ent["micro"]["precision"],
                           **kw),
                    record(dataset, model, split, "entity_recall", ent["micro"]["recall"], **kw),
                    record(dataset, model, split, "entity_macro_f1", ent["macro"]["f1"], **kw)]
            if split == "test":
                out += [record(dataset, model, split, f"f1_{t}", v["f1"], **kw)
                        for t, v in ent["per_type"].items()]
        else:
            out.append(record(dataset, model, split, "accuracy", m["token_accuracy"], seconds,
                              **kw))
        if split == "test":  # the baselines are the same for every model of a dataset
            for base, b in m["baselines"].items():
                key = "entity_f1" if "entity_f1" in b else "accuracy"
                value = b.get("entity_f1", b["token_accuracy"])
                out.append(record(dataset, base, split, key, value))
    return out


def dev_picks(runs: Path) -> list[dict]:
    """For each group of variants: the test score of the one with the best dev score."""
    out = []
    for group, names in DEV_PICKS.items():
        done = [n for n in names if is_complete(runs / n)]
        if len(done) < len(names):
            continue
        scores = {n: json.loads((runs / n / "metrics.json").read_text()) for n in done}
        best = max(done, key=lambda n: scores[n]["dev"].get("entity_f1",
                                                            scores[n]["dev"]["token_accuracy"]))
        dataset, model = group.split()
        test = scores[best]["test"]
        out.append(record(dataset, model, "test", "dev_pick_" + ("entity_f1" if "entity_f1"
                          in test else "accuracy"), test.get("entity_f1",
                                                             test["token_accuracy"]),
                          setting=setting(best), candidates=",".join(names)))
    return out


def throughput(runs: Path, batch_size: int = 32, rounds: int = 3) -> list[dict]:
    """Words/s: the tagger with word attention vs a token-classification pipeline without."""
    from transformers import AutoConfig, AutoModelForTokenClassification, pipeline

    from attnpred.data.conll import read_conll
    run_dir = runs / "wnut-minilm"
    pred = TagPredictor.load(run_dir)
    sentences = [s.words for s in read_conll(require_data(*DATA["wnut17"]["test"]))]
    words = sum(len(s) for s in sentences)
    conf = AutoConfig.from_pretrained(str(run_dir / "encoder"), num_labels=len(pred.labels))
    ref = AutoModelForTokenClassification.from_config(conf, attn_implementation="sdpa")
    ref.base_model.load_state_dict(pred.model.encoder.encoder.state_dict(), strict=False)
    ref.classifier.load_state_dict(pred.model.proj.state_dict())
    ref.eval()
    pipe = pipeline("token-classification", model=ref, tokenizer=pred.tokenizer, device=-1,
                    batch_size=batch_size)
    texts = [" ".join(s) for s in sentences]
    by_length = sorted(texts, key=lambda t: len(pred.tokenizer.tokenize(t)))
    # the tagger sorts its inputs by length into batches; the pipeline batches them in the
    # order given, so it is timed both ways (given order, and sorted by length beforehand)
    sides = {"tagger+attention": lambda: pred.predict(sentences, return_attention=True,
                                                      batch_size=batch_size),
             "hf-pipeline": lambda: pipe(texts),
             "hf-pipeline-length-sorted": lambda: pipe(by_length)}
    times: dict[str, list[float]] = {k: [] for k in sides}
    for k, fn in sides.items():  # warm-up
        fn()
    for _ in range(rounds):  # alternate the sides so both see the same machine load
        for k, fn in sides.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    rate = {k: words / statistics.median(v) for k, v in times.items()}
    setting = f"batch={batch_size} sentences={len(sentences)} words={words}"
    return [record("wnut17", k, "test", "words_per_second", v, setting=setting)
            for k, v in rate.items()] + [
        record("wnut17", "tagger+attention", "test", "speed_ratio_vs_pipeline",
               rate["tagger+attention"] / rate["hf-pipeline"], setting=setting),
        record("wnut17", "tagger+attention", "test", "speed_ratio_vs_sorted_pipeline",
               rate["tagger+attention"] / rate["hf-pipeline-length-sorted"], setting=setting)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=",".join(list(RUNS) + ["throughput"]),
                    help="comma list of runs (and 'throughput')")
    ap.add_argument("--epochs", type=int, default=None, help="override (quick checks)")
    ap.add_argument("--runs", default=os.path.expanduser("~/attnpred-runs/tagging"))
    ap.add_argument("--fresh", action="store_true",
                    help="write a new results file instead of merging into the old one "
                         "(completed runs are reused, not retrained)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    started, everything = time.time(), []
    for name in args.only.split(","):
        if name == "throughput":
            new = throughput(runs)
        else:
            metrics, seconds = train(name, runs, args.epochs)
            new = records_for(name, metrics, seconds)
        everything += new
        if not args.fresh:  # each part is saved as soon as it is done
            merge_results("tagging", new, started, replaces=lambda r: r["metric"] in (
                "words_per_second", "speed_ratio_vs_pipeline", "speed_ratio_vs_sorted_pipeline")
                and name == "throughput")
        for r in new:
            print(json.dumps(r), flush=True)
    picks = dev_picks(runs)
    for r in picks:
        print(json.dumps(r), flush=True)
    if args.fresh:  # a dataset's baselines come with each of its runs: keep one copy
        unique = {json.dumps(r, sort_keys=True): r for r in everything + picks}
        write_results("tagging", list(unique.values()), started)
    elif picks:
        merge_results("tagging", picks, started)


if __name__ == "__main__":
    main()
