"""Rationale metrics (ERASER, DeYoung et al. 2020): plausibility against human maps and
faithfulness of an importance map to the model that produced it.

Everything works on whitespace words: ``scores`` is one importance value per word (attention
summed from sub-words), ``human`` a 0/1 mask over the same words.

Plausibility, averaged over texts whose human map marks at least one word:
- ``auprc``: average precision of the scores against the human mask (scikit-learn).
- ``token_f1``: F1 of the top-k words, k = the number of human words (P = R = F1 then).
- ``iou_f1``: ERASER partial match: contiguous runs of the top-k words are predicted spans; a
  span counts when its best IoU with a human span is >= 0.5; micro P/R/F1 over all texts.
Faithfulness (AOPC over bins, default {1, 5, 10, 20, 50}% of the words, at least one word):
- ``comprehensiveness``: p(y|x) - p(y|x without its top words), y the predicted class.
- ``sufficiency``: p(y|x) - p(y|only its top words), in text order.
Higher comprehensiveness and lower sufficiency mean a more faithful map.
"""
from __future__ import annotations

import math
import random
from typing import Callable, Sequence

import numpy as np
from sklearn.metrics import average_precision_score

BINS = (0.01, 0.05, 0.10, 0.20, 0.50)
PredictProba = Callable[[list[list[str]]], np.ndarray]
"""Class probabilities (N, C) for N texts given as word lists."""


# ---- plausibility -------------------------------------------------------------------------

def auprc(scores: Sequence[float], human: Sequence[int]) -> float:
    """Average precision of ``scores`` ranking the human-marked words first."""
    return float(average_precision_score(np.asarray(human, dtype=int),
                                         np.asarray(scores, dtype=float)))


def top_k_mask(scores: Sequence[float], k: int) -> list[int]:
    """0/1 mask of the k highest scores (ties: earlier word first)."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    mask = [0] * len(scores)
    for i in order[:k]:
        mask[i] = 1
    return mask


def token_f1(pred: Sequence[int], human: Sequence[int]) -> float:
    """F1 of two 0/1 word masks."""
    tp = sum(p and h for p, h in zip(pred, human))
    n_pred, n_human = sum(pred), sum(human)
    if tp == 0:
        return 0.0
    p, r = tp / n_pred, tp / n_human
    return 2 * p * r / (p + r)


def spans(mask: Sequence[int]) -> list[tuple[int, int]]:
    """Contiguous runs of 1s as [start, end) word spans."""
    out, start = [], None
    for i, m in enumerate(list(mask) + [0]):
        if m and start is None:
            start = i
        elif not m and start is not None:
            out.append((start, i))
            start = None
    return out


def iou_matches(pred: Sequence[int], human: Sequence[int],
                threshold: float = 0.5) -> tuple[int, int, int]:
    """(predicted spans whose best IoU with a human span >= threshold, #predicted, #human)."""
    p_spans, h_spans = spans(pred), spans(human)
    matched = 0
    for ps, pe in p_spans:
        best = 0.0
        for hs, he in h_spans:
            inter = max(0, min(pe, he) - max(ps, hs))
            union = (pe - ps) + (he - hs) - inter
            best = max(best, inter / union)
        matched += int(best >= threshold)
    return matched, len(p_spans), len(h_spans)


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def plausibility(scores: Sequence[Sequence[float]], human: Sequence[Sequence[int]],
                 hard: Sequence[Sequence[int]] | None = None) -> dict[str, float]:
    """AUPRC, top-k token F1 and IOU F1 of importance maps against human masks.

    Args:
        scores: per text, one score per word.
        human: per text, the human 0/1 mask over the same words.
        hard: per text, a 0/1 rationale to use instead of the top-k words (e.g. an
            annotator's own mask for the human ceiling).
    Returns:
        ``auprc``, ``token_f1``, ``iou_f1`` (with ``iou_precision``, ``iou_recall``), ``n``
        texts scored and ``n_skipped`` texts whose human map is empty.
    Raises:
        ValueError: a score list and its mask differ in length.
    """
    aps, f1s, skipped = [], [], 0
    matched = n_pred = n_human = 0
    for i, (s, h) in enumerate(zip(scores, human)):
        if len(s) != len(h):
            raise ValueError(f"text {i}: {len(s)} scores for {len(h)} words")
        k = sum(h)
        if k == 0:
            skipped += 1
            continue
        pred = list(hard[i]) if hard is not None else top_k_mask(s, k)
        aps.append(auprc(s, h))
        f1s.append(token_f1(pred, h))
        m, np_, nh = iou_matches(pred, h)
        matched, n_pred, n_human = matched + m, n_pred + np_, n_human + nh
    p = matched / n_pred if n_pred else 0.0
    r = matched / n_human if n_human else 0.0
    mean = lambda xs: float(np.mean(xs)) if xs else float("nan")  # noqa: E731
    return {"auprc": mean(aps), "token_f1": mean(f1s), "iou_f1": _f1(p, r),
            "iou_precision": p, "iou_recall": r, "n": len(aps), "n_skipped": skipped}


# ---- faithfulness -------------------------------------------------------------------------

def bin_size(n_words: int, fraction: float) -> int:
    """Words in a bin: the fraction of the text, rounded, at least one."""
    return min(n_words, max(1, int(math.floor(fraction * n_words + 0.5))))


def faithfulness(words: Sequence[Sequence[str]], scores: Sequence[Sequence[float]],
                 predict_proba: PredictProba,
                 bins: Sequence[float] = BINS,
                 per_text: bool = False) -> dict[str, float | list]:
    """Comprehensiveness and sufficiency as AOPC over ``bins`` (ERASER).

    Args:
        words: per text, its whitespace words.
        scores: per text, one importance score per word.
        predict_proba: the model: (N, C) class probabilities for N word lists.
        bins: fractions of the words removed (comprehensiveness) or kept (sufficiency).
        per_text: also return each text's values per bin (``comprehensiveness_per_text``,
            ``sufficiency_per_text``: N lists of one value per bin).
    Returns:
        ``comprehensiveness`` and ``sufficiency`` (means over texts of the AOPC), their
        values per bin (``comprehensiveness_bins``, ``sufficiency_bins``) and ``n``.
    """
    inputs: list[list[str]] = []
    for w, s in zip(words, scores):
        if len(w) != len(s):
            raise ValueError(f"{len(s)} scores for {len(w)} words")
        inputs.append(list(w))
        order = sorted(range(len(w)), key=lambda i: (-s[i], i))
        for b in bins:
            top = set(order[: bin_size(len(w), b)])
            inputs.append([x for i, x in enumerate(w) if i not in top])
            inputs.append([x for i, x in enumerate(w) if i in top])
    probs = np.asarray(predict_proba(inputs)).reshape(len(words), 1 + 2 * len(bins), -1)
    full = probs[:, 0]  # (N, C)
    y = full.argmax(-1)
    p_y = np.take_along_axis(probs, y[:, None, None], axis=-1)[..., 0]  # (N, 1 + 2 * bins)
    comp = p_y[:, :1] - p_y[:, 1::2]  # (N, bins)
    suff = p_y[:, :1] - p_y[:, 2::2]
    out = {"comprehensiveness": float(comp.mean()) if len(words) else float("nan"),
           "sufficiency": float(suff.mean()) if len(words) else float("nan"),
           "comprehensiveness_bins": comp.mean(0).tolist(),
           "sufficiency_bins": suff.mean(0).tolist(), "n": len(words)}
    if per_text:
        out |= {"comprehensiveness_per_text": comp.tolist(),
                "sufficiency_per_text": suff.tolist()}
    return out


# ---- baselines ----------------------------------------------------------------------------

def uniform_scores(lengths: Sequence[int]) -> list[list[float]]:
    """Equal attention on every word."""
    return [[1.0 / n] * n if n else [] for n in lengths]


def random_scores(lengths: Sequence[int], seed: int = 13) -> list[list[float]]:
    """Seeded random attention (normalised uniform draws)."""
    rng = random.Random(seed)
    out = []
    for n in lengths:
        draws = [rng.random() for _ in range(n)]
        total = sum(draws) or 1.0
        out.append([d / total for d in draws])
    return out


def human_agreement(annotators: Sequence[Sequence[Sequence[int]]],
                    min_votes: float = 0.5) -> dict[str, float]:
    """The human ceiling: each annotator's mask against the map of the others.

    For every text with at least two annotators and every annotator a, the reference is the
    words marked by at least ``min_votes`` of the other annotators; a's own mask is both the
    scores (for AUPRC) and the hard rationale (for token and IOU F1).
    """
    scores, human = [], []
    for masks in annotators:
        for a, mine in enumerate(masks):
            others = [m for b, m in enumerate(masks) if b != a]
            if not others:
                continue
            votes = [sum(col) / len(others) for col in zip(*others)]
            scores.append([float(x) for x in mine])
            human.append([int(v >= min_votes - 1e-9) for v in votes])
    return plausibility(scores, human, hard=[[int(x) for x in s] for s in scores])
