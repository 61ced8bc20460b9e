"""Distributed training on PyTorch's engine: torchrun, 2 processes, gloo on CPU.

For every family: 2 processes each taking half of every batch end with the weights of 1
process taking whole batches; a 2-process run killed mid-training and resumed ends with the
weights of an uninterrupted one; only rank 0 writes the run directory.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

WORKER = Path(__file__).with_name("ddp_worker.py")
FAMILIES = ("classify", "forecast", "seq2seq")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(family: str, root: Path, run_dir: Path, procs: int, *extra: str) -> int:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    if procs == 1:
        cmd = [sys.executable, str(WORKER)]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={procs}",
               "--master-addr=127.0.0.1", f"--master-port={_free_port()}", str(WORKER)]
    proc = subprocess.run(cmd + [family, str(root), str(run_dir), *extra], env=env,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode and not extra:
        raise AssertionError(proc.stderr[-3000:])
    return proc.returncode


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run_dir / "model.safetensors"))


def assert_close(a: dict, b: dict, atol: float = 2e-5) -> None:
    """Equal weights. Key-projection biases are left out: softmax ignores them, so their true
    gradient is zero and Adam turns the rounding noise of the two reductions into steps of
    size lr (they differ by ~1e-3 while every weight that matters agrees to 1e-5)."""
    assert a.keys() == b.keys()
    for k in a:
        if k.endswith("k_proj.bias"):
            continue
        torch.testing.assert_close(a[k], b[k], atol=atol, rtol=1e-4, msg=k)


@pytest.mark.parametrize("family", FAMILIES)
def test_two_processes_with_half_batches_equal_one_with_whole_batches(family, tmp_path):
    run(family, tmp_path / "data1", tmp_path / "one", 1)
    run(family, tmp_path / "data2", tmp_path / "two", 2, "--writes", str(tmp_path / "w.json"))
    assert_close(weights(tmp_path / "one"), weights(tmp_path / "two"))
    # rank 1 wrote nothing in the run directory; rank 0 wrote a complete run
    assert json.loads((tmp_path / "w.json").read_text()) == []
    assert (tmp_path / "two" / "complete.json").is_file()
    log = [json.loads(x) for x in (tmp_path / "two" / "train_log.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in log if "train/loss" in r]
    assert steps == sorted(set(steps)), "one log line per step: rank 0 only"


def test_killed_two_process_run_resumes_to_the_uninterrupted_weights(tmp_path):
    run("classify", tmp_path / "d", tmp_path / "whole", 2)
    assert run("classify", tmp_path / "d", tmp_path / "cut", 2, "--kill-at", "3") != 0
    assert (tmp_path / "cut" / "checkpoints" / "last.pt").is_file()
    assert not (tmp_path / "cut" / "complete.json").exists()
    run("classify", tmp_path / "d", tmp_path / "cut", 2, "--resume")
    assert_close(weights(tmp_path / "whole"), weights(tmp_path / "cut"), atol=1e-6)


def test_a_two_process_checkpoint_is_refused_by_one_process(tmp_path):
    run("classify", tmp_path / "d", tmp_path / "cut", 2, "--kill-at", "3")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(WORKER), "classify", str(tmp_path / "d"),
                           str(tmp_path / "cut"), "--resume"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode != 0
    assert "written by 2 process(es)" in proc.stderr
