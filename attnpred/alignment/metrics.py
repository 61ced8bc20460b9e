"""Alignment error rate (Och & Ney 2003), precision and recall, counted over the corpus."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from attnpred.data.alignment import GoldAlignment, Link


@dataclass
class AlignmentScores:
    """Corpus-level scores; AER = 1 - (|A∩S| + |A∩P|) / (|A| + |S|)."""

    aer: float
    precision: float
    """|A∩P| / |A|."""
    recall: float
    """|A∩S| / |S|."""
    links: int
    """|A|, the number of predicted links."""


def alignment_scores(predicted: Sequence[set[Link]],
                     gold: Sequence[GoldAlignment]) -> AlignmentScores:
    """Score predicted links A against sure S and possible P links (P includes S).

    Raises:
        ValueError: when the two lists differ in length.
    """
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predicted alignments for {len(gold)} gold ones")
    a_s = a_p = a = s = 0
    for pred, g in zip(predicted, gold):
        a_s += len(pred & g.sure)
        a_p += len(pred & (g.possible | g.sure))
        a += len(pred)
        s += len(g.sure)
    aer = 1.0 - (a_s + a_p) / (a + s) if a + s else 0.0
    return AlignmentScores(aer=aer, precision=a_p / a if a else 0.0,
                           recall=a_s / s if s else 0.0, links=a)
