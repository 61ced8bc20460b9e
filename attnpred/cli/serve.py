"""Deployment commands: ``serve``, ``export``, ``prune`` and ``monitor``.

Each parses its flags (help from the config dataclasses' field docstrings) and calls one library
function. ``attnpred.cli.main`` dispatches to ``serve(argv)``, ``export(argv)``, ``prune(argv)``
and ``monitor(argv)``; ``python -m attnpred.cli.serve COMMAND ...`` runs them directly.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import typing
from typing import Any

from attnpred.config import config_from_dict, read_config_dict
from attnpred.errors import AttnpredError

try:
    from attnpred.config import field_docs
except ImportError:  # before the CLI refactor lands: the same docstring reader, here
    import ast
    import inspect

    def field_docs(cls: type) -> dict[str, str]:
        body, docs = ast.parse(inspect.getsource(cls)).body[0].body, {}
        for stmt, nxt in zip(body, body[1:]):
            if isinstance(stmt, ast.AnnAssign) and isinstance(nxt, ast.Expr) \
                    and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
                docs[stmt.target.id] = " ".join(nxt.value.value.split())
        return docs


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> typing.NoReturn:  # one line, exit 2 (like AttnpredError)
        raise AttnpredError(message)


def _config_flags(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...]) -> None:
    """One flag per config field, help from its docstring; unset flags keep the default."""
    docs, hints = field_docs(cls), typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        hint = hints[f.name]
        if hint is bool:
            parser.add_argument(flag, action="store_true", default=None, help=docs.get(f.name))
        elif typing.get_origin(hint) is list:
            parser.add_argument(flag, nargs="+", default=None, help=docs.get(f.name))
        else:
            base = next((t for t in (int, float, str) if t == hint or t in typing.get_args(hint)),
                        str)
            parser.add_argument(flag, type=base, default=None, help=docs.get(f.name))


def _config(cls: type, args: argparse.Namespace, **fixed: Any) -> Any:
    data = read_config_dict(args.config)
    for f in dataclasses.fields(cls):
        value = getattr(args, f.name, None)
        if value is not None:
            data[f.name] = value
    data.update({k: v for k, v in fixed.items() if v is not None})
    return config_from_dict(cls, data, source=args.config or "<flags>")


def serve(argv: list[str]) -> None:
    """attnpred serve RUN [RUN ...]: the HTTP server (see attnpred.serve)."""
    from attnpred.serve.config import ServeConfig
    parser = _Parser(prog="attnpred serve", description="Serve runs over HTTP: POST "
                     "/v1/predict, /healthz, /readyz, /metrics, a web page at /. Stops "
                     "gracefully on SIGTERM.")
    parser.add_argument("runs", nargs="*", metavar="RUN", help="run directories (DIR or "
                        "NAME=DIR)")
    parser.add_argument("--config", help="a JSON file of ServeConfig fields (flags win)")
    _config_flags(parser, ServeConfig, skip=("runs",))
    args = parser.parse_args(argv)
    cfg = _config(ServeConfig, args, runs=args.runs or None)
    from attnpred.serve.server import run_server
    run_server(cfg)


def monitor(argv: list[str]) -> None:
    """attnpred monitor RUN --input stream.jsonl --rules rules.json: replay a stream."""
    parser = _Parser(prog="attnpred monitor", description="Predict a JSONL stream in order "
                     "(one {\"text\": ...} per line) and evaluate alert rules on it; alerts "
                     "go to the rules file's sinks and, with --alerts, to a JSONL file.")
    parser.add_argument("run", metavar="RUN")
    parser.add_argument("--input", required=True, help="JSONL stream, one object per line")
    parser.add_argument("--rules", required=True, help="alert rules (JSON)")
    parser.add_argument("--field", default="text", help="the input field of each line "
                        "(default text)")
    parser.add_argument("--alerts", help="also append alerts to this JSONL file")
    parser.add_argument("--batch-size", type=int, default=64, help="inputs per forward")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        raise AttnpredError("must be >= 1", field="--batch-size")
    from attnpred.serve.replay import replay
    summary = replay(args.run, args.input, args.rules, field=args.field,
                     alerts_file=args.alerts, batch_size=args.batch_size)
    print(json.dumps(summary))


def export(argv: list[str]) -> None:
    """attnpred export RUN --format onnx [--quantize int8]."""
    parser = _Parser(prog="attnpred export", description="Export a classification run to "
                     "ONNX (logits and attention outputs) into RUN/onnx, check parity with "
                     "PyTorch on the run's test split and report accuracy before and after.")
    parser.add_argument("run", metavar="RUN")
    parser.add_argument("--format", default="onnx", choices=["onnx"])
    parser.add_argument("--quantize", choices=["int8"], help="also write a dynamic int8 model")
    parser.add_argument("--max-diff", type=float, default=1e-3, help="largest allowed max "
                        "absolute difference of probabilities vs PyTorch (default 1e-3)")
    parser.add_argument("--limit", type=int, help="check at most this many test examples")
    args = parser.parse_args(argv)
    if args.max_diff <= 0:
        raise AttnpredError("must be > 0", field="--max-diff")
    if args.limit is not None and args.limit < 1:
        raise AttnpredError("must be >= 1", field="--limit")
    from attnpred.export.onnx import export_run
    report = export_run(args.run, quantize=args.quantize, max_diff=args.max_diff,
                        limit=args.limit)
    print(json.dumps(report, indent=2))


def prune(argv: list[str]) -> None:
    """attnpred prune RUN --heads N --out NEW_RUN."""
    parser = _Parser(prog="attnpred prune", description="Remove the N least important "
                     "attention heads (Michel et al. 2019, importance on the dev split) and "
                     "save a new run; report accuracy and speed before and after.")
    parser.add_argument("run", metavar="RUN")
    parser.add_argument("--heads", type=int, required=True, help="heads to remove")
    parser.add_argument("--out", required=True, help="the new run directory")
    parser.add_argument("--overwrite", action="store_true", help="replace --out")
    args = parser.parse_args(argv)
    if args.heads < 1:
        raise AttnpredError("must be >= 1 (heads to remove)", field="--heads")
    from attnpred.api import run_task
    task = run_task(args.run)
    if task != "classify":
        raise AttnpredError(f"pruning needs a classification run, not a {task} run",
                            file=args.run)
    from attnpred.export.prune import prune_run
    print(json.dumps(prune_run(args.run, args.heads, args.out, overwrite=args.overwrite),
                     indent=2))


COMMANDS = {"serve": serve, "export": export, "prune": prune, "monitor": monitor}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if not argv or argv[0] not in COMMANDS:
            raise AttnpredError(f"expected one of {sorted(COMMANDS)}", field="command")
        COMMANDS[argv[0]](argv[1:])
    except AttnpredError as exc:
        print(f"attnpred: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
