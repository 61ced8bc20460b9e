"""Every command and Python example in the README runs, on tiny data, so the two cannot drift.

Shell commands are read from the README's indented blocks (lines starting with ``attnpred``,
joined across backslash continuations); placeholders (FILE, RUN, {a,b}, [...]) are skipped.
Train commands get ``--config`` with a tiny model for their task (the README's own flags win)
and ``--no-progress``. Python blocks are executed as they stand.
"""
from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import torch
from textdata import synthetic_rows, write_csv

from attnpred.cli.main import main
from attnpred.resources import resource

README = Path(__file__).resolve().parents[1] / "README.md"
TINY = {
    "classify": {"vocab_size": 150, "batch_size": 16,
                 "scratch": {"dim": 16, "heads": 2, "layers": 1, "ff_dim": 32, "max_len": 24},
                 "trainer": {"tensorboard": False}},
    "forecast": {"windows_per_epoch": 128, "forecaster": {"d_model": 8, "heads": 2,
                                                          "ff_dim": 16, "layers": 1},
                 "trainer": {"epochs": 1, "tensorboard": False}},
    "seq2seq": {"data": {"vocab_size": 60, "max_tokens": 128, "max_len": 16},
                "transformer": {"dim": 16, "heads": 2, "ff_dim": 32, "encoder_layers": 1,
                                "decoder_layers": 2, "max_len": 32},
                "trainer": {"epochs": 2, "metric": "nll", "mode": "min",
                            "tensorboard": False}},
}
PAIRS = [("a dog runs", "ein Hund rennt"), ("a cat sleeps", "eine Katze schläft"),
         ("the dog sleeps", "der Hund schläft"), ("the cat runs", "die Katze rennt")]
PLACEHOLDER = re.compile(r"^[A-Z][A-Z_]+$|[{}\[\]|]")


def shell_commands() -> list[str]:
    commands, current = [], None
    for line in README.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if current is not None:
            current += " " + text.split("#")[0].rstrip(" \\")
            if not text.split("#")[0].rstrip().endswith("\\"):
                commands.append(current)
                current = None
        elif line.startswith("    attnpred "):
            body = text.split("#")[0].rstrip()
            if body.endswith("\\"):
                current = body.rstrip(" \\")
            else:
                commands.append(body)
    return [c for c in commands if not any(PLACEHOLDER.search(t) for t in shlex.split(c))]


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def write_fixtures(root: Path) -> None:
    rows = synthetic_rows(90, 0)
    write_csv(root / "news.csv", rows)
    write_csv(root / "test.csv", synthetic_rows(30, 1))
    with open(root / "reviews.jsonl", "w", encoding="utf-8") as fh:
        for text, label in rows:
            words = text.split()
            mark = [int(w in ("profit", "rose", "growth", "record", "strong", "gain", "loss",
                              "fell", "cut", "weak", "decline", "warning")) for w in words]
            fh.write(json.dumps({"text": text, "label": label, "rationale": mark}) + "\n")
    shutil.copy(resource("ett", "ETTh1.csv"), root / "ETTh1.csv")
    for split in ("train", "val", "test"):
        (root / f"{split}.en").write_text("".join(s + "\n" for s, _ in PAIRS), encoding="utf-8")
        (root / f"{split}.de").write_text("".join(t + "\n" for _, t in PAIRS), encoding="utf-8")
    for task, cfg in TINY.items():
        (root / f"tiny-{task}.json").write_text(json.dumps(cfg))


def test_the_readme_has_examples_of_every_family():
    commands = shell_commands()
    for task in ("classify", "forecast", "seq2seq"):
        assert any(f"--task {task}" in c for c in commands), task
    assert any(c.startswith("attnpred align") for c in commands)
    assert len(python_blocks()) >= 3


def test_every_readme_command_and_example_runs(tmp_path, monkeypatch, capsys):
    torch.set_num_threads(1)
    monkeypatch.chdir(tmp_path)
    write_fixtures(tmp_path)
    for command in shell_commands():
        argv = shlex.split(command)[1:]
        if argv[0] == "train":
            task = argv[argv.index("--task") + 1]
            argv += ["--config", f"tiny-{task}.json", "--no-progress"]
        assert main(argv) == 0, (command, capsys.readouterr().err)
    for block in python_blocks():
        exec(compile(block, "README.md", "exec"), {})
