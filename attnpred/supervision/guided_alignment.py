"""Guided alignment: word alignments of the training data supervise cross-attention heads.

As fairseq's ``transformer_align`` (Garg et al. 2019) and OpenNMT-py's ``lambda_align``: the
chosen heads of one decoder layer are averaged into A (B, T, S), each target row with gold
links gets a target distribution G (uniform over the source sub-words its word is linked to),
and the loss is the cross-entropy -sum_s G[t, s] log A[t, s], averaged over those rows.

Shape legend: B batch, H heads, T target length, S source length.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import torch
from torch import Tensor, nn

from attnpred.config import check
from attnpred.supervision.wrapper import SupervisionWrapper

Link = tuple[int, int]


@dataclass
class GuidedAlignmentConfig:
    """Which cross-attention is supervised by gold alignments, and how strongly."""

    weight: float = 0.0
    """lambda: weight of the alignment loss beside the translation loss (0: off)."""
    layer: int = -2
    """Decoder layer whose cross-attention is supervised (negative counts from the top;
    fairseq supervises the penultimate layer)."""
    heads: tuple[int, ...] = (0,)
    """Supervised heads of that layer, averaged (empty: all heads; fairseq uses one)."""
    shift: bool = False
    """Supervise each target word's links at the step where that word is the decoder's input
    (one step later than the step that predicts it; Shift-Att, Chen et al. 2020), so the head
    sees the word it aligns. Read such a model's links with the alignment option shift too."""

    def __post_init__(self) -> None:
        check(self.weight >= 0, "weight", "must be >= 0")
        check(len(set(self.heads)) == len(self.heads), "heads", "must not repeat")


def alignment_targets(links: Iterable[Link], src_words: Sequence[int],
                      tgt_words: Sequence[int], src_len: int, tgt_len: int) -> Tensor:
    """Gold distribution over source sub-words for every target row.

    Args:
        links: word links (i source word, j target word), 0-indexed.
        src_words: whitespace-word index of each source sub-word (-1 for specials).
        tgt_words: whitespace-word index of each target sub-word, in ``tgt_out`` order
            (rows beyond it, such as </s>, get no links).
        src_len, tgt_len: padded sizes S and T of the result.
    Returns:
        (T, S) float tensor; row t sums to 1 when target sub-word t has links, else 0.
    """
    by_tgt: dict[int, set[int]] = {}
    for i, j in links:
        by_tgt.setdefault(j, set()).add(i)
    src_pos: dict[int, list[int]] = {}
    for s, w in enumerate(src_words[:src_len]):
        if w >= 0:
            src_pos.setdefault(w, []).append(s)
    out = torch.zeros(tgt_len, src_len)
    for t, w in enumerate(tgt_words[:tgt_len]):
        for i in by_tgt.get(w, ()):
            out[t, src_pos.get(i, [])] = 1.0
    return out / out.sum(-1, keepdim=True).clamp_min(1.0)


def guided_alignment_loss(cross: Tensor, gold: Tensor, heads: Sequence[int] = (),
                          shift: bool = False) -> Tensor:
    """Cross-entropy between gold alignment rows and the averaged chosen heads.

    Args:
        cross: (B, H, T, S) cross-attention weights of the supervised layer.
        gold: (B, T, S) gold rows from ``alignment_targets`` (all-zero rows are skipped).
        heads: head indices to average (empty: all).
        shift: gold row t supervises attention row t + 1 (where target t is the input).
    Returns:
        Scalar loss (0 when no row has a gold link).
    """
    attn = cross[:, list(heads)] if heads else cross
    attn = attn.mean(1)  # (B, T, S)
    if shift:
        attn, gold = attn[:, 1:], gold[:, :-1]
    rows = gold.sum(-1) > 0  # (B, T)
    if not rows.any():
        return attn.sum() * 0.0
    ce = -(gold * torch.log(attn.clamp_min(1e-9))).sum(-1)  # (B, T)
    return ce[rows].mean()


class GuidedAlignment(SupervisionWrapper):
    """Wrap a seq2seq model so that batches with gold ``align`` (B, T, S) train the chosen
    cross-attention heads too: loss = translation loss + weight x guided-alignment loss.

    Args:
        model: a seq2seq model whose forward takes ``cross_layers`` and returns
            ``cross_attentions`` per decoder layer.
        cfg: the supervised layer, heads and weight.
        decoder_layers: how many decoder layers the model has (to resolve a negative layer).
    """

    def __init__(self, model: nn.Module, cfg: GuidedAlignmentConfig, decoder_layers: int) -> None:
        super().__init__(model)
        self.cfg, self.layer = cfg, cfg.layer % decoder_layers

    def forward(self, src_ids: Tensor, src_mask: Tensor, tgt_in: Tensor,
                tgt_out: Tensor | None = None, align: Tensor | None = None,
                need_weights: bool = False, **rest: Any) -> Any:
        guided = align is not None and self.cfg.weight > 0
        out = self.model(src_ids, src_mask, tgt_in, tgt_out, need_weights=need_weights,
                         cross_layers=frozenset({self.layer}) if guided else frozenset(),
                         **rest)
        if not guided or out.loss is None:
            return out
        align_loss = guided_alignment_loss(out.cross_attentions[self.layer], align,
                                           self.cfg.heads, self.cfg.shift)
        return dataclasses.replace(out, loss=out.loss + self.cfg.weight * align_loss,
                                   align_loss=align_loss)
