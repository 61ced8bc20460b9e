"""ONNX export (parity with PyTorch, int8), the ONNX backend behind the server, head pruning."""
from __future__ import annotations

import json
import shutil

import pytest
from servehelp import serving

import attnpred
from attnpred.cli.serve import main
from attnpred.export.onnx import export_run
from attnpred.export.onnx_predictor import OnnxPredictor
from attnpred.serve.models import result_dict

TEXTS = ["the company said profit rose in the quarter", "sales fell", "shares in the market"]


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory):
    run = tmp_path_factory.mktemp("export") / "run"
    shutil.copytree(run_dir, run)
    return run, export_run(run, quantize="int8", max_diff=1e-4)


def test_export_parity_and_accuracy_before_after(exported):
    run, report = exported
    assert report["attention_source"] == "pooling" and report["test_examples"] > 0
    diff = report["onnx_fp32"]["max_abs_diff"]
    assert diff["probabilities"] < 1e-4 and diff["word_attention"] < 1e-4
    assert report["onnx_fp32"]["accuracy"] == report["torch"]["accuracy"]
    assert abs(report["onnx_int8"]["accuracy"] - report["torch"]["accuracy"]) <= 0.05
    assert json.loads((run / "onnx" / "export.json").read_text()) == report


def test_onnx_predictor_keeps_the_contract_and_matches_torch(exported):
    run, _ = exported
    torch_preds = attnpred.load(run).predict(TEXTS, return_attention=True)
    onnx_preds = OnnxPredictor.load(run).predict(TEXTS, return_attention=True, batch_size=2)
    for a, b in zip(torch_preds, onnx_preds):
        a, b = result_dict(a), result_dict(b)
        assert a["label"] == b["label"] and a["words"] == b["words"]
        assert a["probabilities"] == pytest.approx(b["probabilities"], abs=1e-5)
        assert a["word_attention"] == pytest.approx(b["word_attention"], abs=1e-5)


def test_serve_onnx_backend(exported):
    run, _ = exported
    with serving([str(run)], backend="onnx") as srv:
        res = srv.predict(TEXTS, return_attention=True)
        assert res.status_code == 200
        want = [result_dict(p) for p in OnnxPredictor.load(run).predict(
            TEXTS, return_attention=True)]
        assert [r["label"] for r in res.json()["results"]] == [w["label"] for w in want]
        assert 'backend="onnx"' in srv.anonymous.get("/metrics").text


def test_export_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path)]) == 2
    assert "no config.json" in capsys.readouterr().err
    assert main(["serve", str(tmp_path), "--allow-anonymous", "--backend", "onnx"]) == 2


def test_head_importance_choice_and_pruning_equal_zeroing(run_dir, tmp_path):
    from attnpred.export.prune import (apply_pruning, choose_heads, head_importance,
                                       zero_heads)
    from attnpred.export.checks import test_examples
    pred = attnpred.load(run_dir)
    texts, labels = test_examples(run_dir, pred, "dev")
    importance = head_importance(pred, texts, labels)
    assert [len(s) for s in importance] == [2] and float(importance[0].norm()) == \
        pytest.approx(1)
    zero_heads(pred.model, {0: [0]})  # a silenced head has no effect on the loss
    assert float(head_importance(pred, texts, labels)[0][0]) == 0.0
    assert choose_heads([importance[0]], 1) == {0: [int(importance[0].argmin())]}
    with pytest.raises(Exception, match="one stays in each layer"):
        choose_heads(importance, 2)
    zeroed = pred.predict(TEXTS, return_attention=True)
    apply_pruning(pred.model, {0: [0]})
    assert pred.model.encoder.layers[0].attn.q_proj.out_features == 16
    removed = pred.predict(TEXTS, return_attention=True)
    for a, b in zip(zeroed, removed):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-5)


def test_prune_command_saves_a_loadable_run(run_dir, tmp_path, capsys):
    out = tmp_path / "pruned"
    assert main(["prune", str(run_dir), "--heads", "1", "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["heads_removed"] == 1 and report["after"]["accuracy"] >= 0.8
    assert report["after_zeroed_accuracy"] == report["after"]["accuracy"]
    loaded = attnpred.load(out)  # loading applies the pruning: the heads are gone
    assert loaded.model.encoder.layers[0].attn.q_proj.out_features == 16
    assert loaded.predict(TEXTS, return_attention=True)[0].label
    assert main(["prune", str(run_dir), "--heads", "1", "--out", str(out)]) == 2
