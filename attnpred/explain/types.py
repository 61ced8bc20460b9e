"""Typed explanations, one per input, for each task family.

Every explanation carries its maps as numpy arrays in ``maps`` (method -> array) and turns into
plain data with ``to_dict()`` (lists, JSON-ready) or ``arrays()`` (flat name -> array, for
``.npz``). Map shapes, with L layers, H heads, W words (or source words), V target words,
P history steps:

====================  ===========  ==========================================================
method                shape        meaning
====================  ===========  ==========================================================
attention             (L, H, W)    the readout query's row ([CLS]) per layer and head
head_mean, head_max   (L, W)       that row, mean / max over heads
mean                  (W,)         mean over layers and heads
rollout               (W,)         attention rollout read out by the model's pooling
gradient_layers       (L, W)       gradient-weighted attention per layer, read out likewise
gradient              (W,)         relevance (Chefer et al. 2021) read out likewise
pooling               (W,)         the attention-pooling head's weights
supervised            (W,)         the attention trained on rationales
cross                 (L, H, V, W) seq2seq: target words x source words per decoder layer
encoder / decoder     (L, H, *, *) seq2seq: self-attention, words x words
history               (C, P)       forecast: attention over the history per target channel
layers                (L, C, H, N, N) forecast: patch-to-patch attention, per channel
====================  ===========  ==========================================================

Every word-level vector sums to 1 over the words (special tokens removed, rescaled).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from attnpred.explain.faithfulness import Faithfulness

SCHEMA_VERSION = 1


def _plain(x: Any) -> Any:
    """Lists, dicts and numbers for JSON; NaN becomes None (null)."""
    if isinstance(x, np.ndarray):
        a = np.round(x.astype(np.float64), 6)
        if np.isnan(a).any():
            return np.where(np.isnan(a), None, a).tolist()
        return a.tolist()
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    return x


@dataclass
class TextExplanation:
    """One classified text with everything the model attended to.

    Attributes:
        text: the input.
        words: the words as the model's pre-tokenizer splits them ("quarter." -> "quarter",
            "."); every map is over these.
        spans: (start, end) character span of each word in ``text``.
        tokens: the sub-word tokens the model read (specials included, truncated to max_len).
        token_words: for each token the index of its word, None for specials.
        label: the predicted class; probabilities: class -> probability.
        maps: method -> array (see the module docstring for shapes).
        matrices: method -> word x word map ('attention' (L, H, W, W), 'rollout' (W, W),
            'gradient' (W, W)); filled only when asked for.
        gold_label: the label the input carried, if any.
        gold: 0/1 human rationale over ``words`` (from the input's whitespace-word mask).
        plausibility: method -> {'auprc', 'token_f1'} against ``gold``, scored over whitespace
            words (pieces summed), as ``attnpred.evaluation.rationales`` does.
        faithfulness: method -> Faithfulness (deletion of the top words against random).
    """

    text: str
    words: list[str]
    spans: list[tuple[int, int]]
    tokens: list[str]
    token_words: list[int | None]
    label: str
    probabilities: dict[str, float]
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    matrices: dict[str, np.ndarray] = field(default_factory=dict)
    gold_label: str | None = None
    gold: list[int] | None = None
    plausibility: dict[str, dict[str, float]] = field(default_factory=dict)
    faithfulness: dict[str, Faithfulness] = field(default_factory=dict)
    family: str = "classify"

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]

    def top_words(self, method: str = "rollout", k: int = 5) -> list[tuple[str, float]]:
        """The k words with the highest weight under ``method`` (a (W,) map)."""
        scores = self.maps[method]
        order = np.argsort(-scores, kind="stable")[:k]
        return [(self.words[i], float(scores[i])) for i in order]

    def to_dict(self) -> dict[str, Any]:
        return _plain({
            "family": self.family, "text": self.text, "words": self.words,
            "spans": [list(s) for s in self.spans], "tokens": self.tokens,
            "token_words": self.token_words, "label": self.label,
            "probabilities": self.probabilities, "gold_label": self.gold_label,
            "gold": self.gold, "maps": self.maps, "matrices": self.matrices,
            "plausibility": self.plausibility,
            "faithfulness": {k: v.to_dict() for k, v in self.faithfulness.items()}})

    def arrays(self) -> dict[str, np.ndarray]:
        out = {f"maps/{k}": v for k, v in self.maps.items()}
        out |= {f"matrices/{k}": v for k, v in self.matrices.items()}
        out["probabilities"] = np.asarray(list(self.probabilities.values()), np.float32)
        if self.gold is not None:
            out["gold"] = np.asarray(self.gold, np.int8)
        return out


@dataclass
class TranslationExplanation:
    """One seq2seq output with its encoder, decoder and cross-attention.

    Attributes:
        text: the source; output: the generated text.
        src_words, tgt_words: whitespace words of source and output.
        src_tokens, tgt_tokens: the sub-word tokens (the target ends with '</s>').
        maps: 'cross' (L, H, V, W) target x source words per decoder layer, 'cross_mean'
            (V, W) the map links are read from (``AlignConfig``), and where the model has
            them 'encoder' (L, H, W, W) and 'decoder' (L, H, V, V).
        links: extracted word alignment, (source word, target word) pairs.
        gold_links: the alignment the input carried, if any.
        score: the decoder's log-probability score.
    """

    text: str
    output: str
    src_words: list[str]
    tgt_words: list[str]
    src_tokens: list[str]
    tgt_tokens: list[str]
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    links: list[tuple[int, int]] = field(default_factory=list)
    gold_links: list[tuple[int, int]] | None = None
    score: float = 0.0
    reference: str | None = None
    family: str = "seq2seq"

    def to_dict(self) -> dict[str, Any]:
        return _plain({
            "family": self.family, "text": self.text, "output": self.output,
            "reference": self.reference, "src_words": self.src_words,
            "tgt_words": self.tgt_words, "src_tokens": self.src_tokens,
            "tgt_tokens": self.tgt_tokens, "score": self.score, "maps": self.maps,
            "links": [list(x) for x in self.links],
            "gold_links": None if self.gold_links is None else [list(x)
                                                               for x in self.gold_links]})

    def arrays(self) -> dict[str, np.ndarray]:
        out = {f"maps/{k}": v for k, v in self.maps.items()}
        out["links"] = np.asarray(self.links, np.int32).reshape(-1, 2)
        return out


@dataclass
class ForecastExplanation:
    """One forecast with the attention over its history.

    Attributes:
        columns: the target channels; dates / history_dates: ISO timestamps.
        values: (H, C) forecast; history: (P, C); truth: (H, C) with NaN where unknown.
        maps: 'history' (C, P) attention received by each history step, 'layers'
            (L, C, H, N, N) patch-to-patch attention per layer, channel and head.
    """

    columns: list[str]
    dates: list[str]
    values: np.ndarray
    history_dates: list[str]
    history: np.ndarray
    truth: np.ndarray | None = None
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    name: str = ""
    family: str = "forecast"

    @property
    def error(self) -> float:
        """Mean absolute error against the known truth (NaN when there is none)."""
        if self.truth is None or np.isnan(self.truth).all():
            return float("nan")
        return float(np.nanmean(np.abs(self.values - self.truth)))

    def to_dict(self) -> dict[str, Any]:
        return _plain({
            "family": self.family, "name": self.name, "columns": self.columns,
            "dates": self.dates, "values": self.values, "history_dates": self.history_dates,
            "history": self.history, "truth": self.truth, "maps": self.maps,
            "error": self.error})

    def arrays(self) -> dict[str, np.ndarray]:
        out = {f"maps/{k}": v for k, v in self.maps.items()}
        out |= {"values": self.values, "history": self.history}
        if self.truth is not None:
            out["truth"] = self.truth
        return out
