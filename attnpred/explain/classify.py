"""Explaining a text classifier: every layer and head, the pooling / supervised attention,
rollout and gradient-weighted attention, per word; one forward (and one backward) per batch.

Works with any predictor that exposes ``model`` (called as ``model(input_ids, attention_mask,
need_weights=True)`` -> ``ClassifierOutput``), ``tokenizer`` (a fast tokenizer), ``labels``
(``LabelVocab``) and ``config`` (``max_len``, ``eval_batch_size``), such as
``ClassifierPredictor``.

Shape legend: B batch, L layers, H heads, T tokens, W words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from attnpred.data.encoding import bucket_batches, pad
from attnpred.errors import AttnpredError
from attnpred.evaluation.rationales import plausibility as score_plausibility
from attnpred.explain import maps as M
from attnpred.explain.faithfulness import per_example
from attnpred.explain.types import TextExplanation

METHODS = ("attention", "head_mean", "head_max", "mean", "rollout", "gradient_layers",
           "gradient", "pooling", "supervised")
# gradient (one backward per batch) is in: on Yelp-HAT it agreed best with people of the maps
# of an unsupervised model and was the most faithful (benchmarks/results/explain.json)
DEFAULT_METHODS = ("attention", "head_mean", "head_max", "mean", "rollout", "gradient",
                   "pooling", "supervised")


@dataclass
class TextInput:
    """A text to explain, with what it may carry: a gold label and a human rationale (0/1
    per whitespace word, reference of the annotators)."""

    text: str
    label: str | None = None
    rationale: list[int] | None = None


@dataclass
class _Encoded:
    ids: list[int]
    token_words: list[int | None]
    words: list[str]
    spans: list[tuple[int, int]]


def as_input(item: Any) -> TextInput:
    """A str, dict (text, label, rationale / rationale_spans), TextExample or Rationale."""
    from attnpred.supervision.gold import masks_from_record
    if isinstance(item, TextInput):
        return item
    if isinstance(item, str):
        return TextInput(item)
    if isinstance(item, dict):
        if not isinstance(item.get("text"), str):
            raise AttnpredError("an input record needs a 'text' string", field="text")
        masks = masks_from_record(item, item["text"])
        return TextInput(item["text"], _label(item.get("label")), _reference(masks))
    if hasattr(item, "masks") and hasattr(item, "text"):  # supervision.gold.Rationale
        return TextInput(item.text, getattr(item, "label", None), item.reference())
    if hasattr(item, "extra") and hasattr(item, "text"):  # data.text.TextExample
        masks = masks_from_record(item.extra, item.text, source=item.source, line=item.line)
        return TextInput(item.text, item.label, _reference(masks))
    raise AttnpredError(f"cannot explain a {type(item).__name__}; give texts or records")


def _label(value: Any) -> str | None:
    return None if value is None else str(value)


def _reference(masks: list[list[int]] | None) -> list[int] | None:
    if not masks:
        return None
    votes = [sum(col) / len(masks) for col in zip(*masks)]
    return [int(v >= 0.5 - 1e-9) for v in votes]


def encode(tokenizer: Any, text: str, max_len: int) -> _Encoded:
    """Ids as ``encode_texts`` gives them, and words as the pre-tokenizer splits the text.

    Encoding the raw text (not its whitespace words) lets the fast tokenizer report the
    pre-tokenizer's words with character offsets, so "quarter." is two words; the ids are the
    same (tests/explain/test_classify_explain.py checks it).
    """
    enc = tokenizer(text, truncation=True, max_length=max_len)
    full = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    spans: dict[int, list[int]] = {}
    for w, (s, e) in zip(full.word_ids(), full["offset_mapping"]):
        if w is not None:
            span = spans.setdefault(w, [s, e])
            span[0], span[1] = min(span[0], s), max(span[1], e)
    order = sorted(spans)
    index = {w: i for i, w in enumerate(order)}  # word ids are already 0..W-1; be safe
    token_words = [None if w is None else index.get(w) for w in enc.word_ids()]
    word_spans = [(spans[w][0], spans[w][1]) for w in order]
    return _Encoded(enc["input_ids"], token_words, [text[s:e] for s, e in word_spans],
                    word_spans)


def whitespace_index(text: str, spans: Sequence[tuple[int, int]]) -> list[int]:
    """For each word span, the index of the whitespace word it lies in."""
    starts = [m.start() for m in re.finditer(r"\S+", text)]
    out, j = [], 0
    for s, _ in spans:
        while j + 1 < len(starts) and starts[j + 1] <= s:
            j += 1
        out.append(j)
    return out


class ClassifyExplainer:
    """Explains batches of texts with one predictor's model."""

    def __init__(self, predictor: Any, methods: Sequence[str] = DEFAULT_METHODS,
                 matrices: bool = False, batch_size: int | None = None) -> None:
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            raise AttnpredError(f"unknown method(s) {unknown}; expected some of {list(METHODS)}",
                                field="methods")
        self.predictor, self.model = predictor, predictor.model
        self.tokenizer, self.labels = predictor.tokenizer, predictor.labels.labels
        self.max_len = predictor.config.max_len
        self.batch_size = batch_size or getattr(predictor.config, "eval_batch_size", 32)
        self.matrices = matrices
        self.supervision = getattr(predictor, "supervision", None)
        head = getattr(self.model, "head", None)
        self.pooling = getattr(head, "pooling", "cls")
        self.methods = [m for m in methods if self._available(m)]

    def _available(self, method: str) -> bool:
        if method == "pooling":
            return self.pooling == "attention"
        if method == "supervised":
            return self.supervision is not None
        return True

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def explain(self, inputs: Sequence[Any], faithfulness: Sequence[str] = ()
                ) -> list[TextExplanation]:
        """One TextExplanation per input, in order.

        Args:
            inputs: texts or records (see ``as_input``).
            faithfulness: methods whose per-example faithfulness to compute (deletion of the
                top words against random words; 2 x 5 extra forward passes per example).
        """
        items = [as_input(x) for x in inputs]
        enc = [encode(self.tokenizer, it.text, self.max_len) for it in items]
        out: list[TextExplanation | None] = [None] * len(items)
        for idx in bucket_batches([len(e.ids) for e in enc], self.batch_size):
            for i, ex in zip(idx, self._batch([enc[i] for i in idx])):
                out[i] = ex
        results = [self._finish(ex, it, e) for ex, it, e in zip(out, items, enc)]
        for method in faithfulness if results else ():
            if method not in self.methods or results[0].maps[method].ndim != 1:
                raise AttnpredError(f"faithfulness needs a one-vector method among "
                                    f"{self.methods}, not {method!r}", field="faithfulness")
            scores = [r.maps[method].tolist() for r in results]
            for r, f in zip(results, per_example([r.words for r in results], scores,
                                                 self.predict_proba, method)):
                r.faithfulness[method] = f
        return results

    def _forward(self, ids: Tensor, mask: Tensor, need_weights: bool):
        return self.model(ids.to(self.device), mask.to(self.device), need_weights=need_weights)

    def _batch(self, batch: list[_Encoded]) -> list[TextExplanation]:
        ids, mask = pad([e.ids for e in batch], self.tokenizer.pad_token_id)  # (B, T)
        grads = None
        if "gradient" in self.methods or "gradient_layers" in self.methods:
            out, grads = self._with_gradients(ids, mask)
        else:
            with torch.no_grad():
                out = self._forward(ids, mask, need_weights=True)
        probs = torch.softmax(out.logits.detach().float(), -1).cpu().numpy()  # (B, C)
        att = np.stack([M.as_array(a) for a in out.attentions], 1)  # (B, L, H, T, T)
        grad = None if grads is None else np.stack([M.as_array(g) for g in grads], 1)
        pool = None if out.pooling_attention is None else M.as_array(out.pooling_attention)
        sup = None
        if "supervised" in self.methods:
            from attnpred.supervision.losses import select_attention
            sup = M.as_array(select_attention(out, self.supervision))
        return [self._example(e, probs[b], att[b], None if grad is None else grad[b],
                              None if pool is None else pool[b], None if sup is None else sup[b])
                for b, e in enumerate(batch)]

    def _with_gradients(self, ids: Tensor, mask: Tensor):
        """Forward with weights, then one backward of the predicted classes' logits to them."""
        params = list(self.model.parameters())
        before = [p.requires_grad for p in params]
        for p in params:  # the graph must be recorded to reach the weights
            p.requires_grad_(True)
        try:
            with torch.enable_grad():
                out = self._forward(ids, mask, need_weights=True)
                top = out.logits.argmax(-1, keepdim=True)
                # examples do not interact, so one backward of the sum gives each its gradient
                grads = torch.autograd.grad(out.logits.gather(-1, top).sum(), out.attentions)
        finally:
            for p, b in zip(params, before):
                p.requires_grad_(b)
        return out, grads

    def _query(self, t: int, pool: np.ndarray | None) -> np.ndarray:
        """(T,) how the model reads its output off the top layer."""
        if self.pooling == "attention" and pool is not None:
            return pool[:t]
        if self.pooling == "mean":
            return np.full(t, 1.0 / t, np.float32)
        q = np.zeros(t, np.float32)
        q[0] = 1.0
        return q

    def _example(self, e: _Encoded, probs: np.ndarray, att: np.ndarray, grad: np.ndarray | None,
                 pool: np.ndarray | None, sup: np.ndarray | None) -> TextExplanation:
        t, n = len(e.ids), len(e.words)
        att = att[:, :, :t, :t]  # (L, H, T, T)
        words = lambda v: M.normalise(M.words_keys(v, e.token_words, n))  # noqa: E731
        maps: dict[str, np.ndarray] = {}
        cls_rows = att[:, :, 0, :]  # (L, H, T)
        want = set(self.methods)
        if "attention" in want:
            maps["attention"] = words(cls_rows)
        if "head_mean" in want:
            maps["head_mean"] = words(cls_rows.mean(1))
        if "head_max" in want:
            maps["head_max"] = words(cls_rows.max(1))
        if "mean" in want:
            maps["mean"] = words(cls_rows.mean((0, 1)))
        query = self._query(t, pool)
        if "rollout" in want:
            maps["rollout"] = words(M.rollout_readout(att, query))
        layer_maps = None if grad is None else M.gradient_weighted(att, grad[:, :, :t, :t])
        if "gradient_layers" in want and layer_maps is not None:  # (L, T, T)
            maps["gradient_layers"] = words(query @ layer_maps)
        if "gradient" in want and layer_maps is not None:
            maps["gradient"] = words(M.relevance_readout(layer_maps, query))
        if "pooling" in want and pool is not None:
            maps["pooling"] = words(pool[:t])
        if "supervised" in want and sup is not None:
            maps["supervised"] = words(sup[:t])
        matrices = {}
        if self.matrices:
            matrices["attention"] = M.words_matrix(att, e.token_words, n)
            matrices["rollout"] = M.words_matrix(M.rollout(att), e.token_words, n)
            if layer_maps is not None:
                matrices["gradient"] = M.words_matrix(M.relevance(layer_maps), e.token_words, n)
        label = self.labels[int(probs.argmax())]
        return TextExplanation(
            "", e.words, e.spans, self.tokenizer.convert_ids_to_tokens(e.ids), e.token_words,
            label, {lab: float(p) for lab, p in zip(self.labels, probs)}, maps, matrices)

    def _finish(self, ex: TextExplanation, item: TextInput, e: _Encoded) -> TextExplanation:
        ex.text, ex.gold_label = item.text, item.label
        if item.rationale is not None:
            ws = whitespace_index(item.text, e.spans)
            if len(item.rationale) != len(item.text.split()):
                raise AttnpredError(f"rationale has {len(item.rationale)} values for "
                                    f"{len(item.text.split())} words", field="rationale")
            ex.gold = [item.rationale[j] for j in ws]
            ex.plausibility = self._plausibility(ex, item.rationale, ws)
        return ex

    def _plausibility(self, ex: TextExplanation, human: list[int],
                      ws: list[int]) -> dict[str, dict[str, float]]:
        """Per (W,) method: AUPRC and token F1 over whitespace words (pieces summed)."""
        if sum(human) == 0:
            return {}
        out = {}
        for method, v in ex.maps.items():
            if v.ndim != 1:
                continue
            scores = np.zeros(len(human))
            np.add.at(scores, ws, v)
            res = score_plausibility([scores.tolist()], [human])
            out[method] = {"auprc": res["auprc"], "token_f1": res["token_f1"]}
        return out

    def predict_proba(self, word_lists: list[list[str]]) -> np.ndarray:
        """(N, C) class probabilities of word lists joined by spaces (for faithfulness)."""
        texts = [" ".join(w) for w in word_lists]
        ids = [self.tokenizer(t, truncation=True, max_length=self.max_len)["input_ids"]
               for t in texts]
        out = np.zeros((len(texts), len(self.labels)), np.float32)
        with torch.no_grad():
            for idx in bucket_batches([len(x) for x in ids], self.batch_size):
                batch_ids, mask = pad([ids[i] for i in idx], self.tokenizer.pad_token_id)
                logits = self._forward(batch_ids, mask, need_weights=False).logits
                out[idx] = torch.softmax(logits.float(), -1).cpu().numpy()
        return out


def explain_classifier(predictor: Any, inputs: Sequence[Any], *,
                       methods: Sequence[str] | None = None, faithfulness: Sequence[str] = (),
                       matrices: bool = False,
                       batch_size: int | None = None) -> list[TextExplanation]:
    """``attnpred.explain.explain`` for classifiers."""
    methods = list(methods or DEFAULT_METHODS)
    methods += [m for m in faithfulness if m not in methods]
    return ClassifyExplainer(predictor, methods, matrices, batch_size).explain(inputs,
                                                                               faithfulness)
