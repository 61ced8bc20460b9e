"""Generated bad inputs for every command, and a runner that judges what the CLI did with them.

Shared by ``tests/robustness/test_bad_inputs.py`` and ``benchmarks/robustness.py``. A
``Workspace`` writes good tiny data and trains one tiny run per task family; ``cases()`` lists
``Case`` objects (family, name, a builder of the argv from the workspace, and what the error
line must name); ``run_case`` runs ``attnpred.cli.main.main(argv)`` in-process and sorts the
outcome into one of:

* ``clear``: exit status 2, one stderr line naming the file/line or field/flag, no traceback,
  nothing already saved changed;
* ``traceback``: an exception other than a user error escaped (or "Traceback" was printed);
* ``silent``: exit status 0 (a wrong or useless result without a word);
* ``unclear``: exit status 2 but the line does not name what it should, or more than one
  line, or a saved run directory changed.

Flag cases are generated from each family's ``TRAIN_FLAGS`` and the config dataclasses (type
hints and field docstrings), so a new flag is covered without editing this file.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import shutil
import struct
import traceback
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

TASK_FAMILIES = ("classify", "forecast", "seq2seq", "tag")
COMMAND_FAMILIES = ("align", "explain", "serve", "export", "prune", "monitor", "pretrain")
FAMILIES = TASK_FAMILIES + COMMAND_FAMILIES

PAIRS = [("a dog runs", "ein Hund rennt"), ("a cat sleeps", "eine Katze schläft"),
         ("the dog sleeps", "der Hund schläft"), ("the cat runs", "die Katze rennt"),
         ("a small dog", "ein kleiner Hund"), ("the small cat", "die kleine Katze")]
POS = ["profit", "rose", "growth", "record", "strong", "gain"]
NEG = ["loss", "fell", "cut", "weak", "decline", "warning"]
FILL = ["the", "company", "said", "quarter", "sales", "in", "its", "year", "shares", "market"]
PEOPLE, PLACES, VERBS = ["Alice", "Bob", "Carol"], ["Paris", "Rome", "New York"], ["visits",
                                                                                   "likes"]

# the entry the tagging family gets in the registry (used only while it is not registered)
TAG_ENTRY = ("attnpred.tasks.tag:TagRunConfig", "attnpred.tasks.tag:train_tagger",
             "attnpred.tasks.tag:TagPredictor", "attnpred.cli.tag",
             "token tagging (NER, POS) with per-word attention")


# ---- good tiny data ---------------------------------------------------------------------------
def sentiment_rows(n: int, seed: int) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = ["positive", "negative", "neutral"][i % 3]
        words = list(rng.choice(FILL, 5, replace=False))
        if label != "neutral":
            words.insert(int(rng.integers(6)), str(rng.choice(POS if label == "positive"
                                                               else NEG)))
        rows.append((" ".join(words), label))
    return rows


def write_csv(path: Path, rows: list[tuple[str, ...]], header=("text", "label")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def series_frame(n: int = 240):
    import pandas as pd
    t = np.arange(n)
    return pd.DataFrame({"date": pd.date_range("2021-03-01", periods=n, freq="h"),
                         "a": np.sin(2 * np.pi * t / 24), "OT": 5 + np.cos(2 * np.pi * t / 12)})


def ner_sentences(n: int, seed: int) -> list[list[tuple[str, str]]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        place = str(rng.choice(PLACES)).split()
        sent = [(str(rng.choice(PEOPLE)), "B-person"), (str(rng.choice(VERBS)), "O")]
        sent += [(w, ("B-" if i == 0 else "I-") + "location") for i, w in enumerate(place)]
        out.append(sent + [(".", "O")])
    return out


def conll_text(sentences) -> str:
    return "".join("".join(f"{w}\t{t}\n" for w, t in s) + "\n" for s in sentences)


TRAIN_ARGV: dict[str, Callable[[Workspace], list[str]]] = {
    "classify": lambda ws: ["--train", str(ws.data / "train.csv"), "--vocab-size", "120",
                            "--dim", "16", "--heads", "2", "--layers", "1", "--max-len", "16",
                            "--pooling", "attention", "--epochs", "1", "--batch-size", "8",
                            "--set", "trainer.tensorboard=false"],
    "forecast": lambda ws: ["--train", str(ws.data / "s.csv"), "--input-len", "48",
                            "--horizon", "12", "--split", "ratio", "--patch-len", "8",
                            "--stride", "8", "--d-model", "8", "--heads", "2", "--ff-dim", "16",
                            "--layers", "1", "--epochs", "1",
                            "--set", "trainer.tensorboard=false"],
    "seq2seq": lambda ws: ["--train", str(ws.data / "train.en"),
                           "--train-tgt", str(ws.data / "train.de"), "--vocab-size", "60",
                           "--max-tokens", "64", "--max-len", "16", "--dim", "16", "--heads", "2",
                           "--encoder-layers", "1", "--decoder-layers", "1",
                           "--set", "transformer.max_len=32", "--epochs", "1",
                           "--metric", "nll", "--set", "trainer.tensorboard=false"],
    "tag": lambda ws: ["--train", str(ws.data / "train.conll"),
                       "--dev", str(ws.data / "dev.conll"), "--dim", "16", "--heads", "2",
                       "--layers", "1", "--ff-dim", "32", "--max-len", "32",
                       "--vocab-size", "120", "--batch-size", "8", "--epochs", "1",
                       "--set", "trainer.tensorboard=false"],
}


@contextlib.contextmanager
def tag_registered() -> Iterator[None]:
    """The tagging family in the registry while the block runs (a no-op once it is there)."""
    from attnpred.tasks import registry
    added = "tag" not in registry.TASKS
    if added:
        registry.TASKS["tag"] = registry.TaskSpec(*TAG_ENTRY)
    try:
        yield
    finally:
        if added:
            registry.TASKS.pop("tag", None)


class Workspace:
    """Good tiny data under ``root/data`` and one trained tiny run per task family."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.data = self.root / "data"
        self.cases = self.root / "cases"
        self.runs: dict[str, Path] = {}
        self.data.mkdir(parents=True, exist_ok=True)
        self.cases.mkdir(exist_ok=True)
        self._write_data()

    def _write_data(self) -> None:
        d = self.data
        write_csv(d / "train.csv", sentiment_rows(60, 0))
        write_csv(d / "test.csv", sentiment_rows(9, 1))
        series_frame().to_csv(d / "s.csv", index=False)
        (d / "train.en").write_text("".join(s + "\n" for s, _ in PAIRS), encoding="utf-8")
        (d / "train.de").write_text("".join(t + "\n" for _, t in PAIRS), encoding="utf-8")
        (d / "train.align").write_text("0-0 1-1 2-2\n" * len(PAIRS), encoding="utf-8")
        (d / "train.conll").write_text(conll_text(ner_sentences(24, 0)), encoding="utf-8")
        (d / "dev.conll").write_text(conll_text(ner_sentences(6, 1)), encoding="utf-8")
        (d / "texts.txt").write_text("".join(t + "\n" for t, _ in sentiment_rows(40, 2)),
                                     encoding="utf-8")
        (d / "stream.jsonl").write_text("".join(json.dumps({"text": t}) + "\n"
                                                for t, _ in sentiment_rows(4, 3)))
        (d / "rules.json").write_text(json.dumps({"rules": [
            {"name": "low", "kind": "mean_confidence", "window": 2, "below": 0.1}],
            "sinks": [{"log": True}]}))

    def train_runs(self) -> None:
        """One tiny run per task family through the CLI (raises if one fails)."""
        from attnpred.cli.main import main
        for task in TASK_FAMILIES:
            run = self.root / "runs" / task
            argv = ["train", "--task", task, "--out", str(run), "--no-progress"] + \
                TRAIN_ARGV[task](self)
            with contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(io.StringIO()) as err:
                code = main(argv)
            if code != 0:
                raise RuntimeError(f"training the tiny {task} run failed: {err.getvalue()}")
            self.runs[task] = run

    def case_dir(self, name: str) -> Path:
        path = self.cases / name
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path

    def copy_run(self, task: str, into: Path) -> Path:
        """A copy of the trained run of ``task`` to damage."""
        return Path(shutil.copytree(self.runs[task], into / f"{task}-run"))


# ---- cases ------------------------------------------------------------------------------------
Built = tuple[list[str], str]  # argv, a text the error line must contain


@dataclass
class Case:
    """One bad input: ``build(ws, tmp) -> (argv, expected text in the error line)``."""

    family: str
    name: str
    build: Callable[[Workspace, Path], Built]
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def id(self) -> str:
        return f"{self.family}:{self.name}"


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


BINARY = bytes(range(256)) * 8 + b"\x00\xff\xfe" * 50
DAMAGED_UTF8 = "café,positive\n".encode() * 3 + b"caf\xe9 bad byte,negative\n"


def train_case(task: str, name: str, extra: Callable[[Workspace, Path], list[str]],
               expect: str | Callable[[Workspace, Path], str]) -> Case:
    """``attnpred train --task TASK`` with the tiny run's flags followed by ``extra``."""
    def build(ws: Workspace, tmp: Path) -> Built:
        argv = ["train", "--task", task, "--out", str(tmp / "out"), "--no-progress"] + \
            TRAIN_ARGV[task](ws) + extra(ws, tmp)
        return argv, expect(ws, tmp) if callable(expect) else expect
    return Case(task, "train-" + name, build)


def train_data_case(task: str, name: str, flag: str, filename: str, content: bytes | str,
                    expect_line: int | None = None, more: tuple[str, ...] = ()) -> Case:
    """Train with ``flag`` pointing at a file holding ``content``; the error names the file."""
    def extra(ws: Workspace, tmp: Path) -> list[str]:
        path = tmp / filename
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return [flag, str(path), *more]
    expect = filename + (f":{expect_line}" if expect_line else "")
    return train_case(task, name, extra, expect)


# -- flags generated from TRAIN_FLAGS and the config dataclasses
def _cli_flags(task: str) -> dict[str, str]:
    import importlib
    return importlib.import_module(f"attnpred.cli.{task}").TRAIN_FLAGS


def _config_class(task: str) -> type:
    import importlib

    from attnpred.tasks import registry
    if task in registry.TASKS:
        return registry.config_class(task)
    module, attr = TAG_ENTRY[0].split(":")
    return getattr(importlib.import_module(module), attr)


def _zero_means_something(doc: str, name: str) -> bool:
    """True when 0 is a documented, valid setting of a field (its docstring says what 0 does)
    or the field is of a kind where 0 is an ordinary value."""
    plain = ("seed", "dropout", "decay", "weight", "ratio", "smoothing", "penalty", "lambda",
             "channel_layers", "warmup", "ridge")
    return "0:" in doc or "(0" in doc or any(p in name for p in plain)


def flag_value_cases(task: str) -> list[Case]:
    """0 / -1 / non-numeric / NaN for numeric flags, an unknown choice for choice flags."""
    from attnpred.config import field_docs, field_type
    cls = _config_class(task)
    out: list[Case] = []
    for flag, dotted in _cli_flags(task).items():
        owner, hint = field_type(cls, dotted)
        leaf = dotted.rsplit(".", 1)[-1]
        doc = field_docs(owner).get(leaf, "")
        option = "--" + flag.replace("_", "-")
        values: list[str] = []
        named = f"{option}|'{leaf}'|{dotted}"  # what the error line may name
        if hint in (int, float):
            values.append("abc")
            if "negative" not in doc:  # an index counted from the end: -1 and 0 are valid
                values.append("-1")
                if not _zero_means_something(doc, leaf):
                    values.append("0")
            if hint is float:
                values.append("nan")
        elif hint is bool:
            values.append("=maybe")
        elif typing.get_origin(hint) is tuple:
            kind = (typing.get_args(hint) or (str,))[0]
            values.append("x,y" if kind in (int, float) else "no-such-column")
            named += "|no-such-column"  # or the unknown name itself
        elif hint is str and _is_choice(doc, leaf):
            values.append("no-such-choice")
        for value in values:
            name = f"flag{option}={value.lstrip('=')}"
            argv = [option + value] if value.startswith("=") else [option, value]
            out.append(train_case(task, name, lambda ws, tmp, a=argv: list(a), named))
    return out


def _is_choice(doc: str, leaf: str) -> bool:
    """A text field with a fixed set of values (its docstring lists them with quotes or 'or')."""
    if any(k in leaf for k in ("column", "field", "path", "train", "dev", "test", "dir",
                               "rationales", "init_from", "align", "target")):
        return False
    return "'" in doc or " or " in doc or ":" in doc


def set_and_config_cases(task: str) -> list[Case]:
    """--set and --config mistakes (shared code, but each family's config class)."""
    cases = [
        train_case(task, "set-unknown-key", lambda ws, t: ["--set", "nosuch.key=1"], "nosuch"),
        train_case(task, "set-no-equals", lambda ws, t: ["--set", "trainer.lr"], "--set"),
        train_case(task, "set-section-as-number", lambda ws, t: ["--set", "trainer=5"],
                   "trainer"),
        train_case(task, "set-text-for-float", lambda ws, t: ["--set", "trainer.lr=fast"],
                   "--set trainer.lr"),
        train_case(task, "set-float-for-int", lambda ws, t: ["--set", "trainer.epochs=1.5"],
                   "--set trainer.epochs"),
        train_case(task, "set-unknown-trainer-field",
                   lambda ws, t: ["--set", "trainer.nosuch=1"], "trainer.nosuch"),
        train_case(task, "set-bool-as-text",
                   lambda ws, t: ["--set", "trainer.tensorboard=perhaps"], "trainer.tensorboard"),
        train_case(task, "device-cuda", lambda ws, t: ["--device", "cuda"], "--device"),
        train_case(task, "device-unknown", lambda ws, t: ["--device", "tpu"], "--device"),
        train_case(task, "out-is-a-file", lambda ws, t: ["--out", str(_text(t / "f.txt", "x"))],
                   "f.txt"),
        train_case(task, "out-foreign-folder", lambda ws, t: ["--out", str(_foreign(t))],
                   "foreign"),
        train_case(task, "resume-nothing", lambda ws, t: ["--resume", "--out",
                                                          str(ws.runs[task])], task),
        train_case(task, "unknown-flag", lambda ws, t: ["--no-such-flag", "1"], "--no-such-flag"),
    ]
    configs = {
        "config-not-json": b"{ not json",
        "config-empty": b"",
        "config-binary": BINARY,
        "config-array": b"[1, 2, 3]",
        "config-unknown-key": b'{"nosuch": 1}',
        "config-section-as-number": b'{"trainer": 7}',
        "config-wrong-type": b'{"trainer": {"lr": "fast"}}',
        "config-null-section": b'{"data": null}',
        "config-other-task": b'{"task": "other"}',
    }
    for name, data in configs.items():
        cases.append(train_case(task, name, lambda ws, t, d=data: [
            "--config", str(_bytes(t / "run.json", d))], "run.json"))
    cases.append(train_case(task, "config-missing",
                            lambda ws, t: ["--config", str(t / "none.json")], "none.json"))
    cases.append(train_case(task, "config-directory",
                            lambda ws, t: ["--config", str(t)], lambda ws, t: t.name))
    return cases


# -- per family: data files
def classify_data_cases() -> list[Case]:
    t = "classify"
    return [
        train_case(t, "missing-file", lambda ws, tmp: ["--train", str(tmp / "none.csv")],
                   "none.csv"),
        train_data_case(t, "empty-file", "--train", "empty.csv", b""),
        train_data_case(t, "binary-file", "--train", "bin.csv", BINARY),
        train_data_case(t, "header-only", "--train", "head.csv", "text,label\n"),
        train_data_case(t, "missing-text-column", "--train", "cols.csv", "body,label\nx,y\n", 1),
        train_data_case(t, "missing-label-column", "--train", "cols.csv", "text,tag\nx,y\n", 1),
        train_data_case(t, "unclosed-quote", "--train", "q.csv",
                        "text,label\ngood one,positive\n\"never closed,negative\n", 3),
        train_data_case(t, "too-many-fields", "--train", "f.csv",
                        "text,label\ngood,positive\nbad,negative,extra\n", 3),
        train_data_case(t, "empty-text-cell", "--train", "e.csv",
                        "text,label\ngood,positive\n ,negative\n", 3),
        train_data_case(t, "empty-label-cell", "--train", "e.csv",
                        "text,label\ngood,positive\nbad,\n", 3),
        train_data_case(t, "jsonl-invalid-line", "--train", "d.jsonl",
                        '{"text": "a", "label": "x"}\n{"text": \n', 2),
        train_data_case(t, "jsonl-not-object", "--train", "d.jsonl",
                        '{"text": "a", "label": "x"}\n[1, 2]\n', 2),
        train_data_case(t, "jsonl-label-list", "--train", "d.jsonl",
                        '{"text": "a", "label": "x"}\n{"text": "b", "label": [1]}\n', 2),
        train_data_case(t, "jsonl-text-number", "--train", "d.jsonl",
                        '{"text": "a", "label": "x"}\n{"text": 5, "label": "y"}\n', 2),
        train_data_case(t, "tsv-wrong-fields", "--train", "d.tsv",
                        "text\tlabel\ngood\tpositive\nbad\n", 3),
        train_data_case(t, "damaged-utf8", "--train", "u.csv",
                        b"text,label\n" + DAMAGED_UTF8, 5),
        train_data_case(t, "truncated-gzip", "--train", "d.csv.gz", b"\x1f\x8b\x08\x00abc"),
        train_data_case(t, "single-class", "--train", "one.csv",
                        "text,label\n" + "".join(f"text number {i},positive\n"
                                                 for i in range(30))),
        train_data_case(t, "dev-missing-column", "--dev", "dev.csv", "body,label\nx,y\n", 1),
        train_data_case(t, "dev-unknown-label", "--dev", "dev.csv",
                        "text,label\nprofit rose,positive\nshares fell,bogus\n", 3),
        train_data_case(t, "rationales-binary", "--rationales", "r.csv", BINARY),
        train_case(t, "flag--max-len=0", lambda ws, tmp: ["--max-len", "0"],
                   "--max-len|'max_len'"),
        train_case(t, "flag--max-len=-1", lambda ws, tmp: ["--max-len", "-1"],
                   "--max-len|'max_len'"),
        train_case(t, "flag--max-len=abc", lambda ws, tmp: ["--max-len", "abc"], "--max-len"),
        train_case(t, "flag--pooling=no-such-choice", lambda ws, tmp: ["--pooling", "nosuch"],
                   "--pooling|'pooling'"),
        train_case(t, "init-from-missing",
                   lambda ws, tmp: ["--init-from", str(tmp / "nowhere")], "nowhere"),
        train_case(t, "model-dir-missing", lambda ws, tmp: [
            "--model", "pretrained", "--model-dir", str(tmp / "nomodel")], "nomodel"),
        train_case(t, "unlabelled-missing",
                   lambda ws, tmp: ["--unlabelled", str(tmp / "none.txt")], "none.txt"),
        train_case(t, "pseudo-threshold-2",
                   lambda ws, tmp: ["--unlabelled", str(ws.data / "texts.txt"),
                                    "--pseudo-threshold", "2"], "--pseudo-threshold|'threshold'"),
        train_case(t, "self-train-rounds-negative",
                   lambda ws, tmp: ["--unlabelled", str(ws.data / "texts.txt"),
                                    "--self-train-rounds", "-1"], "--self-train-rounds|'rounds'"),
        train_data_case(t, "utf16-odd-bytes", "--train", "w.csv", b"\xff\xfet\x00e\x00x"),
    ]


def _series_csv(tmp: Path, name: str, mutate: Callable[[Any], Any]) -> Path:
    frame = mutate(series_frame())
    frame.to_csv(tmp / name, index=False)
    return tmp / name


def forecast_data_cases() -> list[Case]:
    t = "forecast"

    def series(name: str, mutate: Callable[[Any], Any], expect: str) -> Case:
        return train_case(t, name, lambda ws, tmp: ["--train", str(_series_csv(
            tmp, "bad.csv", mutate))], expect)

    def nan_row(f):
        f.loc[5, "a"] = np.nan
        return f

    def text_value(f):
        f["a"] = f["a"].astype(object)
        f.loc[7, "a"] = "n/a"
        return f

    def unsorted(f):
        return f.iloc[[1, 0] + list(range(2, len(f)))]

    def duplicate(f):
        f.loc[3, "date"] = f.loc[2, "date"]
        return f

    def bad_date(f):
        f["date"] = f["date"].astype(str)
        f.loc[4, "date"] = "yesterday"
        return f

    def parquet(name: str, data: bytes | None, frame=None) -> Case:
        def extra(ws: Workspace, tmp: Path) -> list[str]:
            path = tmp / "s.parquet"
            if frame is not None:
                frame().to_parquet(path)
            else:
                path.write_bytes(data)
            return ["--train", str(path)]
        return train_case(t, name, extra, "s.parquet")

    return [
        series("too-short", lambda f: f.iloc[:30], "bad.csv|'input_len'"),
        series("nan-value", nan_row, "bad.csv:7"),
        series("text-value", text_value, "bad.csv:9"),
        series("unsorted-dates", unsorted, "bad.csv:3"),
        series("duplicate-dates", duplicate, "bad.csv:5"),
        series("unreadable-date", bad_date, "bad.csv:6"),
        series("no-date-column", lambda f: f.drop(columns=["date"]), "bad.csv"),
        series("no-channels", lambda f: f[["date"]], "bad.csv"),
        series("header-only", lambda f: f.iloc[:0], "bad.csv"),
        train_data_case(t, "empty-file", "--train", "e.csv", b""),
        train_data_case(t, "binary-file", "--train", "b.csv", BINARY),
        train_data_case(t, "damaged-utf8", "--train", "u.csv",
                        "date,a,OT_°C\n2021-01-01,1,2\n".encode() + b"2021-01-02,\xe9,3\n", 3),
        train_case(t, "missing-file", lambda ws, tmp: ["--train", str(tmp / "none.csv")],
                   "none.csv"),
        parquet("parquet-empty-file", b""),
        parquet("parquet-corrupt", b"PAR1" + BINARY[:300] + b"PAR1"),
        parquet("parquet-no-rows", None, lambda: series_frame().iloc[:0]),
        train_case(t, "unknown-column", lambda ws, tmp: ["--columns", "a,nosuch"], "nosuch"),
        train_case(t, "one-channel-ms-target-missing", lambda ws, tmp: [
            "--columns", "a", "--features", "S", "--target", "OT"], "target"),
        train_case(t, "unknown-target", lambda ws, tmp: ["--features", "MS", "--target",
                                                         "nosuch"], "nosuch"),
        train_case(t, "ridge-grid-negative", lambda ws, tmp: ["--ridge-grid", "1.0,-2"],
                   "--ridge-grid"),
        train_case(t, "ratios-two-values", lambda ws, tmp: ["--ratios", "0.5,0.5"], "--ratios"),
        train_case(t, "patch-longer-than-input", lambda ws, tmp: ["--patch-len", "64"],
                   "--patch-len"),
        train_case(t, "horizon-longer-than-series", lambda ws, tmp: ["--horizon", "500"],
                   "--horizon|horizon"),
    ]


GUIDED = ("--guide-weight", "1", "--guide-layer", "-1")


def seq2seq_data_cases() -> list[Case]:
    t = "seq2seq"

    def pair(name: str, src: str | bytes, tgt: str | bytes, expect: str) -> Case:
        def extra(ws: Workspace, tmp: Path) -> list[str]:
            s, g = tmp / "bad.en", tmp / "bad.de"
            for path, content in ((s, src), (g, tgt)):
                path.write_bytes(content if isinstance(content, bytes) else content.encode())
            return ["--train", str(s), "--train-tgt", str(g)]
        return train_case(t, name, extra, expect)

    src = "".join(s + "\n" for s, _ in PAIRS)
    tgt = "".join(g + "\n" for _, g in PAIRS)
    return [
        pair("empty-source-line", src.replace("a cat sleeps", ""), tgt, "bad.en:2"),
        pair("empty-target-line", src, tgt.replace("eine Katze schläft", "  "), "bad.de:2"),
        pair("line-count-mismatch", src, tgt + "ein Vogel\n", "bad.en"),
        pair("empty-files", "", "", "bad.en"),
        pair("binary-source", BINARY, tgt, "bad.en"),
        pair("damaged-utf8-target", src, tgt.encode()[:-8] + b"\xe4ft\n", "bad.de:6"),
        train_case(t, "missing-target-file", lambda ws, tmp: [
            "--train-tgt", str(tmp / "none.de")], "none.de"),
        train_data_case(t, "bitext-no-separator", "--train", "b.txt",
                        "a dog ||| ein Hund\nno separator here\n", 2, ("--train-tgt", "")),
        train_data_case(t, "tsv-missing-column", "--train", "b.tsv", "src\tother\na\tb\n", 1,
                        ("--train-tgt", "")),
        train_data_case(t, "tsv-wrong-fields", "--train", "b.tsv",
                        "src\ttgt\na dog\tein Hund\nno tab\n", 3, ("--train-tgt", "")),
        train_data_case(t, "jsonl-missing-key", "--train", "b.jsonl",
                        '{"src": "a", "tgt": "b"}\n{"src": "c"}\n', 2, ("--train-tgt", "")),
        train_data_case(t, "jsonl-invalid", "--train", "b.jsonl",
                        '{"src": "a", "tgt": "b"}\n{"src": \n', 2, ("--train-tgt", "")),
        train_data_case(t, "align-link-beyond-sentence", "--train-align", "bad.align",
                        "0-0\n0-9\n" + "0-0\n" * 4, 2, GUIDED),
        train_data_case(t, "align-malformed", "--train-align", "bad.align",
                        "0-0\nzero-one\n" + "0-0\n" * 4, 2, GUIDED),
        train_data_case(t, "align-negative-index", "--train-align", "bad.align",
                        "0-0\n-1-0\n" + "0-0\n" * 4, 2, GUIDED),
        train_data_case(t, "align-line-count", "--train-align", "bad.align", "0-0\n" * 3, None,
                        GUIDED),
        train_case(t, "guide-layer-out-of-range", lambda ws, tmp: [
            "--train-align", str(ws.data / "train.align"), "--guide-weight", "1",
            "--guide-layer", "5"], "--guide-layer"),
        train_case(t, "dev-target-missing", lambda ws, tmp: [
            "--dev", str(ws.data / "train.en"), "--dev-tgt", str(tmp / "none.de")], "none.de"),
    ]


def tag_data_cases() -> list[Case]:
    t = "tag"
    good = conll_text(ner_sentences(8, 0))
    return [
        train_data_case(t, "row-without-tag", "--train", "bad.conll",
                        "Alice\tB-person\nvisits\n\n", 2),
        train_data_case(t, "empty-file", "--train", "e.conll", b""),
        train_data_case(t, "binary-file", "--train", "b.conll", BINARY),
        train_data_case(t, "damaged-utf8", "--train", "u.conll",
                        good.encode() + b"Caf\xe9\tO\n\n", good.count("\n") + 1),
        train_data_case(t, "conllu-bad-id", "--train", "bad.conllu",
                        "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\nX\tcat\tcat\tNOUN\tNN\t_\t0\troot"
                        "\t_\t_\n\n", 2),
        train_data_case(t, "conllu-few-columns", "--train", "bad.conllu",
                        "1\tThe\tthe\tDET\n\n", 1),
        train_data_case(t, "dev-unknown-tag", "--dev", "dev.conll",
                        "Alice\tB-person\nvisits\tB-weird\n\n", 2),
        train_data_case(t, "gz-truncated", "--train", "t.conllu.gz", b"\x1f\x8b\x08\x00abc"),
        train_case(t, "missing-file", lambda ws, tmp: ["--train", str(tmp / "none.conll")],
                   "none.conll"),
    ]


# -- evaluate / predict on the trained runs, and damaged run directories
def run_case(family: str, name: str, argv: Callable[[Workspace, Path], list[str]],
             expect: str | Callable[[Workspace, Path], str], tags: tuple[str, ...] = ()) -> Case:
    def build(ws: Workspace, tmp: Path) -> Built:
        return argv(ws, tmp), expect(ws, tmp) if callable(expect) else expect
    return Case(family, name, build, tags)


PREDICT_INPUT = {
    "classify": lambda ws: ["--text", "profit rose"],
    "forecast": lambda ws: ["--input", str(ws.data / "s.csv")],
    "seq2seq": lambda ws: ["--text", "a dog runs"],
    "tag": lambda ws: ["--text", "Alice visits Rome ."],
}
RUN_FILES = {  # family -> its own files beyond config.json and model.safetensors
    "classify": ("tokenizer", "labels.json"),
    "forecast": ("scaler.json",),
    "seq2seq": ("tokenizer.src.json",),
    "tag": ("tokenizer", "labels.json"),
}


def damaged_run_cases(task: str) -> list[Case]:
    """predict on a copy of the run with one file missing or damaged."""
    def damaged(name: str, damage: Callable[[Path], Any], expect: str) -> Case:
        def argv(ws: Workspace, tmp: Path) -> list[str]:
            run = ws.copy_run(task, tmp)
            damage(run)
            return ["predict", str(run)] + PREDICT_INPUT[task](ws)
        return run_case(task, "run-" + name, argv, expect, tags=("damaged-run",))

    def rm(rel: str) -> Callable[[Path], None]:
        def go(run: Path) -> None:
            path = run / rel
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        return go

    def write(rel: str, data: bytes) -> Callable[[Path], None]:
        def go(run: Path) -> None:
            path = run / rel
            if path.is_dir():
                for f in path.iterdir():
                    f.write_bytes(data)
            else:
                path.write_bytes(data)
        return go

    def truncate(rel: str) -> Callable[[Path], None]:
        def go(run: Path) -> None:
            data = (run / rel).read_bytes()
            (run / rel).write_bytes(data[: len(data) // 2])
        return go

    def wrong_shape(run: Path) -> None:
        from safetensors.torch import load_file, save_file
        weights = load_file(str(run / "model.safetensors"))
        key = min(k for k, v in weights.items() if v.dim() == 2)
        weights[key] = weights[key][:, :-1].contiguous()
        save_file(weights, str(run / "model.safetensors"))

    def config_edit(change: Callable[[dict], Any]) -> Callable[[Path], None]:
        def go(run: Path) -> None:
            data = json.loads((run / "config.json").read_text())
            change(data)
            (run / "config.json").write_text(json.dumps(data))
        return go

    def header_lies(run: Path) -> None:  # a valid header promising more bytes than there are
        n = 64
        header = json.dumps({"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}})
        (run / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) +
                                                header.encode() + b"\0" * n)

    cases = [
        damaged("no-config", rm("config.json"), "config.json"),
        damaged("config-not-json", write("config.json", b"{ broken"), "config.json"),
        damaged("config-array", write("config.json", b"[]"), "config.json"),
        damaged("config-binary", write("config.json", BINARY), "config.json"),
        damaged("config-unknown-key", config_edit(lambda d: d.update(nosuch=1)), "config.json"),
        damaged("config-section-number", config_edit(lambda d: d.update(trainer=3)),
                "config.json"),
        damaged("config-no-task", config_edit(lambda d: d.pop("task")), "config.json"),
        damaged("no-weights", rm("model.safetensors"), "model.safetensors"),
        damaged("weights-truncated", truncate("model.safetensors"), "model.safetensors"),
        damaged("weights-empty", write("model.safetensors", b""), "model.safetensors"),
        damaged("weights-binary", write("model.safetensors", BINARY), "model.safetensors"),
        damaged("weights-wrong-shape", wrong_shape, "model.safetensors"),
        damaged("weights-header-lies", header_lies, "model.safetensors"),
    ]
    for rel in RUN_FILES[task]:
        cases.append(damaged(f"no-{rel}", rm(rel), rel))
        cases.append(damaged(f"damaged-{rel}", write(rel, b"{ not json"), rel))
    other = {"classify": "forecast", "forecast": "classify", "seq2seq": "tag",
             "tag": "seq2seq"}[task]
    cases.append(damaged(f"task-says-{other}", config_edit(lambda d: d.update(task=other)),
                         "config.json"))
    return cases


def evaluate_predict_cases(task: str) -> list[Case]:
    d = lambda ws: ws.runs[task]  # noqa: E731

    def ev(name: str, extra: Callable[[Workspace, Path], list[str]], expect) -> Case:
        return run_case(task, "evaluate-" + name,
                        lambda ws, tmp: ["evaluate", str(d(ws))] + extra(ws, tmp), expect)

    def pr(name: str, extra: Callable[[Workspace, Path], list[str]], expect) -> Case:
        return run_case(task, "predict-" + name,
                        lambda ws, tmp: ["predict", str(d(ws))] + extra(ws, tmp), expect)

    def file(name: str, content: bytes | str) -> Callable[[Path], Path]:
        return lambda tmp: (_bytes if isinstance(content, bytes) else _text)(tmp / name, content)

    cases = [
        ev("missing-input", lambda ws, t: ["--input", str(t / "none.x")], "none.x"),
        ev("input-is-directory", lambda ws, t: ["--input", str(t)], lambda ws, t: t.name),
        ev("batch-size-0", lambda ws, t: ["--input", str(ws.data / "s.csv"), "--batch-size",
                                           "0"], "--batch-size"),
        ev("unknown-flag", lambda ws, t: ["--nosuch"], "--nosuch"),
        pr("no-input", lambda ws, t: [], "--input"),
        pr("batch-size-negative", lambda ws, t: PREDICT_INPUT[task](ws) + ["--batch-size", "-1"],
           "--batch-size"),
        pr("batch-size-text", lambda ws, t: PREDICT_INPUT[task](ws) + ["--batch-size", "x"],
           "--batch-size"),
        pr("device-cuda", lambda ws, t: PREDICT_INPUT[task](ws) + ["--device", "cuda"],
           "--device"),
        pr("device-unknown", lambda ws, t: PREDICT_INPUT[task](ws) + ["--device", "gpu0"],
           "--device"),
        pr("output-is-directory", lambda ws, t: PREDICT_INPUT[task](ws) + ["--output", str(t)],
           lambda ws, t: t.name),
        pr("missing-input-file", lambda ws, t: ["--input", str(t / "none.x")], "none.x"),
        pr("binary-input", lambda ws, t: ["--input", str(file("bin.txt", BINARY)(t))],
           "bin.txt"),
        pr("empty-input", lambda ws, t: ["--input", str(file("empty.txt", b"")(t))],
           "empty.txt"),
        run_case(task, "evaluate-not-a-directory",
                 lambda ws, t: ["evaluate", str(ws.data / "train.csv"), "--input",
                                str(ws.data / "train.csv")], "train.csv"),
        run_case(task, "predict-run-missing",
                 lambda ws, t: ["predict", str(t / "norun")] + PREDICT_INPUT[task](ws), "norun"),
    ]
    if task in ("classify", "seq2seq", "tag"):
        cases.append(pr("empty-text", lambda ws, t: ["--text", ""], "--text"))
        cases.append(pr("blank-text", lambda ws, t: ["--text", "   "], "--text"))
        cases.append(pr("damaged-utf8-input", lambda ws, t: [
            "--input", str(file("u.txt", b"good line\nbad \xe9 byte \xc3\xa9\n")(t))], "u.txt:2"))
    if task == "classify":
        cases += [
            ev("unknown-label", lambda ws, t: ["--input", str(file("t.csv", (
                "text,label\nprofit rose,positive\nshares fell,bogus\n"))(t))], "t.csv:3"),
            ev("missing-label-column", lambda ws, t: ["--input", str(file("t.csv", (
                "text,tag\nprofit rose,positive\n"))(t))], "t.csv"),
            ev("label-column-unknown", lambda ws, t: ["--input", str(ws.data / "test.csv"),
                                                      "--label-column", "nosuch"], "nosuch"),
            ev("malformed-csv", lambda ws, t: ["--input", str(file("t.csv", (
                "text,label\n\"open quote,positive\n"))(t))], "t.csv:2"),
            pr("text-column-unknown", lambda ws, t: ["--input", str(ws.data / "test.csv"),
                                                     "--text-column", "nosuch"], "nosuch"),
            pr("attention-source-unknown", lambda ws, t: ["--text", "x",
                                                          "--attention-source", "nosuch"],
               "--attention-source|'attention'"),
            pr("csv-empty-text", lambda ws, t: ["--input", str(file("t.csv", (
                "text,label\nfine,positive\n\"\",negative\n"))(t))], "t.csv:3"),
        ]
    if task == "forecast":
        short = lambda t: _series_csv(t, "short.csv", lambda f: f.iloc[:20])  # noqa: E731
        cases += [
            ev("series-too-short", lambda ws, t: ["--input", str(short(t))],
               "short.csv|'input_len'"),
            ev("missing-channel", lambda ws, t: ["--input", str(_series_csv(
                t, "c.csv", lambda f: f.drop(columns=["a"])))], "c.csv"),
            ev("split-unknown", lambda ws, t: ["--input", str(ws.data / "s.csv"), "--split",
                                               "nosuch"], "--split"),
            ev("window-out-of-range", lambda ws, t: ["--input", str(ws.data / "s.csv"),
                                                     "--plot", str(t / "p.png"),
                                                     "--window", "9999"], "--window"),
            pr("series-too-short", lambda ws, t: ["--input", str(short(t))],
               "short.csv|'input_len'"),
            pr("end-zero", lambda ws, t: ["--input", str(ws.data / "s.csv"), "--end", "0"],
               "--end"),
            pr("end-beyond-series", lambda ws, t: ["--input", str(ws.data / "s.csv"), "--end",
                                                   "9999"], "--end"),
            pr("end-negative", lambda ws, t: ["--input", str(ws.data / "s.csv"), "--end", "-5"],
               "--end"),
            pr("parquet-corrupt", lambda ws, t: ["--input", str(file("x.parquet",
                                                                     b"PAR1junkPAR1")(t))],
               "x.parquet"),
            pr("parquet-empty", lambda ws, t: ["--input", str(file("x.parquet", b"")(t))],
               "x.parquet"),
            pr("channel-unknown", lambda ws, t: ["--input", str(ws.data / "s.csv"),
                                                 "--plot", str(t / "p.png"), "--channel",
                                                 "nosuch"], "--channel"),
        ]
    if task == "seq2seq":
        cases += [
            ev("ref-line-mismatch", lambda ws, t: ["--input", str(ws.data / "train.en"),
                                                   "--ref", str(file("r.de", "one\n")(t))],
               "r.de"),
            ev("ref-missing", lambda ws, t: ["--input", str(ws.data / "train.en"),
                                             "--ref", str(t / "none.de")], "none.de"),
            ev("no-references", lambda ws, t: ["--input", str(ws.data / "train.en")],
               "--ref|train.en"),
            ev("metric-unknown", lambda ws, t: ["--input", str(ws.data / "train.en"), "--ref",
                                                str(ws.data / "train.de"), "--metrics",
                                                "bleu,nosuch"], "--metrics"),
            ev("beam-zero", lambda ws, t: ["--input", str(ws.data / "train.en"), "--ref",
                                           str(ws.data / "train.de"), "--beam", "0"],
               "--beam"),
            pr("beam-negative", lambda ws, t: ["--text", "a dog", "--beam", "-2"],
               "--beam"),
            pr("length-penalty-negative", lambda ws, t: ["--text", "a dog", "--length-penalty",
                                                         "-1"], "--length-penalty"),
            pr("empty-source-line", lambda ws, t: ["--input", str(file("s.en",
                                                                       "a dog\n\na cat\n")(t))],
               "s.en:2"),
        ]
    if task == "tag":
        cases += [
            ev("unknown-tag", lambda ws, t: ["--input", str(file("t.conll", (
                "Alice\tB-person\nvisits\tB-weird\n\n"))(t))], "t.conll:2"),
            ev("row-without-tag", lambda ws, t: ["--input", str(file("t.conll", (
                "Alice\tB-person\nvisits\n\n"))(t))], "t.conll:2"),
            ev("column-unknown", lambda ws, t: ["--input", str(ws.data / "dev.conll"),
                                                "--column", "nosuch"], "--column"),
            pr("conll-output-is-directory", lambda ws, t: ["--text", "Alice visits Rome .",
                                                           "--conll", str(t)],
               lambda ws, t: t.name),
        ]
    return cases


# -- the other commands
def align_cases() -> list[Case]:
    f = "align"
    base = lambda ws, t: ["align", str(ws.runs["seq2seq"]), "--input",  # noqa: E731
                          str(ws.data / "train.en"), "--ref", str(ws.data / "train.de"),
                          "--output", str(t / "out.align")]

    def c(name: str, extra: Callable[[Workspace, Path], list[str]], expect: str,
          default_layer: bool = False) -> Case:
        def argv(ws: Workspace, t: Path) -> list[str]:
            layer = [] if default_layer else ["--layer", "-1"]
            return base(ws, t) + layer + extra(ws, t)
        return run_case(f, name, argv, expect)

    gold = lambda t, text: str(_text(t / "gold.txt", text))  # noqa: E731
    return [
        c("default-layer-one-decoder-layer", lambda ws, t: [], "--layer", default_layer=True),
        c("layer-out-of-range", lambda ws, t: ["--layer", "7"], "--layer"),
        c("layer-not-a-number", lambda ws, t: ["--layer", "x"], "--layer"),
        c("head-out-of-range", lambda ws, t: ["--heads", "0,9"], "--heads"),
        c("heads-not-numbers", lambda ws, t: ["--heads", "a,b"], "--heads"),
        c("method-unknown", lambda ws, t: ["--method", "nosuch"], "method"),
        c("threshold-zero", lambda ws, t: ["--method", "threshold", "--threshold", "0"],
          "threshold"),
        c("merge-unknown", lambda ws, t: ["--merge", "nosuch"], "merge"),
        c("symmetrize-unknown", lambda ws, t: ["--symmetrize", "nosuch"], "symmetrize"),
        c("gold-link-beyond-sentence", lambda ws, t: ["--gold", gold(
            t, "1-1\n1-9\n" + "1-1\n" * 4)], "gold.txt:2"),
        c("gold-malformed", lambda ws, t: ["--gold", gold(t, "1-1\nx-y\n" + "1-1\n" * 4)],
          "gold.txt:2"),
        c("gold-zero-index", lambda ws, t: ["--gold", gold(t, "1-1\n0-1\n" + "1-1\n" * 4)],
          "gold.txt:2"),
        c("gold-line-count", lambda ws, t: ["--gold", gold(t, "1-1\n")], "gold.txt"),
        c("gold-missing", lambda ws, t: ["--gold", str(t / "none.txt")], "none.txt"),
        c("reverse-missing", lambda ws, t: ["--reverse", str(t / "norun")], "norun"),
        c("reverse-classify-run", lambda ws, t: ["--reverse", str(ws.runs["classify"])],
          "classify"),
        c("device-cuda", lambda ws, t: ["--device", "cuda"], "--device|'device'"),
        run_case(f, "classify-run", lambda ws, t: [
            "align", str(ws.runs["classify"]), "--input", str(ws.data / "train.en"),
            "--ref", str(ws.data / "train.de"), "--output", str(t / "o")], "classify"),
        run_case(f, "no-run-no-eflomal", lambda ws, t: [
            "align", "--input", str(ws.data / "train.en"), "--ref", str(ws.data / "train.de"),
            "--output", str(t / "o")], "RUN"),
        run_case(f, "input-line-mismatch", lambda ws, t: [
            "align", str(ws.runs["seq2seq"]), "--input", str(ws.data / "train.en"),
            "--ref", str(_text(t / "r.de", "eins\n")), "--output", str(t / "o"), "--layer",
            "-1"], "r.de"),
        run_case(f, "empty-source-line", lambda ws, t: [
            "align", str(ws.runs["seq2seq"]), "--input", str(_text(t / "s.en", "a dog\n\n")),
            "--ref", str(_text(t / "s.de", "ein Hund\nein\n")), "--output", str(t / "o"),
            "--layer", "-1"], "s.en:2"),
        run_case(f, "missing-output", lambda ws, t: [
            "align", str(ws.runs["seq2seq"]), "--input", str(ws.data / "train.en")],
            "--output"),
    ]


def explain_cases() -> list[Case]:
    f = "explain"

    def c(name: str, argv: Callable[[Workspace, Path], list[str]], expect: str) -> Case:
        return run_case(f, name, lambda ws, t: ["explain"] + argv(ws, t), expect)

    cl = lambda ws: str(ws.runs["classify"])  # noqa: E731
    out = lambda t: ["--output", str(t / "x.html")]  # noqa: E731
    return [
        c("no-run", lambda ws, t: [], "RUN"),
        c("run-missing", lambda ws, t: [str(t / "norun"), "--text", "x"] + out(t), "norun"),
        c("limit-zero", lambda ws, t: [cl(ws), "--text", "x", "--limit", "0"] + out(t),
          "--limit"),
        c("batch-size-zero", lambda ws, t: [cl(ws), "--text", "x", "--batch-size", "0"] + out(t),
          "--batch-size"),
        c("format-unknown", lambda ws, t: [cl(ws), "--text", "x", "--format", "gif"] + out(t),
          "--format"),
        c("methods-unknown", lambda ws, t: [cl(ws), "--text", "x", "--methods", "nosuch"]
          + out(t), "nosuch"),
        c("no-output", lambda ws, t: [cl(ws), "--text", "x"], "--output"),
        c("no-input", lambda ws, t: [cl(ws)] + out(t), "--input"),
        c("input-missing", lambda ws, t: [cl(ws), "--input", str(t / "none.csv")] + out(t),
          "none.csv"),
        c("input-binary", lambda ws, t: [cl(ws), "--input", str(_bytes(t / "b.csv", BINARY))]
          + out(t), "b.csv"),
        c("empty-text", lambda ws, t: [cl(ws), "--text", ""] + out(t), "--text"),
        c("png-layer-out-of-range", lambda ws, t: [cl(ws), "--text", "profit rose", "--output",
                                                   str(t / "f.png"), "--layer", "9"],
          "--layer|'layer'"),
        c("png-head-out-of-range", lambda ws, t: [cl(ws), "--text", "profit rose", "--output",
                                                  str(t / "f.png"), "--head", "9"],
          "--head|'head'"),
        c("seq2seq-alignment-without-ref", lambda ws, t: [
            str(ws.runs["seq2seq"]), "--input", str(ws.data / "train.en"), "--alignment",
            str(ws.data / "train.align")] + out(t), "--ref"),
        c("seq2seq-ref-mismatch", lambda ws, t: [
            str(ws.runs["seq2seq"]), "--input", str(ws.data / "train.en"), "--ref",
            str(_text(t / "r.de", "eins\n"))] + out(t), "r.de"),
        c("seq2seq-alignment-beyond-sentence", lambda ws, t: [
            str(ws.runs["seq2seq"]), "--input", str(ws.data / "train.en"), "--ref",
            str(ws.data / "train.de"), "--alignment",
            str(_text(t / "g.align", "0-0\n0-9\n" + "0-0\n" * 4))] + out(t), "g.align:2"),
        c("forecast-end-zero", lambda ws, t: [
            str(ws.runs["forecast"]), "--input", str(ws.data / "s.csv"), "--end", "0"] + out(t),
          "--end|'end'"),
        c("device-cuda", lambda ws, t: [cl(ws), "--text", "x", "--device", "cuda"] + out(t),
          "--device|'device'"),
    ]


def serve_cases() -> list[Case]:
    """Argument and config errors only: the server must never start (see ``no_server``)."""
    f = "serve"

    def c(name: str, argv: Callable[[Workspace, Path], list[str]], expect: str) -> Case:
        return run_case(f, name, lambda ws, t: ["serve"] + argv(ws, t), expect, tags=("serve",))

    run = lambda ws: str(ws.runs["classify"])  # noqa: E731
    return [
        c("no-runs", lambda ws, t: [], "RUN"),
        c("run-missing", lambda ws, t: [str(t / "norun")], "norun"),
        c("run-not-a-run", lambda ws, t: [str(ws.data)], "data"),
        c("port-text", lambda ws, t: [run(ws), "--port", "http"], "--port"),
        c("port-negative", lambda ws, t: [run(ws), "--port", "-1"], "port"),
        c("port-too-large", lambda ws, t: [run(ws), "--port", "70000"], "port"),
        c("unknown-flag", lambda ws, t: [run(ws), "--nosuch"], "--nosuch"),
        c("config-not-json", lambda ws, t: [run(ws), "--config",
                                            str(_bytes(t / "s.json", b"{ no"))], "s.json"),
        c("config-unknown-key", lambda ws, t: [run(ws), "--config",
                                               str(_bytes(t / "s.json", b'{"nosuch": 1}'))],
          "nosuch"),
        c("config-array", lambda ws, t: [run(ws), "--config", str(_bytes(t / "s.json", b"[]"))],
          "s.json"),
        c("config-missing", lambda ws, t: [run(ws), "--config", str(t / "none.json")],
          "none.json"),
        c("name-twice", lambda ws, t: [f"a={run(ws)}", f"a={run(ws)}"], "a"),
        # a damaged run is not an argument error: the server starts and reports it on /readyz
        # (503, naming the file; test_bad_inputs.test_serve_reports_a_damaged_run_on_readyz)
    ] + _numeric_serve_cases()


def _numeric_serve_cases() -> list[Case]:
    """0 and -1 for ServeConfig's numeric fields whose docstring gives 0 no meaning."""
    import dataclasses

    from attnpred.config import field_docs
    from attnpred.serve.config import ServeConfig
    docs, hints = field_docs(ServeConfig), typing.get_type_hints(ServeConfig)
    cases = []
    for fld in dataclasses.fields(ServeConfig):
        if hints[fld.name] not in (int, float) or fld.name == "port":
            continue
        flag = "--" + fld.name.replace("_", "-")
        values = ["-1"] + ([] if _zero_means_something(docs.get(fld.name, ""), fld.name)
                           else ["0"])
        for v in values:
            cases.append(run_case("serve", f"flag{flag}={v}",
                                  lambda ws, t, fl=flag, v=v: ["serve", str(ws.runs["classify"]),
                                                               "--allow-anonymous", fl, v],
                                  f"{flag}|'{fld.name}'",
                                  tags=("serve",)))
    return cases


def _damaged_weights(ws: Workspace, tmp: Path) -> Path:
    run = ws.copy_run("classify", tmp)
    data = (run / "model.safetensors").read_bytes()
    (run / "model.safetensors").write_bytes(data[: len(data) // 3])
    return run


def deploy_cases() -> list[Case]:
    """export, prune and monitor."""
    run = lambda ws: str(ws.runs["classify"])  # noqa: E731
    cases = [
        run_case("export", "run-missing", lambda ws, t: ["export", str(t / "norun")], "norun"),
        run_case("export", "forecast-run", lambda ws, t: ["export", str(ws.runs["forecast"])],
                 "forecast"),
        run_case("export", "format-unknown", lambda ws, t: ["export", run(ws), "--format",
                                                            "tflite"], "--format"),
        run_case("export", "quantize-unknown", lambda ws, t: ["export", run(ws), "--quantize",
                                                              "int4"], "--quantize"),
        run_case("export", "max-diff-negative", lambda ws, t: ["export", run(ws), "--max-diff",
                                                               "-1"], "--max-diff"),
        run_case("export", "limit-zero", lambda ws, t: ["export", run(ws), "--limit", "0"],
                 "--limit"),
        run_case("export", "limit-text", lambda ws, t: ["export", run(ws), "--limit", "x"],
                 "--limit"),
        run_case("export", "damaged-run", lambda ws, t: ["export", str(_damaged_weights(ws, t))],
                 "model.safetensors"),
        run_case("prune", "run-missing", lambda ws, t: ["prune", str(t / "norun"), "--heads",
                                                        "1", "--out", str(t / "o")], "norun"),
        run_case("prune", "heads-zero", lambda ws, t: ["prune", run(ws), "--heads", "0",
                                                       "--out", str(t / "o")], "--heads"),
        run_case("prune", "heads-negative", lambda ws, t: ["prune", run(ws), "--heads", "-1",
                                                           "--out", str(t / "o")], "--heads"),
        run_case("prune", "heads-all", lambda ws, t: ["prune", run(ws), "--heads", "2",
                                                      "--out", str(t / "o")], "--heads"),
        run_case("prune", "heads-text", lambda ws, t: ["prune", run(ws), "--heads", "x",
                                                       "--out", str(t / "o")], "--heads"),
        run_case("prune", "out-is-the-run", lambda ws, t: ["prune", run(ws), "--heads", "1",
                                                           "--out", run(ws)], "--out"),
        run_case("prune", "out-foreign-folder", lambda ws, t: [
            "prune", run(ws), "--heads", "1", "--out", str(_foreign(t))], "foreign"),
        run_case("prune", "seq2seq-run", lambda ws, t: ["prune", str(ws.runs["seq2seq"]),
                                                        "--heads", "1", "--out", str(t / "o")],
                 "seq2seq"),
        run_case("prune", "no-out", lambda ws, t: ["prune", run(ws), "--heads", "1"], "--out"),
    ]

    def mon(name: str, argv: Callable[[Workspace, Path], list[str]], expect: str) -> Case:
        return run_case("monitor", name, lambda ws, t: ["monitor"] + argv(ws, t), expect)

    rules = lambda ws: ["--rules", str(ws.data / "rules.json")]  # noqa: E731
    stream = lambda ws: ["--input", str(ws.data / "stream.jsonl")]  # noqa: E731
    cases += [
        mon("stream-missing", lambda ws, t: [run(ws), "--input", str(t / "none.jsonl")]
            + rules(ws), "none.jsonl"),
        mon("stream-invalid-line", lambda ws, t: [run(ws), "--input", str(_text(
            t / "s.jsonl", '{"text": "a"}\n{"text": \n'))] + rules(ws), "s.jsonl:2"),
        mon("stream-not-object", lambda ws, t: [run(ws), "--input", str(_text(
            t / "s.jsonl", '{"text": "a"}\n[1]\n'))] + rules(ws), "s.jsonl:2"),
        mon("stream-field-missing", lambda ws, t: [run(ws), "--input", str(_text(
            t / "s.jsonl", '{"text": "a"}\n{"body": "b"}\n'))] + rules(ws), "s.jsonl:2"),
        mon("stream-binary", lambda ws, t: [run(ws), "--input", str(_bytes(t / "s.jsonl",
                                                                           BINARY))]
            + rules(ws), "s.jsonl"),
        mon("rules-not-json", lambda ws, t: [run(ws)] + stream(ws) + [
            "--rules", str(_bytes(t / "r.json", b"{ no"))], "r.json"),
        mon("rules-array", lambda ws, t: [run(ws)] + stream(ws) + [
            "--rules", str(_bytes(t / "r.json", b"[1]"))], "r.json"),
        mon("rules-unknown-key", lambda ws, t: [run(ws)] + stream(ws) + [
            "--rules", str(_bytes(t / "r.json", b'{"rules": [], "nosuch": 1}'))], "nosuch"),
        mon("rules-missing", lambda ws, t: [run(ws)] + stream(ws) + [
            "--rules", str(t / "none.json")], "none.json"),
        mon("batch-size-zero", lambda ws, t: [run(ws)] + stream(ws) + rules(ws) + [
            "--batch-size", "0"], "--batch-size"),
        mon("run-missing", lambda ws, t: [str(t / "norun")] + stream(ws) + rules(ws), "norun"),
    ]
    return cases


def _foreign(tmp: Path) -> Path:
    folder = tmp / "foreign"
    folder.mkdir()
    (folder / "notes.txt").write_text("a user's file")
    return folder


def pretrain_cases() -> list[Case]:
    from attnpred.cli.pretrain import FLAGS
    from attnpred.config import field_docs, field_type
    from attnpred.tasks.pretrain import MLMConfig

    def c(name: str, extra: Callable[[Workspace, Path], list[str]], expect) -> Case:
        return run_case("pretrain", name, lambda ws, t: [
            "pretrain", "--out", str(t / "out"), "--train", str(ws.data / "texts.txt"),
            "--dim", "16", "--heads", "2", "--layers", "1", "--ff-dim", "32", "--max-len", "16",
            "--vocab-size", "100", "--epochs", "1", "--no-progress",
            "--set", "trainer.tensorboard=false"] + extra(ws, t), expect)

    cases = [
        c("train-missing", lambda ws, t: ["--train", str(t / "none.txt")], "none.txt"),
        c("train-empty", lambda ws, t: ["--train", str(_bytes(t / "e.txt", b"\n\n"))], "e.txt"),
        c("train-binary", lambda ws, t: ["--train", str(_bytes(t / "b.txt", BINARY))], "b.txt"),
        c("mask-prob-one", lambda ws, t: ["--mask-prob", "1.5"], "--mask-prob"),
        c("config-not-json", lambda ws, t: ["--config", str(_bytes(t / "c.json", b"{"))],
          "c.json"),
        c("set-unknown", lambda ws, t: ["--set", "nosuch=1"], "nosuch"),
        c("device-cuda", lambda ws, t: ["--device", "cuda"], "--device"),
    ]
    for flag, dotted in FLAGS.items():
        owner, hint = field_type(MLMConfig, dotted)
        leaf = dotted.rsplit(".", 1)[-1]
        if hint not in (int, float):
            continue
        option = "--" + flag.replace("_", "-")
        values = ["-1", "x"] + ([] if _zero_means_something(field_docs(owner).get(leaf, ""),
                                                             leaf) else ["0"])
        for v in values:
            cases.append(c(f"flag{option}={v}", lambda ws, t, o=option, v=v: [o, v],
                           f"{option}|'{leaf}'"))
    return cases


def cases() -> list[Case]:
    """Every case, in a stable order with unique ids."""
    out: list[Case] = []
    for task in TASK_FAMILIES:
        out += flag_value_cases(task) + set_and_config_cases(task)
    out += classify_data_cases() + forecast_data_cases() + seq2seq_data_cases() + \
        tag_data_cases()
    for task in TASK_FAMILIES:
        out += evaluate_predict_cases(task) + damaged_run_cases(task)
    out += align_cases() + explain_cases() + serve_cases() + deploy_cases() + pretrain_cases()
    ids = [c.id for c in out]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, duplicates
    return out


# ---- running and judging ----------------------------------------------------------------------
class ServerWouldStart(Exception):
    """Raised instead of binding a port: a serve case got past every check."""


@contextlib.contextmanager
def no_server() -> Iterator[None]:
    """Make any attempt to start uvicorn raise ServerWouldStart (nothing ever listens)."""
    import uvicorn

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ServerWouldStart()
    saved = (uvicorn.Server.run, uvicorn.Server.serve, uvicorn.run)
    uvicorn.Server.run = refuse  # type: ignore[method-assign]
    uvicorn.Server.serve = refuse  # type: ignore[method-assign]
    uvicorn.run = refuse
    try:
        yield
    finally:
        uvicorn.Server.run, uvicorn.Server.serve, uvicorn.run = saved


def tree_hash(paths: list[Path]) -> str:
    """One digest of every file (name and bytes) under ``paths``."""
    h = hashlib.sha256()
    for root in paths:
        if not root.exists():
            h.update(b"<missing>" + str(root).encode())
            continue
        for path in sorted(p for p in root.rglob("*")):
            h.update(str(path.relative_to(root)).encode())
            if path.is_file():
                h.update(path.read_bytes())
    return h.hexdigest()


@dataclass
class Outcome:
    """What one case did and how it is judged."""

    case: str
    family: str
    verdict: str  # clear, traceback, silent or unclear
    code: int | None
    stderr: str
    detail: str = ""


def run_one(case: Case, ws: Workspace) -> Outcome:
    """Run ``case`` in-process and judge it (see the module docstring)."""
    from attnpred.cli.main import main
    tmp = ws.case_dir(case.id.replace(":", "-").replace("/", "_"))
    argv, expect = case.build(ws, tmp)
    saved = sorted(set(ws.runs.values())) + sorted(p for p in tmp.iterdir()
                                                   if p.name.endswith("-run"))
    before = tree_hash(saved)
    out, err = io.StringIO(), io.StringIO()
    code, escaped = None, ""
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), no_server():
        try:
            code = main(argv)
        except ServerWouldStart:
            code = 0
        except SystemExit as exc:  # --help and friends
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - a bug: the suite reports it
            escaped = traceback.format_exc()
    text = err.getvalue()
    lines = [line for line in text.strip().splitlines() if line.strip()]
    changed = tree_hash(saved) != before
    if escaped or "Traceback" in text:
        verdict, detail = "traceback", (escaped or text).strip().splitlines()[-1]
    elif code == 0:
        verdict, detail = "silent", "exit 0: " + out.getvalue().strip()[-200:]
    elif code != 2 or len(lines) != 1 or changed or \
            not any(e in lines[0] for e in expect.split("|")):
        verdict = "unclear"
        detail = (f"exit {code}, {len(lines)} line(s), expected {expect!r} in the message"
                  + (", a saved run changed" if changed else ""))
    else:
        verdict, detail = "clear", ""
    return Outcome(case.id, case.family, verdict, code, text.strip(), detail)


def summarise(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    """Per family: cases, clear_errors, tracebacks, silent_wrong, unclear."""
    out: dict[str, dict[str, int]] = {}
    for o in outcomes:
        row = out.setdefault(o.family, {"cases": 0, "clear_errors": 0, "tracebacks": 0,
                                        "silent_wrong": 0, "unclear": 0})
        row["cases"] += 1
        row[{"clear": "clear_errors", "traceback": "tracebacks", "silent": "silent_wrong",
             "unclear": "unclear"}[o.verdict]] += 1
    return out
