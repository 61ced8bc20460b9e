"""What every command shares: a parser whose errors are one line, and config flags generated
from the config dataclasses (their field docstrings are the help text)."""
from __future__ import annotations

import argparse
import json
import typing
from pathlib import Path
from typing import Any, Sequence

from attnpred.config import (apply_overrides, config_from_dict, field_docs, field_type,
                             read_config_dict)
from attnpred.errors import AttnpredError, ConfigError
from attnpred.io import atomic_write_text


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one ``AttnpredError`` line (exit status 2)."""

    def error(self, message: str) -> typing.NoReturn:
        raise AttnpredError(f"{message} (see '{self.prog} --help')")


def flag_name(flag: str) -> str:
    return "--" + flag.replace("_", "-")


def add_config_flags(parser: argparse.ArgumentParser, cls: type, flags: dict[str, str]) -> None:
    """One option per ``flag -> dotted config field``; help from the field's docstring."""
    group = parser.add_argument_group("run config (flags override --config; "
                                      "any other field: --set section.field=value)")
    for flag, dotted in flags.items():
        owner, hint = field_type(cls, dotted)
        help_text = field_docs(owner).get(dotted.rsplit(".", 1)[-1], "").replace("%", "%%")
        dest = "cfg:" + dotted
        if hint is bool:
            group.add_argument(flag_name(flag), dest=dest, action=argparse.BooleanOptionalAction,
                               default=None, help=help_text)
        elif typing.get_origin(hint) is tuple:
            group.add_argument(flag_name(flag), dest=dest, default=None, metavar="A,B,...",
                               help=help_text + " (comma list)")
        else:
            group.add_argument(flag_name(flag), dest=dest, default=None,
                               type=hint if hint in (int, float) else str,
                               metavar=dotted.rsplit(".", 1)[-1].upper(), help=help_text)


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    """The flags of every train command."""
    parser.add_argument("--out", required=True, help="the run directory to write")
    parser.add_argument("--config", help="a JSON run config (a run's config.json will do)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any config field by dotted path, e.g. trainer.lr=3e-4 "
                             "(VALUE read as JSON when it parses, else as text)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run exactly where it stopped")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a completed or interrupted run (only the files attnpred "
                             "wrote are removed)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("--device", help="auto, cpu or cuda (trainer.device)")


def _tuple_value(hint: Any, text: str, flag: str) -> list[Any]:
    kind = (typing.get_args(hint) or (str,))[0]
    try:
        return [kind(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        raise AttnpredError(f"expected a comma list of {kind.__name__}, got {text!r}",
                            field=flag) from None


def _parse_set(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise AttnpredError(f"expected KEY=VALUE, got {item!r}", field="--set")
    key, text = item.split("=", 1)
    try:
        return key.strip(), json.loads(text)
    except json.JSONDecodeError:
        return key.strip(), text


def config_from_args(cls: type, args: argparse.Namespace, flags: dict[str, str],
                     extra: dict[str, tuple[str, Any]] | None = None) -> Any:
    """The run config: --config file, then flags, then --set; errors name the flag.

    ``extra`` maps further dotted fields to (flag, value) for flags a family adds itself.
    """
    data = read_config_dict(args.config)
    overrides: dict[str, Any] = {k: v for k, (_, v) in (extra or {}).items()}
    to_flag = {dotted: flag_name(flag) for flag, dotted in flags.items()}
    to_flag |= {k: f for k, (f, _) in (extra or {}).items()}
    for flag, dotted in flags.items():
        value = getattr(args, "cfg:" + dotted)
        if isinstance(value, str) and typing.get_origin(field_type(cls, dotted)[1]) is tuple:
            value = _tuple_value(field_type(cls, dotted)[1], value, flag_name(flag))
        overrides[dotted] = value
    if args.no_progress:
        overrides["trainer.progress"] = False
    if args.device:
        overrides["trainer.device"] = args.device
        to_flag["trainer.device"] = "--device"
    for item in args.set:
        key, value = _parse_set(item)
        field_type(cls, key)  # unknown field: one clear error
        overrides[key] = value
        to_flag[key] = f"--set {key}"  # --set is applied last: it set the value
    try:
        data = apply_overrides(data, overrides)
        return config_from_dict(cls, data, source=args.config or "command line")
    except ConfigError as exc:
        if exc.field in to_flag and overrides.get(exc.field) is not None:
            raise ConfigError(exc.message, field=to_flag[exc.field]) from None
        if exc.file is None and args.config:  # a section of the --config file
            raise ConfigError(exc.message, file=args.config, field=exc.field) from None
        raise


def write_results(results: Sequence[Any], output: str | None, csv_text: Any = None) -> None:
    """Predictions as JSONL (one ``to_dict()`` a line) or, for a .csv output, the family's
    table; without ``output``, one summary line each on standard output."""
    if not output:
        for r in results:
            print(r.summary())
        return
    if Path(output).suffix.lower() == ".csv":
        if csv_text is None:
            raise AttnpredError("this task writes JSONL only; use a .jsonl output",
                                field="--output")
        atomic_write_text(output, csv_text(results))
    else:
        atomic_write_text(output, "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n"
                                          for r in results))
    print(f"{len(results)} predictions written to {output}")
