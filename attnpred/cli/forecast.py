"""``attnpred train --task forecast``, ``evaluate RUN`` and ``predict RUN`` for forecasting runs.

Each command parses its flags and calls one library function in ``attnpred.tasks.forecast``.
The train flags are the config fields; their help is the docstring under each field.
"""
from __future__ import annotations

import argparse
import ast
import inspect
import json
import sys
import typing
from functools import lru_cache
from typing import Any

from attnpred.config import config_from_dict, config_to_dict, load_config
from attnpred.errors import AttnpredError
from attnpred.io import atomic_write_text

# (section of ForecastRunConfig or "" for top level, field) exposed as --field-name
TRAIN_FLAGS = [
    ("data", "path"), ("data", "date_column"), ("data", "columns"), ("data", "features"),
    ("data", "target"), ("data", "input_len"), ("data", "horizon"), ("data", "split"),
    ("data", "ratios"), ("", "model"),
    ("forecaster", "patch_len"), ("forecaster", "stride"), ("forecaster", "d_model"),
    ("forecaster", "heads"), ("forecaster", "ff_dim"), ("forecaster", "layers"),
    ("forecaster", "channel_layers"), ("forecaster", "dropout"),
    ("forecaster", "head_dropout"), ("forecaster", "revin"), ("forecaster", "linear_skip"),
    ("forecaster", "skip_anchor"), ("forecaster", "ridge"), ("forecaster", "ridge_grid"),
    ("baseline", "period"), ("baseline", "kernel"),
    ("trainer", "epochs"), ("trainer", "lr"), ("trainer", "weight_decay"),
    ("trainer", "patience"), ("trainer", "seed"), ("trainer", "device"),
    ("", "batch_size"), ("", "windows_per_epoch"),
]


@lru_cache(maxsize=None)
def field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of a dataclass."""
    tree = ast.parse(inspect.getsource(cls))
    body, docs = tree.body[0].body, {}
    for stmt, nxt in zip(body, body[1:]):
        if isinstance(stmt, ast.AnnAssign) and isinstance(nxt, ast.Expr) \
                and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
            docs[stmt.target.id] = nxt.value.value.strip()
    return docs


def _section_class(section: str) -> type:
    from attnpred.tasks.forecast import ForecastRunConfig
    if not section:
        return ForecastRunConfig
    return typing.get_type_hints(ForecastRunConfig)[section]


def _is_tuple(section: str, name: str) -> bool:
    return typing.get_origin(typing.get_type_hints(_section_class(section))[name]) is tuple


def _add_field(parser: argparse.ArgumentParser, section: str, name: str) -> None:
    cls = _section_class(section)
    hint = typing.get_type_hints(cls)[name]
    flag = "--" + name.replace("_", "-")
    if name == "path":
        flag = "--data"
    help_text = field_docs(cls).get(name, "")
    dest = f"{section}.{name}" if section else name
    if hint is bool:
        parser.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction,
                            default=None, help=help_text)
    elif _is_tuple(section, name):
        parser.add_argument(flag, dest=dest, default=None, help=help_text + " (comma list)")
    else:
        parser.add_argument(flag, dest=dest, type=hint, default=None, help=help_text)


def _tuple_value(section: str, name: str, text: str) -> list[Any]:
    kind = typing.get_args(typing.get_type_hints(_section_class(section))[name])[0]
    try:
        return [kind(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        raise AttnpredError(f"expected a comma list of {kind.__name__}", field=name) from None


def train(argv: list[str]) -> None:
    """Train a forecaster (the attention model or a baseline) into a run directory."""
    from attnpred.tasks.forecast import ForecastRunConfig, train_forecast
    parser = argparse.ArgumentParser(prog="attnpred train --task forecast",
                                     description=train.__doc__)
    parser.add_argument("--out", required=True, help="the run directory to write")
    parser.add_argument("--config", help="a JSON run config; flags override its fields")
    for section, name in TRAIN_FLAGS:
        _add_field(parser, section, name)
    args = vars(parser.parse_args(argv))
    base = config_to_dict(load_config(ForecastRunConfig, args["config"]) if args["config"]
                          else ForecastRunConfig())
    for section, name in TRAIN_FLAGS:
        value = args[f"{section}.{name}" if section else name]
        if value is None:
            continue
        if isinstance(value, str) and _is_tuple(section, name):
            value = _tuple_value(section, name, value)
        (base[section] if section else base)[name] = value
    if not base["data"]["path"]:
        raise AttnpredError("missing --data (a CSV or Parquet file)", field="--data")
    cfg = config_from_dict(ForecastRunConfig, base, source="command line")
    metrics = train_forecast(cfg, args["out"])
    print(_summary(metrics["test"], metrics["baselines"], "test"))
    print(f"run directory: {args['out']}")


def _summary(model: dict[str, Any], baselines: dict[str, Any], split: str) -> str:
    rows = [("model", model)] + list(baselines.items())
    lines = [f"{split} ({model['windows']} windows)   mse     mae   mse_orig  mae_orig"]
    for name, m in rows:
        lines.append(f"{name:<16}{m['mse']:8.4f}{m['mae']:8.4f}{m['mse_original']:10.4g}"
                     f"{m['mae_original']:10.4g}")
    return "\n".join(lines)


def evaluate(run_dir: str, argv: list[str]) -> None:
    """Score a forecasting run on every window of a split, beside Repeat and seasonal naive."""
    from attnpred.tasks.forecast import ForecastPredictor
    parser = argparse.ArgumentParser(prog="attnpred evaluate RUN", description=evaluate.__doc__)
    parser.add_argument("--input", help="series to score (default: the training file)")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"),
                        help="which part of the series to score")
    parser.add_argument("--no-baselines", action="store_true", help="skip the baselines")
    parser.add_argument("--output", help="write the metrics as JSON here")
    parser.add_argument("--plot", help="draw one window's overlay as PNG here")
    parser.add_argument("--window", type=int, default=0, help="window index for --plot")
    parser.add_argument("--channel", help="target channel for --plot (default: the first)")
    args = parser.parse_args(argv)
    predictor = ForecastPredictor.load(run_dir)
    result = predictor.evaluate(args.input, args.split, baselines=not args.no_baselines)
    print(_summary(result[args.split], result.get("baselines", {}), args.split))
    if args.output:
        atomic_write_text(args.output, json.dumps(result, indent=2) + "\n")
    if args.plot:
        series, end = predictor.window_end(args.input, args.split, args.window)
        _plot(predictor.predict(series, end=end), args.channel, args.plot)


def _plot(forecast: Any, channel: str | None, path: str) -> None:
    from attnpred.explain.ts_plot import plot_forecast
    plot_forecast(forecast, channel or forecast.columns[0], path)
    print(f"plot: {path}", file=sys.stderr)


def predict(run_dir: str, argv: list[str]) -> None:
    """Forecast the H rows after the last row of a series (with their dates and attention)."""
    from attnpred.tasks.forecast import ForecastPredictor
    parser = argparse.ArgumentParser(prog="attnpred predict RUN", description=predict.__doc__)
    parser.add_argument("--input", required=True, help="CSV/Parquet series with the run's "
                        "date column and channels")
    parser.add_argument("--format", default="csv", choices=("csv", "json"), help="output format")
    parser.add_argument("--output", help="write the forecast here (default: standard output)")
    parser.add_argument("--attention", help="with --format csv: write the attention over the "
                        "history as CSV here")
    parser.add_argument("--no-attention", action="store_true", help="leave attention out")
    parser.add_argument("--end", type=int, help="forecast after this many rows "
                        "(default: all of them)")
    parser.add_argument("--plot", help="draw the overlay as PNG here")
    parser.add_argument("--channel", help="target channel for --plot (default: the first)")
    args = parser.parse_args(argv)
    predictor = ForecastPredictor.load(run_dir)
    want_attention = not args.no_attention
    forecast = predictor.predict(args.input, end=args.end, return_attention=want_attention)
    if args.format == "json":
        text = json.dumps(forecast.to_dict(), indent=2) + "\n"
    else:
        text = forecast.to_frame().to_csv(index=False)
        if args.attention and want_attention:
            atomic_write_text(args.attention, forecast.attention_frame().to_csv(index=False))
    if args.output:
        atomic_write_text(args.output, text)
    else:
        sys.stdout.write(text)
    if args.plot:
        _plot(forecast, args.channel, args.plot)
