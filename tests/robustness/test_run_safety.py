"""Run directories: no code runs from a checkpoint, resume refuses a changed config, a kill at
any write of the final save leaves a resumable or complete run, the log has no duplicates."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from textdata import synthetic_rows, write_csv

from killing import Killed
import attnpred
from attnpred.cli.main import main
from attnpred.errors import AttnpredError
from attnpred.models.classifier import ClassifierConfig
from attnpred.tasks import rundir
from attnpred.training.trainer import Trainer


def tiny(root: Path, **trainer) -> attnpred.ClassifyRunConfig:
    train = write_csv(root / "train.csv", synthetic_rows(60, 0))
    return attnpred.ClassifyRunConfig(
        data=attnpred.TextDataConfig(train=str(train)), vocab_size=120, batch_size=8,
        scratch=ClassifierConfig(dim=16, heads=2, layers=1, ff_dim=32, max_len=16),
        trainer=attnpred.TrainerConfig(epochs=2, lr=5e-3, checkpoint_every=2, progress=False,
                                       tensorboard=False, **trainer))


def killed_run(root: Path, monkeypatch, at: int = 4) -> Path:
    run = root / "run"
    real, calls = Trainer._backward, {"n": 0}

    def dying(self, batch):
        calls["n"] += 1
        if calls["n"] == at:
            raise Killed()
        return real(self, batch)
    monkeypatch.setattr(Trainer, "_backward", dying)
    with pytest.raises(Killed):
        attnpred.train(tiny(root), run)
    monkeypatch.setattr(Trainer, "_backward", real)
    return run


class Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {Path(os.environ['EXPLOIT_MARK'])}",))


def test_a_crafted_checkpoint_cannot_run_code_on_resume(tmp_path, monkeypatch, capsys):
    run = killed_run(tmp_path, monkeypatch)
    mark = tmp_path / "pwned"
    monkeypatch.setenv("EXPLOIT_MARK", str(mark))
    torch.save({"model": Exploit()}, run / "checkpoints" / "last.pt")
    with pytest.raises(AttnpredError, match="cannot be loaded safely"):
        attnpred.train(tiny(tmp_path), run, resume=True)
    assert not mark.exists()
    torch.load(run / "checkpoints" / "last.pt", weights_only=False)  # guards the test: it would
    assert mark.exists()


def test_resume_refuses_a_changed_config(tmp_path, monkeypatch, capsys):
    run = killed_run(tmp_path, monkeypatch)
    changed = tiny(tmp_path)
    changed.batch_size = 4
    with pytest.raises(AttnpredError, match="batch_size"):
        attnpred.train(changed, run, resume=True)
    quiet = tiny(tmp_path)
    quiet.trainer.device = "cpu"  # what is trained does not change: allowed
    attnpred.train(quiet, run, resume=True)
    steps = [json.loads(x)["step"] for x in (run / "train_log.jsonl").read_text().splitlines()
             if "train/loss" in x]
    assert steps == sorted(set(steps)), "a resumed run logs each step once"


@pytest.mark.parametrize("failing_write", [1, 2, 3])
def test_a_kill_at_any_final_write_leaves_a_resumable_or_complete_run(tmp_path, monkeypatch,
                                                                      failing_write):
    reference = tmp_path / "ref"
    attnpred.train(tiny(tmp_path), reference)
    run = tmp_path / "run"
    real, calls = rundir.atomic_write_text, {"n": 0}

    def dying(path, text):
        if Path(path).name in ("metrics.json", "report.txt", "complete.json"):
            calls["n"] += 1
            if calls["n"] == failing_write:
                raise Killed()
        return real(path, text)
    monkeypatch.setattr(rundir, "atomic_write_text", dying)
    with pytest.raises(Killed):
        attnpred.train(tiny(tmp_path), run)
    monkeypatch.setattr(rundir, "atomic_write_text", real)
    assert not rundir.is_complete(run)
    attnpred.train(tiny(tmp_path), run, resume=True)
    assert rundir.is_complete(run)
    assert (run / "model.safetensors").read_bytes() == (reference / "model.safetensors").read_bytes()


def test_stale_temporary_files_are_cleaned_on_resume(tmp_path, monkeypatch):
    run = killed_run(tmp_path, monkeypatch)
    (run / "checkpoints" / ".last.pt.abc.tmp").write_bytes(b"half")
    attnpred.train(tiny(tmp_path), run, resume=True)
    assert not list(run.rglob("*.tmp"))


def test_cli_resume_of_a_crafted_checkpoint_is_one_line(tmp_path, monkeypatch, capsys):
    run = killed_run(tmp_path, monkeypatch)
    (run / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")
    argv = ["train", "--task", "classify", "--out", str(run), "--resume", "--config",
            str(run / "config.json")]
    json.loads((run / "config.json").read_text())
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
