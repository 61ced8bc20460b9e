"""Symmetrising two directions by the agreement of their attention maps.

Grow-diag-final-and combines two directions' hard links; agreement combines their soft maps
first. For one sentence pair, F (T, S) is the source->target model's word-level attention
(each target word's row sums to 1) and R (S, T) the target->source model's (each source word's
row sums to 1). A pair (s, t) is linked when F[t, s] * R[s, t] >= threshold: both models must
put weight on it, each from its own side (the product of the two directions' posteriors, as
Liang et al. 2006 decode their jointly trained aligners; awesome-align similarly keeps the pairs
that both of one model's softmaxes, source->target and target->source, rate highly).

Shape legend: T target words, S source words.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from torch import Tensor

from attnpred.alignment.metrics import alignment_scores
from attnpred.data.alignment import GoldAlignment, Link

THRESHOLDS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
"""Product thresholds ``choose_agreement`` tries by default."""


def agreement_links(fwd: Tensor, rev: Tensor, threshold: float) -> set[Link]:
    """Links (s, t) of one pair where fwd[t, s] * rev[s, t] >= threshold.

    Args:
        fwd: (T, S) source->target word map; rev: (S, T) target->source word map. Where one
            model truncated a long side (its ``max_len``), the maps are read on the words both
            cover.
    """
    t, s = min(fwd.shape[0], rev.shape[1]), min(fwd.shape[1], rev.shape[0])
    product = fwd[:t, :s].float() * rev[:s, :t].float().T
    return {(j, i) for i, j in (product >= threshold).nonzero().tolist()}


def pair_agreement(fwd: Sequence[Tensor], rev: Sequence[Tensor], threshold: float
                   ) -> list[set[Link]]:
    """``agreement_links`` of every pair."""
    return [agreement_links(f, r, threshold) for f, r in zip(fwd, rev)]


@dataclass
class AgreementChoice:
    """The threshold with the lowest AER against the reference, and every threshold's row."""

    threshold: float
    table: list[dict]


def choose_agreement(fwd: Sequence[Tensor], rev: Sequence[Tensor],
                     reference: Sequence[set[Link]],
                     thresholds: Sequence[float] = THRESHOLDS) -> AgreementChoice:
    """The product threshold whose links best match ``reference`` (e.g. eflomal's links of
    held-out pairs, counted as sure) by AER; ties go to the earlier threshold."""
    if not len(fwd) == len(rev) == len(reference):
        raise ValueError(f"{len(fwd)} and {len(rev)} maps but {len(reference)} references")
    gold = [GoldAlignment(sure=set(r), possible=set(r)) for r in reference]
    table = []
    for t in thresholds:
        scores = alignment_scores(pair_agreement(fwd, rev, t), gold)
        table.append(dict(threshold=t, aer=scores.aer, precision=scores.precision,
                          recall=scores.recall))
    best = min(table, key=lambda r: r["aer"])  # min keeps the first of equals
    return AgreementChoice(best["threshold"], table)
