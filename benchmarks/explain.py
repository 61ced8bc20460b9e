"""Explain: cost of explaining beside predicting, and which explanation agrees with people.

1. Financial PhraseBank: a MiniLM classifier (attention pooling; 6 layers x 12 heads; trained
   on AllAgree here, or an existing run given with --fpb-run) explains 1,000 sentences of
   Sentences_50Agree that are not in the AllAgree training file, with every layer and head,
   rollout and gradient-weighted attention, and writes the HTML report; timed beside
   ``predict`` alone (and with its attention); report size per example.
2. Yelp-HAT (the split and scratch configuration of benchmarks/attention_supervision.py): the
   same timing for 100 test reviews (long inputs), and plausibility on the whole test split
   (AUPRC and top-k token F1 against the human map, scored over whitespace words) of raw
   last-layer attention ([CLS] row, mean over heads), mean over heads and layers, rollout,
   gradient-weighted attention and the pooling attention, for lambda = 0 and the supervised
   run (lambda = 0.5, that benchmark's dev pick), with comprehensiveness and sufficiency
   (ERASER AOPC) of each, beside random attention.

    OMP_NUM_THREADS=1 flock /tmp/attnpred-cpu.lock .venv/bin/python benchmarks/explain.py
        [--fpb-run RUN | --fpb-epochs 3] [--only fpb|yelp] [--quick]

Runs go to $HOME/attnpred-runs/explain (reused when finished). Writes
benchmarks/results/explain.json and, with Chromium installed, docs/explain_report.png.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from common import ROOT, merge_results, record, require_data, write_results

import numpy as np  # noqa: E402
import torch  # noqa: E402

import attnpred  # noqa: E402
from attnpred.data.text import read_examples  # noqa: E402
from attnpred.evaluation.rationales import (faithfulness, plausibility,  # noqa: E402
                                            random_scores)
from attnpred.explain import explain  # noqa: E402
from attnpred.explain.classify import ClassifyExplainer, whitespace_index  # noqa: E402
from attnpred.explain.html import write_report  # noqa: E402

WORK = Path.home() / "attnpred-runs" / "explain"
ALL = ("attention", "head_mean", "head_max", "mean", "rollout", "gradient_layers", "gradient",
       "pooling", "supervised")
# name in the results -> how it is read off an explanation
PLAUSIBILITY = {
    "last_layer_attention": lambda e: e.maps["head_mean"][-1],
    "mean_heads_layers": lambda e: e.maps["mean"],
    "rollout": lambda e: e.maps["rollout"],
    "gradient_weighted": lambda e: e.maps["gradient"],
    "pooling_attention": lambda e: e.maps["pooling"],
}


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def time_explain(predictor, inputs, dataset: str, html: Path) -> tuple[list[dict], list]:
    """predict alone, predict with attention, explain (every method) + HTML; sizes."""
    texts = [x["text"] if isinstance(x, dict) else x for x in inputs]
    predictor.predict(texts[:8])  # warm-up (allocator, eager/SDPA switch)
    explain(predictor, inputs[:8], methods=ALL)
    _, t_pred = timed(lambda: predictor.predict(texts))
    _, t_pred_att = timed(lambda: predictor.predict(texts, return_attention=True))
    ex_plain, t_fwd = timed(lambda: explain(predictor, inputs, methods=[
        m for m in ALL if not m.startswith("gradient")]))
    ex, t_exp = timed(lambda: explain(predictor, inputs, methods=ALL))
    _, t_html = timed(lambda: write_report(ex, html, title=f"attnpred explain: {dataset}"))
    n, size = len(inputs), html.stat().st_size
    common = {"examples": n, "layers": int(ex[0].maps["attention"].shape[0]),
              "heads": int(ex[0].maps["attention"].shape[1]),
              "mean_words": float(np.mean([len(e.words) for e in ex]))}
    return [
        record(dataset, "predict", "explain-input", "seconds", t_pred, **common),
        record(dataset, "predict(return_attention)", "explain-input", "seconds", t_pred_att,
               **common),
        record(dataset, "explain(no gradient)", "explain-input", "seconds", t_fwd, **common),
        record(dataset, "explain(all methods)", "explain-input", "seconds", t_exp, **common),
        record(dataset, "write_report", "explain-input", "seconds", t_html, **common),
        record(dataset, "explain(all methods)+html", "explain-input", "ratio_to_predict",
               (t_exp + t_html) / t_pred, **common),
        record(dataset, "explain(no gradient)+html", "explain-input", "ratio_to_predict",
               (t_fwd + t_html) / t_pred, **common),
        record(dataset, "html report", "explain-input", "bytes_per_example", size / n,
               **common, total_bytes=size),
    ], ex


# ---- Financial PhraseBank ------------------------------------------------------------------

def minilm_config(epochs: int):
    """The demo's MiniLM configuration (attention pooling) on FPB AllAgree."""
    from attnpred.models.hf_classifier import HFClassifierConfig
    from attnpred.resources import resource
    from attnpred.tasks.classify import ClassifyRunConfig
    from attnpred.tasks.classify_data import TextDataConfig
    from attnpred.training.trainer import TrainerConfig
    data = TextDataConfig(train=str(resource("financial_phrasebank", "Sentences_AllAgree.txt")))
    return ClassifyRunConfig(
        model="pretrained", data=data, batch_size=32,
        pretrained=HFClassifierConfig(model_dir="minilm", pooling="attention", max_len=64),
        trainer=TrainerConfig(epochs=epochs, lr=8e-5, patience=2, progress=False,
                              tensorboard=False))


def fpb(epochs: int, n: int, run: Path | None) -> tuple[list[dict], Path]:
    from attnpred.tasks.classify import train_classifier
    if run is None:
        run = WORK / "fpb-minilm"
        if not (run / "metrics.json").exists():
            train_classifier(minilm_config(epochs), run, overwrite=True)
    cfg = json.loads((run / "config.json").read_text())
    model = "minilm" if cfg["model"] == "pretrained" else "scratch"
    folder = require_data("financial_phrasebank")
    seen = {e.text for e in read_examples(folder / "Sentences_AllAgree.txt", format="fpb")}
    rows = [e for e in read_examples(folder / "Sentences_50Agree.txt", format="fpb")
            if e.text not in seen][:n]
    inputs = [{"text": e.text, "label": e.label} for e in rows]
    recs, ex = time_explain(attnpred.load(run), inputs, "financial_phrasebank",
                            WORK / "fpb_report.html")
    acc = float(np.mean([e.label == e.gold_label for e in ex]))
    recs.append(record("financial_phrasebank", model, "50agree-not-allagree", "accuracy",
                       acc, examples=len(ex), epochs=cfg["trainer"]["epochs"], run=str(run)))
    return recs, WORK / "fpb_report.html"


# ---- Yelp-HAT ------------------------------------------------------------------------------

def yelp_runs(files: dict) -> dict[float, Path]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from attention_supervision import run_config
    from attnpred.tasks.classify import train_classifier
    out = {}
    for lam in (0.0, 0.5):
        run = WORK / f"yelp-scratch-lambda{lam:g}"
        if not (run / "metrics.json").exists():
            train_classifier(run_config("scratch", files, lam), run, overwrite=True)
        out[lam] = run
    return out


def rationale_scores(ex, name: str) -> list[float]:
    """A (W,) map summed onto whitespace words (the human map's units)."""
    v = PLAUSIBILITY[name](ex)
    scores = np.zeros(len(ex.text.split()))
    np.add.at(scores, whitespace_index(ex.text, ex.spans), v)
    return scores.tolist()


def yelp_plausibility(run: Path, lam: float, rows: list[dict]) -> list[dict]:
    predictor = attnpred.load(run)
    ex = explain(predictor, rows, methods=ALL)
    human = [e_in["reference"] for e_in in rows]
    words = [e.text.split() for e in ex]
    proba = ClassifyExplainer(predictor, ["pooling"]).predict_proba
    recs = []
    base = {"lambda": lam, "examples": len(ex),
            "notes": "whitespace-word scores (pieces summed); reference = words marked by at "
                     "least half of the annotators"}
    acc = float(np.mean([e.label == e.gold_label for e in ex]))
    recs.append(record("yelp-hat", "scratch", "test", "accuracy", acc, **base))
    maps = {name: [rationale_scores(e, name) for e in ex] for name in PLAUSIBILITY}
    maps["random"] = random_scores([len(w) for w in words])
    for name, scores in maps.items():
        p = plausibility(scores, human)
        f = faithfulness(words, scores, proba)
        for metric, value in (("auprc", p["auprc"]), ("token_f1", p["token_f1"]),
                              ("comprehensiveness", f["comprehensiveness"]),
                              ("sufficiency", f["sufficiency"])):
            recs.append(record("yelp-hat", f"scratch:{name}", "test", metric, value, **base))
    return recs


def yelp(n_timed: int) -> tuple[list[dict], Path]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from attention_supervision import prepare_data
    files = prepare_data(WORK / "yelp-data")
    runs = yelp_runs(files)
    rows = []
    for line in open(files["test"], encoding="utf-8"):
        r = json.loads(line)
        masks = r["rationale"]
        votes = [sum(c) / len(masks) for c in zip(*masks)]
        ref = [int(v >= 0.5 - 1e-9) for v in votes]
        rows.append({"text": r["text"], "label": r["label"], "rationale": ref,
                     "reference": ref})
    recs = []
    for lam, run in runs.items():
        recs += yelp_plausibility(run, lam, rows)
    supervised = attnpred.load(runs[0.5])
    timing, _ = time_explain(supervised, [{k: v for k, v in r.items() if k != "reference"}
                                          for r in rows[:n_timed]], "yelp-hat",
                             WORK / "yelp_report.html")
    recs += timing
    return recs, WORK / "yelp_report.html"


def screenshot(html: Path, png: Path) -> bool:
    """The report's first screen as a PNG, with the system Chromium (skipped without one)."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from browser import new_page, open_browser, skip_reason
    except ImportError:
        return False
    if skip_reason():
        return False
    with open_browser() as ctx:
        page = new_page(ctx)
        page.set_viewport_size({"width": 1100, "height": 760})
        page.goto(html.as_uri())
        page.wait_for_selector(".card")
        png.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(png))
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fpb-epochs", type=int, default=3, help="MiniLM epochs on FPB")
    ap.add_argument("--fpb-run", type=Path, help="an existing FPB classifier run to explain "
                    "(no training)")
    ap.add_argument("--only", choices=("fpb", "yelp"), help="run one part; its records "
                    "replace that part's in the results file")
    ap.add_argument("--quick", action="store_true", help="100 FPB sentences, 20 reviews")
    args = ap.parse_args()
    torch.set_num_threads(1)
    started = time.time()
    WORK.mkdir(parents=True, exist_ok=True)
    recs, extra = [], {"runs": str(WORK), "protocol": "\n".join(__doc__.split("\n\n")[1:3])}
    if args.only in (None, "fpb"):
        fpb_recs, fpb_html = fpb(args.fpb_epochs, 100 if args.quick else 1000, args.fpb_run)
        recs += fpb_recs
        shot = ROOT / "docs" / "explain_report.png"
        if screenshot(fpb_html, shot):
            extra["screenshot"] = str(shot.relative_to(ROOT))
    if args.only in (None, "yelp"):
        recs += yelp(20 if args.quick else 100)[0]
    if args.only is None:
        path = write_results("explain", recs, started, **extra)
    else:
        dataset = "financial_phrasebank" if args.only == "fpb" else "yelp-hat"
        path = merge_results("explain", recs, started, **extra,
                             replaces=lambda r: r["dataset"] == dataset)
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
