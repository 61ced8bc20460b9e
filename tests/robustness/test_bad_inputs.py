"""The bad-input suite: every command of every family on generated malformed inputs and
faulty run directories (``bad_inputs.cases()``, several hundred). Each must end with exit
status 2 and one stderr line naming the file (and line) or the field/flag, with no traceback
and no change to any saved run. One tiny run per task family is trained once for the module.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from bad_inputs import FAMILIES, Workspace, cases, run_one, tag_registered, tree_hash

from attnpred.cli.main import main

CASES = cases()
# cases that still fail, with the reason; strict: fixing one makes its xfail an error
KNOWN: dict[str, str] = {}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with tag_registered():
        workspace = Workspace(tmp_path_factory.mktemp("bad-inputs"))
        workspace.train_runs()
        yield workspace
    torch.set_num_threads(threads)


def test_there_are_enough_distinct_cases_for_every_family():
    counts = {f: sum(c.family == f for c in CASES) for f in FAMILIES}
    assert len({c.id for c in CASES}) == len(CASES) >= 150
    assert all(n >= 5 for n in counts.values()), counts


@pytest.mark.parametrize("case", [
    pytest.param(c, id=c.id, marks=pytest.mark.xfail(reason=KNOWN[c.id], strict=True))
    if c.id in KNOWN else pytest.param(c, id=c.id) for c in CASES])
def test_bad_input_is_one_clear_line(case, ws):
    with tag_registered():
        outcome = run_one(case, ws)
    assert outcome.verdict == "clear", f"{outcome.verdict}: {outcome.detail}\n{outcome.stderr}"


def test_a_latin1_file_is_read_with_a_warning_naming_encoding_and_line(ws, tmp_path, capsys):
    data = tmp_path / "latin.csv"
    rows = "".join(f"{t},{label}\n" for t, label in [("profit rose in Espoo", "positive"),
                                                      ("shares fell", "negative"),
                                                      ("the market said", "neutral")] * 10)
    data.write_bytes(("text,label\n" + rows + "Sepp\u00e4l\u00e4 profit rose,positive\n")
                     .encode("latin-1"))
    before = tree_hash(list(ws.runs.values()))
    code = main(["predict", str(ws.runs["classify"]), "--input", str(data)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 0 and len(err) == 1, err
    assert "latin-1" in err[0] and f"{data}:32" in err[0] and err[0].startswith(
        "attnpred: warning:")
    assert tree_hash(list(ws.runs.values())) == before


def test_a_single_value_ridge_grid_trains(ws, tmp_path, capsys):
    from bad_inputs import TRAIN_ARGV
    argv = ["train", "--task", "forecast", "--out", str(tmp_path / "r"), "--no-progress"] + \
        TRAIN_ARGV["forecast"](ws) + ["--ridge-grid", "1.0"]
    assert main(argv) == 0, capsys.readouterr().err
    import json
    assert json.loads((tmp_path / "r" / "config.json").read_text())["forecaster"]["ridge"] == 1.0


@pytest.mark.parametrize("argv", [
    ["train", "--task", "classify", "--out", "{tmp}/o", "--train", "{tmp}/none.csv"],
    ["predict", "{run}", "--text", "x", "--device", "cuda"],
])
def test_a_real_process_prints_one_line_and_exits_2(argv, ws, tmp_path):
    argv = [a.format(tmp=tmp_path, run=ws.runs["classify"]) for a in argv]
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, "-m", "attnpred.cli.main", *argv], check=False,
                          env=env, capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[2])
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, \
        proc.stderr


def test_serve_reports_a_damaged_run_on_readyz(ws, tmp_path):
    """Runs load after the server starts; a damaged one is a 503 on /readyz naming the file,
    and predictions for it are refused, not served from a half-loaded model."""
    import time

    from bad_inputs import _damaged_weights
    from fastapi.testclient import TestClient

    from attnpred.serve.app import build_app
    from attnpred.serve.config import ServeConfig
    run = _damaged_weights(ws, tmp_path)
    app = build_app(ServeConfig(runs=[str(run)], allow_anonymous=True))
    with TestClient(app) as client:
        for _ in range(200):
            ready = client.get("/readyz")
            if ready.json().get("failed"):
                break
            time.sleep(0.05)
        assert ready.status_code == 503
        assert "model.safetensors" in next(iter(ready.json()["failed"].values()))
        answer = client.post("/v1/predict", json={"inputs": ["profit rose"]})
        assert 400 <= answer.status_code < 600 and answer.status_code != 500
