"""The ``attnpred`` command: one entry point, subcommands dispatched to thin task wrappers.

Every task module under ``attnpred.cli`` (listed in ``TASK_CLI``) provides
``train(argv)``, ``evaluate(run_dir, argv)`` and ``predict(run_dir, argv)``, each parsing its own
flags and calling one library function. User mistakes (``AttnpredError``) print one line and
exit with status 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from attnpred.errors import AttnpredError

TASK_CLI = {
    "classify": "attnpred.cli.classify",
    "forecast": "attnpred.cli.forecast",
    "seq2seq": "attnpred.cli.seq2seq",
}
EXTRA_COMMANDS = {
    # command -> "module:function(argv)"
    "demo": "attnpred.cli.demo:main",
    "align": "attnpred.cli.seq2seq:align",
    "pretrain": "attnpred.cli.pretrain:main",
}
USAGE = """usage: attnpred <command> [options]

commands:
  train     --task {classify,forecast,seq2seq} ...   train a model into a run directory
  evaluate  RUN [--input FILE] ...                   score a run on labelled data
  predict   RUN --input FILE ...                     predict (with attention) for new inputs
  align     RUN --src F --tgt F ...                  word alignments from a seq2seq run
  pretrain  --texts FILE --out DIR ...               masked-token pretraining (scratch encoder)
  demo                                               finance sentiment + forecasting demo

'attnpred <command> --help' (and 'attnpred train --task T --help') shows each command's options.
"""


def _task_module(task: str):
    if task not in TASK_CLI:
        raise AttnpredError(f"unknown task {task!r}; expected one of {sorted(TASK_CLI)}",
                            field="--task")
    return importlib.import_module(TASK_CLI[task])


def _train(argv: list[str]) -> None:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--task", default=None)
    known, rest = pre.parse_known_args(argv)
    if known.task is None:
        if "-h" in argv or "--help" in argv:
            print("usage: attnpred train --task {classify,forecast,seq2seq} [options]\n"
                  "'attnpred train --task T --help' lists the options of task T.")
            return
        raise AttnpredError("missing --task; expected one of " + ", ".join(sorted(TASK_CLI)),
                            field="--task")
    _task_module(known.task).train(rest)


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
    getattr(_task_module(run_task(argv[0])), command)(argv[0], argv[1:])


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
        getattr(importlib.import_module(module), func)(rest)
    else:
        raise AttnpredError(f"unknown command {command!r}; see 'attnpred --help'")


def main(argv: list[str] | None = None) -> int:
    try:
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
