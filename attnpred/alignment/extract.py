"""Word alignments from cross-attention.

A cross-attention map of one sentence pair is (T, S): target sub-words by source sub-words.
Steps: pick a layer and heads (or average), drop special tokens, extract links by argmax per
target row or by a threshold, and merge sub-words into whitespace words, either by linking two
words when any of their sub-words are linked ("links", Zenkel et al. 2019) or by averaging the
map over each word's sub-words first ("mean").

Shape legend: B batch, H heads, T target length, S source length.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from attnpred.config import check
from attnpred.data.alignment import Link

METHODS = ("argmax", "threshold")
MERGES = ("links", "mean")


@dataclass
class AlignConfig:
    """How links are read from cross-attention."""

    layer: int = -2
    """Decoder layer (negative counts from the top); ignored when average_layers is set."""
    heads: tuple[int, ...] = ()
    """Heads to average (empty: all heads)."""
    average_layers: bool = False
    """Average every layer's (selected heads') attention instead of one layer."""
    method: str = "argmax"
    """argmax: each target sub-word links to its most attended source sub-word;
    threshold: every pair whose weight is >= threshold."""
    threshold: float = 0.2
    """Weight threshold for method=threshold (rows renormalised over real source words)."""
    merge: str = "links"
    """Sub-word to word merging: 'links' (any sub-word link) or 'mean' (average the map)."""
    symmetrize: str = "grow-diag-final-and"
    """How two directions are combined: their links by intersection, union or
    grow-diag-final-and, or 'agreement': their word-level attention maps multiplied (the
    source->target map times the transposed target->source one) and every pair whose product
    is at least agreement_threshold linked."""
    agreement_threshold: float = 0.15
    """The product threshold of symmetrize='agreement' (choose it on held-out pairs with
    ``attnpred.alignment.choose_agreement``)."""
    shift: bool = False
    """Read each target word's links at the step where it is the decoder's input rather than
    the step that predicts it (Shift-Att, Chen et al. 2020): the query then knows the word."""

    def __post_init__(self) -> None:
        check(self.method in METHODS, "method", f"one of {METHODS}")
        check(self.merge in MERGES, "merge", f"one of {MERGES}")
        check(0 < self.threshold <= 1, "threshold", "must be in (0, 1]")
        from attnpred.alignment.symmetrize import SYMMETRIZE
        methods = sorted(SYMMETRIZE) + ["agreement"]
        check(self.symmetrize in methods, "symmetrize", f"one of {methods}")
        check(0 < self.agreement_threshold <= 1, "agreement_threshold", "must be in (0, 1]")


def select_attention(cross: Sequence[Tensor], cfg: AlignConfig) -> Tensor:
    """Per-layer (B, H, T, S) maps -> one (B, T, S) map as ``cfg`` says (rows in ``tgt_out``
    order: row t is about the t-th target sub-word)."""
    layers = list(cross) if cfg.average_layers else [cross[cfg.layer]]
    maps = [m[:, list(cfg.heads)] if cfg.heads else m for m in layers]
    out = torch.stack([m.mean(1) for m in maps]).mean(0)
    if cfg.shift:  # row t <- row t + 1, whose decoder input is target t; the last row is empty
        out = torch.cat([out[:, 1:], torch.zeros_like(out[:, :1])], 1)
    return out


def pool_matrix(matrix: Tensor, src_words: Sequence[int], tgt_words: Sequence[int]) -> Tensor:
    """(T, S) sub-word map -> (T_words, S_words) mean over each word's sub-words.

    Sub-words with word index -1 (specials) are dropped.
    """
    def pooling(words: Sequence[int], size: int) -> Tensor:
        n = max((w for w in words[:size]), default=-1) + 1
        p = torch.zeros(n, size)
        for pos, w in enumerate(words[:size]):
            if w >= 0:
                p[w, pos] = 1.0
        return p / p.sum(1, keepdim=True).clamp_min(1.0)

    rows = pooling(tgt_words, matrix.shape[0])
    cols = pooling(src_words, matrix.shape[1])
    return rows @ matrix.float() @ cols.T


def extract_links(matrix: Tensor, cfg: AlignConfig) -> set[Link]:
    """(T, S) map -> links (source index, target index) by argmax or threshold."""
    if matrix.numel() == 0:
        return set()
    if cfg.method == "argmax":
        best = matrix.argmax(1).tolist()
        return {(s, t) for t, s in enumerate(best)}
    rows = matrix / matrix.sum(1, keepdim=True).clamp_min(1e-9)
    return {(s, t) for t, s in (rows >= cfg.threshold).nonzero().tolist()}


def merge_links(links: set[Link], src_words: Sequence[int],
                tgt_words: Sequence[int]) -> set[Link]:
    """Sub-word links -> word links: two words are linked when any of their sub-words are."""
    out = set()
    for s, t in links:
        if s < len(src_words) and t < len(tgt_words) and src_words[s] >= 0 and tgt_words[t] >= 0:
            out.add((src_words[s], tgt_words[t]))
    return out


def word_alignment(matrix: Tensor, src_words: Sequence[int], tgt_words: Sequence[int],
                   cfg: AlignConfig) -> set[Link]:
    """Word links of one pair from its (T, S) sub-word map (padding rows/columns allowed).

    Args:
        matrix: cross-attention, rows = target sub-words (in tgt_out order), cols = source.
        src_words, tgt_words: word index of each real sub-word (-1 for specials like </s>).
    """
    sub, src_w, tgt_w = real_words(matrix, src_words, tgt_words)
    if cfg.merge == "mean":
        return extract_links(pool_matrix(sub, src_w, tgt_w), cfg)
    return merge_links(extract_links(sub, cfg), src_w, tgt_w)


def real_words(matrix: Tensor, src_words: Sequence[int], tgt_words: Sequence[int]
               ) -> tuple[Tensor, list[int], list[int]]:
    """The map without special and padding rows/columns, and the word index of each row and
    column left."""
    s_real = [p for p, w in enumerate(src_words) if w >= 0]
    t_real = [p for p, w in enumerate(tgt_words) if w >= 0]
    return (matrix[t_real][:, s_real].float(), [src_words[p] for p in s_real],
            [tgt_words[p] for p in t_real])


def word_map(matrix: Tensor, src_words: Sequence[int], tgt_words: Sequence[int]) -> Tensor:
    """(T, S) sub-word map -> (T_words, S_words) word map: specials and padding dropped, each
    word's sub-words averaged, each target word's row renormalised to sum to 1."""
    pooled = pool_matrix(*real_words(matrix, src_words, tgt_words))
    return pooled / pooled.sum(1, keepdim=True).clamp_min(1e-9)


def pair_word_maps(maps: Sequence[Sequence[Tensor]], src_words: Sequence[Sequence[int]],
                   tgt_words: Sequence[Sequence[int]], cfg: AlignConfig) -> list[Tensor]:
    """Every pair's word map (``word_map``) of the layer and heads ``cfg`` selects."""
    return [word_map(select_attention([x[None] for x in m], cfg)[0], s, t)
            for m, s, t in zip(maps, src_words, tgt_words)]


def pair_alignments(maps: Sequence[Sequence[Tensor]], src_words: Sequence[Sequence[int]],
                    tgt_words: Sequence[Sequence[int]], cfg: AlignConfig) -> list[set[Link]]:
    """Word links of every pair from its per-layer (H, T, S) cross-attention maps."""
    return [word_alignment(select_attention([x[None] for x in m], cfg)[0], s, t, cfg)
            for m, s, t in zip(maps, src_words, tgt_words)]
