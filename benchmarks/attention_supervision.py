"""Attention supervision on Yelp-HAT (BENCHMARKS.md section 2).

For the MiniLM adapter and the from-scratch classifier (both with an attention-pooling head,
whose attention is supervised and reported): accuracy, plausibility against the human map
(AUPRC, top-k token F1, IOU-F1) and faithfulness (comprehensiveness, sufficiency, AOPC over
{1, 5, 10, 20, 50}%) for lambda = 0 and supervised attention at a few lambdas; rationales on
10%, 25% and 100% of the training reviews; the scratch model with and without masked-token
pretraining; both models with and without self-training; beside uniform and random attention and the
human ceiling (each annotator against the others).

The lambda used for the 10% / 25% runs is picked on dev: the highest dev AUPRC among the
supervised lambdas whose dev accuracy is within 1 point of lambda = 0 (else the most accurate).

    nice -n 10 .venv/bin/python benchmarks/attention_supervision.py [--only scratch|minilm]
        [--fresh]

Runs go to runs/attention_supervision/; a finished run (metrics.json) is reused on a rerun
unless --fresh. Writes benchmarks/results/attention_supervision.json and .png.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path

from common import RESULTS, ROOT, merge_results, record, require_data, write_results

import torch  # noqa: E402

from attnpred.data.splits import stratified_split  # noqa: E402
from attnpred.models.classifier import ClassifierConfig  # noqa: E402
from attnpred.models.hf_classifier import HFClassifierConfig  # noqa: E402
from attnpred.supervision.config import SupervisionConfig  # noqa: E402
from attnpred.supervision.gold import read_yelp_hat  # noqa: E402
from attnpred.tasks.pretrain import MLMConfig, pretrain_mlm  # noqa: E402
from attnpred.tasks.self_training import SelfTrainingConfig, self_train  # noqa: E402
from attnpred.tasks.classify import ClassifyRunConfig, train_classifier  # noqa: E402
from attnpred.tasks.classify_data import TextDataConfig  # noqa: E402
from attnpred.training.trainer import TrainerConfig  # noqa: E402

DATASET = "yelp-hat"
FILES = ["ham_part1(50words).csv", "ham_part6(100words).csv", "ham_part7.csv"]
WORK = ROOT / "runs" / "attention_supervision"
SEED = 13
LAMBDAS = {"scratch": (0.0, 0.5, 2.0, 8.0), "minilm": (0.0, 1.0, 4.0)}
FRACTIONS = (0.1, 0.25)
FRACTION_SCALES = (1.0, 4.0)
"""Fewer rationales: lambda = the full-data pick times each scale, the better one picked on dev."""
MODEL_METRICS = ("auprc", "token_f1", "iou_f1", "auprc_union", "token_f1_union",
                 "iou_f1_union", "comprehensiveness", "sufficiency")


# ---- data ---------------------------------------------------------------------------------

def write_jsonl(path: Path, rows: list[dict]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def prepare_data(folder: Path) -> dict[str, str]:
    """Yelp-HAT reviews split 80/10/10 by unique text (stratified, seeded) as JSONL files
    with every annotator's mask under 'rationale'; plus a 25%-labelled subset and the rest
    as unlabelled text for self-training."""
    rats = read_yelp_hat([require_data("yelp_hat", f) for f in FILES])
    split = stratified_split([r.label for r in rats], test=0.1, dev=1 / 9, seed=SEED)
    rows = [{"text": r.text, "label": r.label, "rationale": r.masks} for r in rats]
    files = {part: write_jsonl(folder / f"{part}.jsonl", [rows[i] for i in getattr(split, part)])
             for part in ("train", "dev", "test")}
    train = [rows[i] for i in split.train]
    labelled = set(random.Random(SEED).sample(range(len(train)), round(0.25 * len(train))))
    files["train25"] = write_jsonl(folder / "train25.jsonl",
                                   [r for i, r in enumerate(train) if i in labelled])
    files["unlabelled"] = write_jsonl(folder / "unlabelled.jsonl",
                                      [{"text": r["text"]} for i, r in enumerate(train)
                                       if i not in labelled])
    files["raw"] = write_jsonl(folder / "train_text.jsonl", [{"text": r["text"]} for r in train])
    files["sizes"] = {p: len(getattr(split, p)) for p in ("train", "dev", "test")}
    return files


# ---- configurations -------------------------------------------------------------------------

def run_config(kind: str, files: dict, weight: float, fraction: float = 1.0,
               train: str = "train", init_from: str = "") -> ClassifyRunConfig:
    data = TextDataConfig(train=files[train], dev=files["dev"], test=files["test"])
    sup = SupervisionConfig(weight=weight, target="pooling", loss="ce", fraction=fraction)
    if kind == "minilm":
        return ClassifyRunConfig(
            model="pretrained", data=data, supervision=sup, batch_size=16, eval_batch_size=32,
            pretrained=HFClassifierConfig(model_dir="minilm", pooling="attention", max_len=256),
            trainer=TrainerConfig(epochs=3, lr=1e-4, seed=SEED, progress=False,
                                  tensorboard=False))
    return ClassifyRunConfig(
        model="scratch", data=data, supervision=sup, batch_size=32, vocab_size=8000,
        init_from=init_from,
        scratch=ClassifierConfig(dim=128, heads=4, layers=2, ff_dim=256, max_len=256,
                                 pooling="attention", dropout=0.1),
        trainer=TrainerConfig(epochs=15, lr=1e-3, seed=SEED, progress=False, tensorboard=False))


def mlm_config(files: dict) -> MLMConfig:
    return MLMConfig(texts=files["raw"], vocab_size=8000, batch_size=32, seed=SEED,
                     model=ClassifierConfig(dim=128, heads=4, layers=2, ff_dim=256, max_len=256),
                     trainer=TrainerConfig(epochs=30, lr=1e-3, seed=SEED, progress=False,
                                           tensorboard=False, metric="mlm_loss", mode="min"))


# ---- running, with reuse of finished runs ------------------------------------------------

def timed_run(run_dir: Path, train) -> tuple[dict, float]:
    """(metrics, seconds): reuse a finished run, else train it."""
    done, clock = run_dir / "metrics.json", run_dir / "bench_seconds.json"
    if done.exists() and clock.exists():
        return json.loads(done.read_text()), json.loads(clock.read_text())["seconds"]
    t0 = time.time()
    out_dir = train()
    seconds = time.time() - t0
    run_dir.mkdir(parents=True, exist_ok=True)
    clock.write_text(json.dumps({"seconds": seconds}))
    return json.loads((Path(out_dir or run_dir) / "metrics.json").read_text()), seconds


def train_one(cfg: ClassifyRunConfig, run_dir: Path):
    """A callable that trains the run and returns its directory."""
    def go() -> Path:
        train_classifier(cfg, run_dir, overwrite=True)
        return run_dir
    return go


def run_records(name: str, metrics: dict, seconds: float, **extra) -> list[dict]:
    """Records of one run: accuracy, macro-F1 and the rationale metrics, dev and test."""
    out = []
    for split in ("dev", "test"):
        res = metrics[split]
        rat = res.get("rationales", {}).get("model", {})
        out.append(record(DATASET, name, split, "accuracy", res["model"]["accuracy"],
                          seconds, **extra))
        out.append(record(DATASET, name, split, "macro_f1", res["model"]["macro_f1"],
                          seconds, **extra))
        out += [record(DATASET, name, split, m, rat[m], seconds, **extra)
                for m in MODEL_METRICS if m in rat]
    return out


FAITHFULNESS = ("comprehensiveness", "sufficiency")


def baseline_records(metrics: dict, scored_with: str, plausibility: bool = True) -> list[dict]:
    """Uniform, random and human on test; random faithfulness is measured on the model
    named by ``scored_with`` (the attention map is random, the predictions are the model's)."""
    rat = metrics["test"]["rationales"]
    out = [record(DATASET, "majority", "test", "accuracy",
                  metrics["test"]["majority"]["accuracy"])] if plausibility else []
    for name in ("uniform", "random", "human"):
        for m in MODEL_METRICS:
            if m not in rat.get(name, {}):
                continue
            if m in FAITHFULNESS:
                out.append(record(DATASET, name, "test", m, rat[name][m],
                                  scored_with=scored_with))
            elif plausibility:
                out.append(record(DATASET, name, "test", m, rat[name][m]))
    return out


def value(records: list[dict], model: str, split: str, metric: str, **match) -> float:
    for r in records:
        if "self_training_round" in r and "self_training_round" not in match:
            continue
        if (r["model"], r["split"], r["metric"]) == (model, split, metric) and all(
                r.get(k) == v for k, v in match.items()):
            return r["value"]
    raise KeyError((model, split, metric, match))


def pick_lambda(records: list[dict], model: str, lambdas, fraction: float = 1.0) -> float:
    """Highest dev AUPRC among supervised lambdas (at ``fraction``) whose dev accuracy is
    within 1 point of lambda=0's (all rationales); else the most accurate."""
    base = value(records, model, "dev", "accuracy", **{"lambda": 0.0, "fraction": 1.0})
    sup = [lam for lam in lambdas if lam > 0]
    dev = lambda lam, metric: value(records, model, "dev", metric,  # noqa: E731
                                    **{"lambda": lam, "fraction": fraction})
    ok = [lam for lam in sup if dev(lam, "accuracy") >= base - 0.01]
    if ok:
        return max(ok, key=lambda lam: dev(lam, "auprc"))
    return max(sup, key=lambda lam: dev(lam, "accuracy"))


# ---- experiments --------------------------------------------------------------------------

def lambda_and_fraction_runs(kind: str, name: str, files: dict, records: list, save,
                             init_from: str = "", fractions=FRACTIONS,
                             lambdas: tuple[float, ...] | None = None) -> float:
    """lambda sweep on all rationales, then the dev-picked lambda on fewer rationales."""
    lambdas = lambdas or LAMBDAS[kind]
    for lam in lambdas:
        run_dir = WORK / f"{name}_lambda{lam:g}"
        metrics, sec = timed_run(run_dir, train_one(
            run_config(kind, files, lam, init_from=init_from), run_dir))
        records += run_records(name, metrics, sec, **{"lambda": lam, "fraction": 1.0})
        if lam == 0 and name in ("minilm", "scratch"):
            records += baseline_records(metrics, scored_with=f"{name} lambda=0",
                                        plausibility=not any(r["model"] == "uniform"
                                                             for r in records))
        save()
    best = pick_lambda(records, name, lambdas)
    picks = {"1.0": best}
    for frac in fractions:
        candidates = tuple(best * scale for scale in FRACTION_SCALES)
        for lam in candidates:
            run_dir = WORK / f"{name}_lambda{lam:g}_fraction{frac:g}"
            metrics, sec = timed_run(run_dir, train_one(
                run_config(kind, files, lam, frac, init_from=init_from), run_dir))
            records += run_records(name, metrics, sec, **{"lambda": lam, "fraction": frac})
            save()
        picks[str(frac)] = pick_lambda(records, name, candidates, frac)
    return picks


def mlm_runs(files: dict, best: float, records: list, save) -> None:
    """Pretrain on the training reviews' text; fine-tune at lambda 0 and the scratch pick."""
    pre_dir = WORK / "mlm_pretraining"
    if not (pre_dir / "metrics.json").exists():
        t0 = time.time()
        m = pretrain_mlm(mlm_config(files), pre_dir, overwrite=True)
        m["seconds"] = time.time() - t0
        (pre_dir / "metrics.json").write_text(json.dumps(m))
    pre = json.loads((pre_dir / "metrics.json").read_text())
    records.append(record(DATASET, "scratch-mlm-pretraining", "dev", "mlm_loss",
                          pre["mlm_loss"], pre.get("seconds"),
                          notes="held-out 5% of the training reviews"))
    lambda_and_fraction_runs("scratch", "scratch+mlm", files, records, save,
                             init_from=str(pre_dir), fractions=(), lambdas=(0.0, best))


def self_training_runs(kind: str, files: dict, best: float, records: list, save) -> None:
    """Labels on 25% of the training reviews, the other 75% unlabelled; 2 rounds."""
    st = SelfTrainingConfig(rounds=2, threshold=0.9, balance=True)
    for lam in (0.0, best):
        parent = WORK / f"{kind}_selftrain_lambda{lam:g}"
        cfg = run_config(kind, files, lam, train="train25")
        unlabelled = [json.loads(x)["text"] for x in open(files["unlabelled"])]
        final = parent / f"round{st.rounds}"
        if not (final / "metrics.json").exists():
            t0 = time.time()
            self_train(cfg, st, parent, texts=unlabelled)
            (parent / "bench_seconds.json").write_text(json.dumps({"seconds": time.time() - t0}))
        seconds = json.loads((parent / "bench_seconds.json").read_text())["seconds"]
        summary = json.loads((parent / "self_training.json").read_text())
        for rnd in summary["rounds"]:
            metrics = json.loads((parent / f"round{rnd['round']}" / "metrics.json").read_text())
            records += run_records(kind, metrics, seconds, **{
                "lambda": lam, "fraction": 1.0, "labelled_fraction": 0.25,
                "self_training_round": rnd["round"], "pseudo_labels": rnd["pseudo_labels"],
                "notes": "labels and rationales on 25% of the training reviews, the other 75% "
                         "as unlabelled text; round 0 = no self-training"})
        save()


# ---- plot ---------------------------------------------------------------------------------

def plot(records: list[dict], path: Path, selected: dict | None = None) -> None:
    """Accuracy against AUPRC over lambda (all rationales), and the dev-picked lambda on 10%
    and 25% of the rationales (hollow markers)."""
    selected = selected or {}
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for name, marker in (("minilm", "o"), ("scratch", "s"), ("scratch+mlm", "^")):
        pts = sorted({(r["lambda"], r["value"]) for r in records
                      if r["model"] == name and r["split"] == "test" and r["metric"] == "auprc"
                      and r.get("fraction") == 1.0 and "self_training_round" not in r})
        if not pts:
            continue
        acc = [value(records, name, "test", "accuracy", **{"lambda": lam, "fraction": 1.0})
               for lam, _ in pts]
        ax.plot([a for _, a in pts], acc, marker=marker, label=name)
        for (lam, a), y in zip(pts, acc):
            ax.annotate(f"λ={lam:g}", (a, y), textcoords="offset points", xytext=(4, 4),
                        fontsize=8)
        color = ax.lines[-1].get_color()
        for frac, lam in (selected.get(name) or {}).items():
            if float(frac) == 1.0:
                continue
            f = {"lambda": lam, "fraction": float(frac)}
            a, y = (value(records, name, "test", m, **f) for m in ("auprc", "accuracy"))
            ax.scatter([a], [y], marker=marker, facecolors="none", edgecolors=color)
            ax.annotate(f"{float(frac):.0%} rationales", (a, y), textcoords="offset points",
                        xytext=(4, -10), fontsize=7, color=color)
    for name, style in (("uniform", ":"), ("random", "-."), ("human", "--")):
        try:
            ax.axvline(value(records, name, "test", "auprc"), color="grey", linestyle=style,
                       label=f"{name} AUPRC")
        except KeyError:
            pass
    ax.set_xlabel("AUPRC of the attention against the human map (test)")
    ax.set_ylabel("accuracy (test)")
    ax.set_title("Yelp-HAT: attention supervision trade-off over λ")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=("scratch", "minilm"), help="run one model family")
    ap.add_argument("--fresh", action="store_true", help="retrain every run")
    ap.add_argument("--plot-only", action="store_true",
                    help="redraw the PNG from results/attention_supervision.json")
    args = ap.parse_args()
    if args.plot_only:
        data = json.loads((RESULTS / "attention_supervision.json").read_text())
        return plot(data["records"], RESULTS / "attention_supervision.png",
                    data.get("selected_lambda"))
    torch.set_num_threads(1)
    started = time.time()
    if args.fresh and WORK.exists():
        shutil.rmtree(WORK)
    files = prepare_data(WORK / "data")
    records: list[dict] = []
    notes = {"split": files["sizes"], "protocol": "BENCHMARKS.md section 2; reference map = "
             "words marked by at least half of the annotators (*_union: any annotator); "
             "attention = the attention-pooling head, sub-words summed to words; lambda "
             "picked on dev per fraction (see pick_lambda; selected_lambda: fraction -> "
             "lambda)", "selected_lambda": {},
             "timing": "finished runs under runs/attention_supervision are reused, so "
                       "wall_seconds covers only this invocation; each record's seconds is "
                       "the training + evaluation time of its own run"}
    def save() -> None:
        """The whole file on a full run; with --only, merged into the file on disk (re-read
        just before writing, so a run of the other family beside this one keeps its records;
        the family's own old records all go, so none from an earlier protocol or code stay)."""
        if args.only is None:
            write_results("attention_supervision", records, started, **notes)
        else:
            merge_results("attention_supervision", records, started, **notes,
                          replaces=lambda r: r["model"].startswith(args.only))
    if args.only in (None, "scratch"):
        picks = lambda_and_fraction_runs("scratch", "scratch", files, records, save)
        notes["selected_lambda"]["scratch"] = picks
        best = picks["1.0"]
        mlm_runs(files, best, records, save)
        self_training_runs("scratch", files, best, records, save)
    if args.only in (None, "minilm"):
        picks = lambda_and_fraction_runs("minilm", "minilm", files, records, save)
        notes["selected_lambda"]["minilm"] = picks
        self_training_runs("minilm", files, picks["1.0"], records, save)
    save()
    plot(records, RESULTS / "attention_supervision.png", notes["selected_lambda"])
    print(f"wrote {RESULTS / 'attention_supervision.json'} and the plot", file=sys.stderr)


if __name__ == "__main__":
    main()
