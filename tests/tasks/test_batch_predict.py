"""Prediction over big files: streamed in chunks, sharded i/N, merged back in input order."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import attnpred
from attnpred.cli.main import main
from attnpred.data.text import iter_texts
from attnpred.errors import AttnpredError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_contract import FAMILIES  # noqa: E402

WORDS = "profit rose fell the company said shares quarter loss growth".split()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for family in ("classify", "seq2seq"):
        (root / family).mkdir()
        attnpred.train(FAMILIES[family].config(root / family), root / f"{family}-run")
        out[family] = root / f"{family}-run"
    return out


def _jsonl(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({"text": " ".join(WORDS[(i * k) % len(WORDS)]
                                                          for k in range(1, 2 + i % 5))}) + "\n"
                            for i in range(n)))
    return path


def _lines(path: Path, n: int) -> Path:
    path.write_text("".join(" ".join(WORDS[(i + k) % len(WORDS)] for k in range(1 + i % 4))
                            + "\n" for i in range(n)))
    return path


def _same_rows(a: str, b: str) -> None:
    """Same rows in the same order: strings equal, numbers equal to float noise (a batch of
    other lengths pads differently)."""
    ra, rb = [json.loads(x) for x in a.splitlines()], [json.loads(x) for x in b.splitlines()]
    assert len(ra) == len(rb)
    for x, y in zip(ra, rb):
        _close(x, y)


def _close(x, y) -> None:
    if isinstance(x, dict):
        assert x.keys() == y.keys()
        for k in x:
            _close(x[k], y[k])
    elif isinstance(x, list):
        assert len(x) == len(y)
        for u, v in zip(x, y):
            _close(u, v)
    elif isinstance(x, float):
        assert abs(x - y) < 1e-5
    else:
        assert x == y


@pytest.mark.parametrize("family,maker,suffix", [("classify", _jsonl, ".jsonl"),
                                                 ("seq2seq", _lines, ".txt")])
def test_sharded_merged_equals_unsharded_equals_in_memory(runs, tmp_path, family, maker,
                                                          suffix):
    src = maker(tmp_path / f"in{suffix}", 23)
    run = str(runs[family])
    assert main(["predict", run, "--input", str(src), "--output", str(tmp_path / "all.jsonl"),
                 "--chunk-size", "5"]) == 0
    for i in range(3):
        assert main(["predict", run, "--input", str(src), "--output", str(tmp_path / "parts"),
                     "--shard", f"{i}/3", "--chunk-size", "4"]) == 0
    assert main(["merge-shards", str(tmp_path / "parts"), "--output",
                 str(tmp_path / "merged.jsonl")]) == 0
    whole = (tmp_path / "all.jsonl").read_text()
    _same_rows((tmp_path / "merged.jsonl").read_text(), whole)
    predictor = attnpred.load(run)
    in_memory = predictor.predict(predictor.read_inputs(src))
    # streamed rows are the in-memory rows, in input order (attention on in both by default)
    streamed = [json.loads(x) for x in whole.splitlines()]
    assert len(streamed) == 23
    for a, b in zip(streamed, in_memory):
        mine = b.to_dict()
        for key in ("label", "text", "source"):
            if key in mine:
                assert a[key] == mine[key], key


def test_library_entry_and_csv_keep_one_header(runs, tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", 11)
    out = attnpred.predict_file(runs["classify"], src, tmp_path / "o.csv", chunk_size=3,
                                progress=False)
    assert out["rows"] == 11
    lines = (tmp_path / "o.csv").read_text().splitlines()
    assert lines[0].startswith("text,label") and len(lines) == 12


def test_merge_refuses_a_missing_shard(runs, tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", 9)
    attnpred.predict_file(runs["classify"], src, tmp_path / "p", shard=(0, 2), progress=False)
    with pytest.raises(AttnpredError, match=r"missing \[1\]"):
        attnpred.merge_shards(tmp_path / "p", tmp_path / "m.jsonl")
    assert not (tmp_path / "m.jsonl").exists()


def test_reading_is_lazy_and_names_the_bad_line(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(50))
                    + "{not json\n")
    it = iter_texts(path)
    assert [next(it)[1] for _ in range(3)] == ["row 0", "row 1", "row 2"]  # before the bad line
    with pytest.raises(AttnpredError) as err:
        list(it)
    assert err.value.line == 51


def test_a_bad_row_midway_leaves_no_partial_output(runs, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": "profit rose"}) + "\n" for _ in range(10))
                   + json.dumps({"txt": "x"}) + "\n")
    out = tmp_path / "o.jsonl"
    out.write_text("earlier\n")
    assert main(["predict", str(runs["classify"]), "--input", str(src), "--output", str(out),
                 "--chunk-size", "4"]) == 2
    assert "in.jsonl:11" in capsys.readouterr().err
    assert out.read_text() == "earlier\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_under_torchrun_each_rank_writes_its_shard(runs, tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", 13)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2",
                           "--master-addr=127.0.0.1", f"--master-port={port}", "-m", "attnpred",
                           "predict", str(runs["classify"]), "--input", str(src), "--output",
                           str(tmp_path / "parts")], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    attnpred.merge_shards(tmp_path / "parts", tmp_path / "merged.jsonl")
    attnpred.predict_file(runs["classify"], src, tmp_path / "all.jsonl", progress=False,
                          return_attention=True)
    _same_rows((tmp_path / "merged.jsonl").read_text(), (tmp_path / "all.jsonl").read_text())


def test_evaluate_streams_in_chunks_and_equals_predict(runs, tmp_path):
    labels = ["positive", "negative", "neutral"]
    src = tmp_path / "labelled.jsonl"
    texts = [" ".join(WORDS[(i * k) % len(WORDS)] for k in range(1, 3 + i % 4))
             for i in range(2300)]
    src.write_text("".join(json.dumps({"text": t, "label": labels[i % 3]}) + "\n"
                           for i, t in enumerate(texts)))
    predictor = attnpred.load(runs["classify"])
    result = predictor.evaluate(src)
    preds = [p.label for p in predictor.predict(texts)]
    expected = sum(p == labels[i % 3] for i, p in enumerate(preds)) / len(texts)
    assert result["model"]["accuracy"] == pytest.approx(expected)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(src.read_text() + json.dumps({"text": "x", "label": "sideways"}) + "\n")
    with pytest.raises(AttnpredError) as err:  # found in the third chunk, named by its line
        predictor.evaluate(bad)
    assert err.value.line == 2301
