"""``OnnxPredictor``: a classification run's exported ONNX model behind the predictor contract.

The run's own predictor does the tokenising, batching and word-level attention; only its
model is replaced by an ONNX Runtime session that returns the same two things the predictor
reads (logits and the token attention), so both backends give the same kind of result.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from attnpred.errors import AttnpredError
from attnpred.models.classifier import ClassifierOutput

ONNX_DIR = "onnx"


class _Pool:
    """Stands in for the head's pooling module: the predictor only asks whether there is one."""


class _Head(nn.Module):
    def __init__(self, has_pool: bool) -> None:
        super().__init__()
        self.pool = _Pool() if has_pool else None


class OnnxModule(nn.Module):
    """Runs an exported classifier in ONNX Runtime and answers like the torch model.

    Args:
        path: the .onnx file with inputs (input_ids, attention_mask) and outputs
            (logits (B, C), attention (B, T)).
        source: 'pooling' (the attention is the pooling head's) or 'cls' (the last layer's
            CLS row averaged over heads).
        threads: ONNX Runtime intra-op threads.
    """

    def __init__(self, path: str | Path, source: str, threads: int = 1) -> None:
        super().__init__()
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.source = source
        self.head = _Head(source == "pooling")

    def forward(self, input_ids: Tensor, attention_mask: Tensor, need_weights: bool = False,
                **unused: Any) -> ClassifierOutput:
        logits, att = self.session.run(None, {
            "input_ids": input_ids.cpu().numpy().astype(np.int64),
            "attention_mask": attention_mask.cpu().numpy().astype(np.int64)})
        logits, att = torch.from_numpy(logits), torch.from_numpy(att)  # (B, C), (B, T)
        if self.source == "pooling":
            return ClassifierOutput(logits, pooling_attention=att)
        return ClassifierOutput(logits, attentions=(att[:, None, None, :],))  # (B, 1, 1, T)


class OnnxPredictor:
    """The run's predictor with its model in ONNX Runtime.

    Use ``OnnxPredictor.load(run_dir)``; ``predict`` keeps the contract (one result with
    ``to_dict()`` per input), and every other attribute is the run's predictor's.
    """

    def __init__(self, inner: Any, source: str) -> None:
        self.inner, self.source = inner, source

    @classmethod
    def load(cls, run_dir: str | Path, file: str = "model.onnx",
             threads: int = 1) -> "OnnxPredictor":
        import attnpred
        run_dir = Path(run_dir)
        meta_path, path = run_dir / ONNX_DIR / "export.json", run_dir / ONNX_DIR / file
        if not path.is_file() or not meta_path.is_file():
            raise AttnpredError(f"no exported model {ONNX_DIR}/{file}: run "
                                "'attnpred export RUN --format onnx' first", file=run_dir)
        source = json.loads(meta_path.read_text())["attention_source"]
        inner = attnpred.load(run_dir)
        inner.model = OnnxModule(path, source, threads)
        return cls(inner, source)

    def predict(self, inputs: Sequence[str], *, return_attention: bool = False,
                batch_size: int | None = None) -> list[Any]:
        return self.inner.predict(inputs, return_attention=return_attention,
                                  attention=self.source, batch_size=batch_size)

    def __getattr__(self, name: str) -> Any:  # read_inputs, evaluate, labels, ...
        return getattr(self.inner, name)
