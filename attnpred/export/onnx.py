"""``attnpred export RUN --format onnx [--quantize int8]`` for classification runs.

Writes RUN/onnx/model.onnx (outputs: ``logits`` (B, C) and ``attention`` (B, T), the token
attention the predictor turns into word attention), optionally RUN/onnx/model.int8.onnx
(dynamic int8 weights, ONNX Runtime's ``quantize_dynamic``), and RUN/onnx/export.json: the
parity with PyTorch on the run's test texts (max absolute difference of probabilities and
word attention, bounded) and the test accuracy of PyTorch, ONNX fp32 and int8.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from attnpred.errors import AttnpredError
from attnpred.export.checks import accuracy, max_differences, test_examples, timed_predict
from attnpred.export.onnx_predictor import ONNX_DIR, OnnxPredictor
from attnpred.io import atomic_write_text

OPSET = 17


class Exportable(nn.Module):
    """(input_ids, attention_mask) -> (logits, token attention) of a classifier.

    Args:
        model: the run's classifier (scratch or pretrained adapter).
        source: 'pooling' (the pooling head's (B, T) weights) or 'cls' (last layer's CLS row,
            averaged over heads).
    """

    def __init__(self, model: nn.Module, source: str) -> None:
        super().__init__()
        self.model, self.source = model, source

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> tuple[Tensor, Tensor]:
        out = self.model(input_ids, attention_mask, need_weights=self.source == "cls")
        if self.source == "pooling":
            return out.logits, out.pooling_attention
        return out.logits, out.attentions[-1][:, :, 0, :].mean(1)  # (B, H, T, T) -> (B, T)


def attention_source(predictor: Any) -> str:
    """The attention the export carries: the pooling head's when there is one, else CLS."""
    return "pooling" if predictor.has_pooling_attention else "cls"


def export_onnx(predictor: Any, path: str | Path) -> str:
    """Export ``predictor``'s model to ``path`` with dynamic batch and length; returns the
    attention source."""
    source = attention_source(predictor)
    module = Exportable(predictor.model, source).eval()
    enc = predictor.tokenizer(["an example to trace", "another one"], padding=True,
                              return_tensors="pt")
    args = (enc["input_ids"], enc["attention_mask"])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the tracer warns about Python branches on shapes; the ones in the attention core are
    # constant for inputs the predictor makes (truncated to max_len, never fully padded)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter
        # (dynamo=False) is deprecated since torch 2.9 but still exports this model as is
        torch.onnx.export(module, args, str(path), input_names=["input_ids", "attention_mask"],
                          output_names=["logits", "attention"], opset_version=OPSET,
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"},
                                        "logits": {0: "batch"},
                                        "attention": {0: "batch", 1: "tokens"}},
                          dynamo=False)
    return source


def quantize_int8(src: str | Path, dst: str | Path, per_channel: bool = True,
                  keep_head: bool = True) -> None:
    """Dynamic int8 quantization of the weights (activations stay float).

    Per-channel scales and a float head (pooling + output layer, a few thousand weights) are
    the defaults: on FPB AllAgree per-tensor int8 over the whole graph cost about 2 points of
    test accuracy, these settings well under 1 (benchmarks/export.py records both).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    head = [n.name for n in onnx.load(str(src)).graph.node
            if n.name.startswith("/model/head/")] if keep_head else []
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel,
                     nodes_to_exclude=head)


def export_run(run_dir: str | Path, quantize: str | None = None, max_diff: float = 1e-3,
               limit: int | None = None, batch_size: int = 32) -> dict[str, Any]:
    """Export, check parity on the test split, optionally quantize; writes export.json.

    Raises:
        AttnpredError: not a classification run, or parity beyond ``max_diff``.
    """
    import attnpred
    from attnpred.api import run_task
    run_dir = Path(run_dir)
    if run_task(run_dir) != "classify":
        raise AttnpredError("ONNX export is available for classification runs", file=run_dir)
    torch_pred = attnpred.load(run_dir)  # a pruned run loads without its pruned heads
    out_dir = run_dir / ONNX_DIR
    fp32 = out_dir / "model.onnx"
    source = export_onnx(torch_pred, fp32)
    report: dict[str, Any] = {"attention_source": source, "opset": OPSET,
                              "files": {"fp32": str(fp32)}}
    atomic_write_text(out_dir / "export.json", json.dumps(report, indent=2) + "\n")
    texts, labels = test_examples(run_dir, torch_pred)
    texts, labels = texts[:limit], labels[:limit]
    ref, ref_s = timed_predict(torch_pred, texts, batch_size)
    report["test_examples"] = len(texts)
    report["torch"] = {"accuracy": accuracy(ref, labels), "seconds": ref_s}
    onnx_pred = OnnxPredictor.load(run_dir, "model.onnx", threads=torch.get_num_threads())
    got, got_s = timed_predict(onnx_pred, texts, batch_size)
    report["onnx_fp32"] = {"accuracy": accuracy(got, labels), "seconds": got_s,
                           "max_abs_diff": max_differences(ref, got)}
    if quantize == "int8":
        int8 = out_dir / "model.int8.onnx"
        quantize_int8(fp32, int8)
        report["files"]["int8"] = str(int8)
        q_pred = OnnxPredictor.load(run_dir, "model.int8.onnx", threads=torch.get_num_threads())
        q, q_s = timed_predict(q_pred, texts, batch_size)
        report["onnx_int8"] = {"accuracy": accuracy(q, labels), "seconds": q_s,
                               "max_abs_diff": max_differences(ref, q),
                               "label_agreement": sum(a.label == b.label for a, b in
                                                      zip(ref, q)) / len(q)}
    report["max_diff_bound"] = max_diff
    atomic_write_text(out_dir / "export.json", json.dumps(report, indent=2) + "\n")
    worst = max(report["onnx_fp32"]["max_abs_diff"].values())
    if worst > max_diff:
        raise AttnpredError(f"ONNX output differs from PyTorch by {worst:.2e} (bound "
                            f"{max_diff:.0e}); see {out_dir / 'export.json'}", file=run_dir)
    return report
