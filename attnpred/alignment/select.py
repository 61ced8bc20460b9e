"""Choosing the layer and heads that align best, against reference links on held-out pairs.

Candidates are read both at the step that predicts each target word and at the step where it
is the decoder's input (``AlignConfig.shift``), by argmax and by weight thresholds. The reference is what a user trusts without gold: another aligner's links (eflomal's, in the
benchmark) on pairs the model did not train on. Every candidate (each decoder layer with each
head alone, all of that layer's heads averaged, and all layers averaged) is scored by AER with
the reference links counted as sure; the lowest AER wins, ties going to the earlier candidate.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

from torch import Tensor

from attnpred.alignment.extract import AlignConfig, pair_alignments
from attnpred.alignment.metrics import alignment_scores
from attnpred.data.alignment import GoldAlignment, Link


@dataclass
class AlignmentChoice:
    """The chosen extraction and every candidate's score."""

    config: AlignConfig
    """The candidate with the lowest AER against the reference."""
    table: list[dict]
    """One row per candidate: layer, heads, average_layers, aer, precision, recall."""


THRESHOLDS = (0.1, 0.2, 0.3)


def alignment_candidates(layers: int, heads: int, base: AlignConfig,
                         thresholds: tuple[float, ...] = THRESHOLDS) -> list[AlignConfig]:
    """Each layer with each head and with all heads, then all layers averaged, each read at
    the predicting step and shifted, each by argmax and by every weight threshold in
    ``thresholds`` (``base``'s merging kept)."""
    reads = [("argmax", base.threshold)] + [("threshold", t) for t in thresholds]
    out = []
    for method, threshold in reads:
        for shift in (False, True):
            for layer in range(layers):
                for chosen in [(h,) for h in range(heads)] + [()]:
                    out.append(dataclasses.replace(
                        base, layer=layer, heads=chosen, average_layers=False, shift=shift,
                        method=method, threshold=threshold))
            out.append(dataclasses.replace(base, heads=(), average_layers=True, shift=shift,
                                           method=method, threshold=threshold))
    return out


def choose_alignment(maps: Sequence[tuple[Tensor, ...]], src_words: Sequence[Sequence[int]],
                     tgt_words: Sequence[Sequence[int]], reference: Sequence[set[Link]],
                     candidates: Sequence[AlignConfig]) -> AlignmentChoice:
    """Score ``candidates`` on forced cross-attention ``maps`` (per pair, per layer (H, T, S))
    against ``reference`` links; sub-word to word indices as ``word_alignment`` takes them."""
    if len(maps) != len(reference):
        raise ValueError(f"{len(maps)} pairs but {len(reference)} reference alignments")
    gold = [GoldAlignment(sure=set(r), possible=set(r)) for r in reference]
    table, best = [], None
    for cfg in candidates:
        links = pair_alignments(maps, src_words, tgt_words, cfg)
        sc = alignment_scores(links, gold)
        table.append({"layer": None if cfg.average_layers else cfg.layer,
                      "heads": list(cfg.heads) or "all", "average_layers": cfg.average_layers,
                      "shift": cfg.shift, "method": cfg.method,
                      "threshold": cfg.threshold if cfg.method == "threshold" else None,
                      "aer": sc.aer, "precision": sc.precision, "recall": sc.recall})
        if best is None or sc.aer < best[0]:
            best = (sc.aer, cfg)
    if best is None:
        raise ValueError("no candidates to choose from")
    return AlignmentChoice(config=best[1], table=table)
