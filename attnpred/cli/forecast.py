"""Forecasting's part of the command line: its train flags and its predict/evaluate options.

The commands themselves are generic (``attnpred.cli.main``); help comes from the config
dataclasses' field docstrings.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from attnpred.io import atomic_write_text

# flag -> dotted field of ForecastRunConfig
TRAIN_FLAGS = {
    "train": "data.path", "date_column": "data.date_column", "columns": "data.columns",
    "features": "data.features", "target": "data.target", "input_len": "data.input_len",
    "horizon": "data.horizon", "split": "data.split", "ratios": "data.ratios",
    "model": "model",
    "patch_len": "forecaster.patch_len", "stride": "forecaster.stride",
    "d_model": "forecaster.d_model", "heads": "forecaster.heads",
    "ff_dim": "forecaster.ff_dim", "layers": "forecaster.layers",
    "channel_layers": "forecaster.channel_layers", "dropout": "forecaster.dropout",
    "head_dropout": "forecaster.head_dropout", "revin": "forecaster.revin",
    "linear_skip": "forecaster.linear_skip", "skip_anchor": "forecaster.skip_anchor",
    "combine": "forecaster.combine",
    "ridge": "forecaster.ridge", "ridge_grid": "forecaster.ridge_grid",
    "quantiles": "forecaster.quantiles",
    "period": "baseline.period", "kernel": "baseline.kernel",
    "epochs": "trainer.epochs", "max_steps": "trainer.max_steps", "lr": "trainer.lr",
    "weight_decay": "trainer.weight_decay", "patience": "trainer.patience",
    "seed": "trainer.seed", "keep_checkpoint": "trainer.keep_checkpoint",
    "batch_size": "batch_size", "windows_per_epoch": "windows_per_epoch",
    "path_rule": "path_rule",
}


def _plot_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plot", help="draw the forecast, truth and attention as PNG here")
    parser.add_argument("--channel", help="target channel for --plot (default: the first)")


def add_predict_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--end", type=int, help="forecast after this many rows (default: all)")
    parser.add_argument("--attention-output", help="write the attention over the history as "
                        "CSV here")
    _plot_options(parser)


def predict_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"end": args.end}




def after_predict(results: Sequence[Any], args: argparse.Namespace) -> None:
    forecast = results[0]
    if args.attention_output and forecast.attention is not None:
        atomic_write_text(args.attention_output, forecast.attention_frame().to_csv(index=False))
    if args.plot:
        _plot(forecast, args.channel, args.plot)


def add_evaluate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--split", default="test", choices=("train", "val", "test"),
                        help="which part of the series to score")
    parser.add_argument("--no-baselines", action="store_true", help="skip the baselines")
    parser.add_argument("--window", type=int, default=0, help="window index for --plot")
    _plot_options(parser)


def evaluate_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"split": args.split, "baselines": not args.no_baselines}


def after_evaluate(result: dict[str, Any], args: argparse.Namespace, predictor: Any) -> None:
    if args.plot:
        series, end = predictor.window_end(args.input, args.split, args.window)
        _plot(predictor.predict(series, end=end, return_attention=True)[0], args.channel,
              args.plot)


def _plot(forecast: Any, channel: str | None, path: str) -> None:
    from attnpred.explain.ts_plot import plot_forecast
    plot_forecast(forecast, channel or forecast.columns[0], path)
    print(f"plot: {path}", file=sys.stderr)
