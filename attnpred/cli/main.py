"""The ``attnpred`` command: one scheme for every task family, generated from the registry.

``train --task T`` takes the flags of ``attnpred.cli.<family>.TRAIN_FLAGS`` (help from the config
dataclasses' field docstrings) plus the flags every task shares; ``evaluate RUN`` and
``predict RUN`` read the task from the run directory and call the predictor contract
(``evaluate(path)``, ``predict(inputs)``). User mistakes (``AttnpredError``) print one line and
exit with status 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

from attnpred.cli.common import Parser, add_config_flags, add_run_flags, config_from_args
from attnpred.errors import AttnpredError
from attnpred.tasks import registry

EXTRA_COMMANDS = {
    # command -> "module:function(argv)"
    "demo": "attnpred.cli.demo:main",
    "align": "attnpred.cli.seq2seq:align",
    "align-select": "attnpred.cli.seq2seq:align_select",
    "pretrain": "attnpred.cli.pretrain:main",
    "explain": "attnpred.cli.explain:main",
    "serve": "attnpred.cli.serve:serve",
    "export": "attnpred.cli.serve:export",
    "prune": "attnpred.cli.serve:prune",
    "monitor": "attnpred.cli.serve:monitor",
    "merge-shards": "attnpred.cli.main:merge_shards_command",
}
TASK_LIST = ",".join(registry.TASKS)
USAGE = f"""usage: attnpred <command> [options]

commands:
  train     --task {{{TASK_LIST}}} --train FILE --out RUN ...   train into a run directory
  evaluate  RUN --input FILE [--output metrics.json]        score a run on labelled data
  predict   RUN (--input FILE | --text T ...) [--output F]  predict, with attention if asked
            [--shard i/N --output DIR]                      one shard of a big file (streamed)
  merge-shards DIR --output F                               join the shards in input order
  align     RUN --input SRC --ref TGT --output F            word alignments from a seq2seq run
  align-select RUN --input SRC --ref TGT --reference F      choose the layer/heads to align with
  explain   RUN (--input FILE | --text T ...) --output F    attention views (HTML, JSON, PNG)
  serve     RUN [RUN ...]                                   HTTP server
  export    RUN --format onnx                               ONNX (+ int8) export
  prune     RUN --heads N --out RUN2                        remove the least important heads
  monitor   RUN --input stream.jsonl                        alert rules over a prediction stream
  pretrain  --train FILE --out DIR ...                      masked-token pretraining
  demo                                                      finance sentiment + forecasting demo

'attnpred <command> --help' (and 'attnpred train --task T --help') shows each command's options.
"""


def _hook(module: Any, name: str, *args: Any, default: Any = None) -> Any:
    fn = getattr(module, name, None)
    return fn(*args) if fn is not None else default


def _get(cfg: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


def train_parser(task: str) -> Parser:
    spec = registry.spec(task)
    parser = Parser(prog=f"attnpred train --task {task}",
                    description=f"Train a {spec.summary} model into a run directory.")
    parser.add_argument("--task", default=task, help=f"one of {TASK_LIST}")
    add_run_flags(parser)
    module = registry.cli_module(task)
    add_config_flags(parser, registry.config_class(task), module.TRAIN_FLAGS)
    _hook(module, "add_train_options", parser)
    return parser


def _train(argv: list[str]) -> None:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--task", default=None)
    known, _ = pre.parse_known_args(argv)
    if known.task is None:
        if "-h" in argv or "--help" in argv:
            print(f"usage: attnpred train --task {{{TASK_LIST}}} [options]\n"
                  "'attnpred train --task T --help' lists the options of task T.")
            return
        raise AttnpredError(f"missing --task; expected one of {TASK_LIST}", field="--task")
    registry.spec(known.task)
    parser = train_parser(known.task)
    args = parser.parse_args(argv)
    module = registry.cli_module(known.task)
    cfg = config_from_args(registry.config_class(known.task), args, module.TRAIN_FLAGS,
                           _hook(module, "extra_overrides", args, default={}))
    if "train" in module.TRAIN_FLAGS and not _get(cfg, module.TRAIN_FLAGS["train"]):
        raise AttnpredError("no training data given", field="--train")
    if _hook(module, "train_command", cfg, args, default=False):
        return
    from attnpred import distributed
    from attnpred.api import train
    train(cfg, args.out, resume=args.resume, overwrite=args.overwrite)
    if not distributed.is_main():  # under torchrun rank 0 reports
        return
    print((Path(args.out) / "report.txt").read_text(encoding="utf-8"))
    print(f"run saved to {args.out}")


def _run_parser(command: str, run_dir: str, module: Any) -> Parser:
    parser = Parser(prog=f"attnpred {command} RUN",
                    description=("Score a run on a labelled file (default: show the run's "
                                 "report)." if command == "evaluate" else
                                 "Predict with a trained run."))
    parser.add_argument("--input", help="input file" + (" (labelled)" if command == "evaluate"
                                                        else ""))
    parser.add_argument("--format", help="format of --input (default: by its suffix)")
    parser.add_argument("--output", help="write the " + ("metrics JSON" if command == "evaluate"
                        else "results (JSONL, or CSV by suffix)") + " here")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--batch-size", type=int, help="inputs per batch (default: the run's)")
    if command == "predict":
        parser.add_argument("--text", action="append", help="an input text (repeatable)")
        parser.add_argument("--no-attention", action="store_true",
                            help="leave attention out of the results")
        parser.add_argument("--shard", help="i/N: predict rows k with k %% N == i only, into "
                            "the folder --output (default under torchrun: RANK/WORLD_SIZE)")
        parser.add_argument("--chunk-size", type=int, default=1000,
                            help="inputs read, predicted and written at a time (memory bound)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    _hook(module, f"add_{command}_options", parser)
    return parser


def _on_run(command: str, argv: list[str]) -> None:
    """evaluate / predict: the task is read from the run directory."""
    from attnpred.api import run_task
    if not argv or argv[0].startswith("-"):
        if "-h" in argv or "--help" in argv:
            print(f"usage: attnpred {command} RUN_DIR [options]\n"
                  f"'attnpred {command} RUN_DIR --help' lists the options for that run's task.")
            return
        raise AttnpredError(f"'{command}' needs a run directory as its first argument",
                            field="RUN")
    run_dir = argv[0]
    module = registry.cli_module(run_task(run_dir))
    parser = _run_parser(command, run_dir, module)
    args = parser.parse_args(argv[1:])
    if args.batch_size is not None and args.batch_size < 1:
        raise AttnpredError("must be >= 1", field="--batch-size")
    try:
        if command == "evaluate":
            return _evaluate(run_dir, args, module)
        _predict(run_dir, args, module)
    except AttnpredError as exc:
        raise _named_as_flag(exc, parser, args) from None


def _named_as_flag(exc: AttnpredError, parser: argparse.ArgumentParser,
                   args: argparse.Namespace) -> AttnpredError:
    """The same user error, naming the option the user typed (--beam) where the library named
    the field it set (beam)."""
    flags = {a.dest: a.option_strings[-1] for a in parser._actions if a.option_strings}
    field = exc.field or ""
    if field.startswith("inputs") and getattr(args, "text", None):  # inputs[i]: the i-th --text
        return type(exc)(exc.message, line=exc.line, field="--text")
    if exc.file is None and field in flags and getattr(args, field, None) is not None:
        return type(exc)(exc.message, line=exc.line, field=flags[field])
    return exc


def _predict(run_dir: str, args: argparse.Namespace, module: Any) -> None:
    from attnpred.api import load
    if not args.input and not args.text:
        raise AttnpredError("give --input FILE or --text", field="--input")
    predictor = load(run_dir, device=args.device)
    options = _hook(module, "read_options", args, default={})
    shard = _shard(args)
    if args.input and not args.text and (shard or _streams(predictor, module, args)):
        return _predict_stream(predictor, args, module, options, shard)
    inputs = list(args.text) if args.text else predictor.read_inputs(
        args.input, format=args.format, **options)
    if not inputs:
        raise AttnpredError("no inputs in the file", file=args.input)
    results = predictor.predict(inputs, return_attention=not args.no_attention,
                                batch_size=args.batch_size,
                                **_hook(module, "predict_options", args, default={}))
    from attnpred.cli.common import write_results
    write_results(results, args.output, getattr(predictor, "to_csv", None))
    _hook(module, "after_predict", results, args)


def _shard(args: argparse.Namespace) -> tuple[int, int] | None:
    """--shard i/N, or this process's rank under torchrun."""
    from attnpred import distributed
    from attnpred.tasks.batch_predict import parse_shard
    if args.shard:
        return parse_shard(args.shard)
    if distributed.world_size() > 1:
        return distributed.rank(), distributed.world_size()
    return None


def _streams(predictor: Any, module: Any, args: argparse.Namespace) -> bool:
    """Whether the input is read and written a chunk at a time (bounded memory)."""
    return hasattr(predictor, "iter_inputs") and not _hook(module, "needs_all_results", args,
                                                           default=False)


def _predict_stream(predictor: Any, args: argparse.Namespace, module: Any,
                    options: dict[str, Any], shard: tuple[int, int] | None) -> None:
    from attnpred.tasks.batch_predict import predict_file
    if args.chunk_size < 1:
        raise AttnpredError("must be >= 1", field="--chunk-size")
    if shard and args.output and Path(args.output).suffix:
        raise AttnpredError("a shard is written into a folder; give --output DIR",
                            field="--output")
    summary = predict_file(
        predictor, args.input, args.output, read_options={"format": args.format, **options},
        predict_options=_hook(module, "predict_options", args, default={}),
        chunk_size=args.chunk_size, shard=shard, return_attention=not args.no_attention,
        batch_size=args.batch_size,
        progress=not args.no_progress and sys.stderr.isatty())
    if args.output:
        print(f"{summary['rows']} predictions written to {summary['output']} "
              f"({summary['rows_per_second']:.0f} rows/s)")


def merge_shards_command(argv: list[str]) -> None:
    parser = Parser(prog="attnpred merge-shards DIR",
                    description="Join the parts of 'attnpred predict --shard i/N' into one "
                                "JSONL file, in input order.")
    parser.add_argument("folder", help="the folder the shards were written to")
    parser.add_argument("--output", required=True, help="the merged JSONL file")
    args = parser.parse_args(argv)
    from attnpred.api import merge_shards
    summary = merge_shards(args.folder, args.output)
    print(f"{summary['rows']} rows from {summary['shards']} shards written to {args.output}")


def _evaluate(run_dir: str, args: argparse.Namespace, module: Any) -> None:
    import json

    from attnpred.api import load
    from attnpred.io import atomic_write_text
    if not args.input:
        print((Path(run_dir) / "report.txt").read_text(encoding="utf-8")
              if (Path(run_dir) / "report.txt").is_file() else "no report.txt in the run")
        return
    predictor = load(run_dir, device=args.device)
    result = predictor.evaluate(args.input, format=args.format,
                                **_hook(module, "evaluate_options", args, default={}))
    print(predictor.format_evaluation(result))
    _hook(module, "after_evaluate", result, args, predictor)
    if args.output:
        atomic_write_text(args.output, json.dumps(result, indent=2) + "\n")


def dispatch(argv: list[str]) -> None:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return
    command, rest = argv[0], argv[1:]
    if command == "train":
        _train(rest)
    elif command in ("evaluate", "predict"):
        _on_run(command, rest)
    elif command in EXTRA_COMMANDS:
        module, func = EXTRA_COMMANDS[command].split(":")
        try:
            target = getattr(importlib.import_module(module), func)
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("attnpred"):
                raise
            raise AttnpredError(f"'{command}' is not available in this installation") from None
        target(rest)
    else:
        raise AttnpredError(f"unknown command {command!r}; see 'attnpred --help'")


def _one_line_warning(message: Any, category: type, filename: str, lineno: int,
                      file: Any = None, line: Any = None) -> None:
    """Warnings (an encoding fallback, an illegal tag transition) as one line each."""
    text = " ".join(str(message).split())
    print(f"attnpred: warning: {text}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            dispatch(sys.argv[1:] if argv is None else argv)
    except AttnpredError as exc:
        print(f"attnpred: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("attnpred: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
