"""Transformer encoder classifier trained from scratch (pre-LN, CLS / mean / attention pooling).

Shape legend: B batch, T tokens, E width, H heads, L layers, C classes.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from attnpred.attention import POSITIONAL
from attnpred.config import check
from attnpred.models.blocks import EncoderOutput, EncoderShape, TransformerEncoder, init_weights
from attnpred.models.heads import POOLINGS, ClassificationHead, classification_loss


@dataclass
class ClassifierConfig(EncoderShape):
    """The from-scratch encoder classifier."""

    num_labels: int = 2
    """Number of classes C (set from the label vocabulary)."""
    pooling: str = "cls"
    """How the sequence becomes one vector: 'cls', 'mean' or 'attention' (learned query)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.pooling in POOLINGS, "pooling", f"must be one of {POOLINGS}")
        check(self.num_labels >= 2, "num_labels", "needs at least 2 classes")


@dataclass
class ClassifierOutput:
    """What every classifier returns (the from-scratch one and the pretrained adapter).

    Attributes:
        logits: (B, C) class scores.
        loss: scalar cross-entropy when labels were given, else None.
        attentions: per layer (B, H, T, T) self-attention; empty unless need_weights.
        pooling_attention: (B, T) attention of the pooling head (pooling='attention'), else None.
        hidden: (B, T, E) final hidden states.
    """

    logits: Tensor
    loss: Tensor | None = None
    attentions: tuple[Tensor, ...] = ()
    pooling_attention: Tensor | None = None
    hidden: Tensor | None = None


class TransformerClassifier(nn.Module):
    """Embeddings + positional encoding -> TransformerEncoder -> ClassificationHead."""

    def __init__(self, cfg: ClassifierConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.dim, padding_idx=cfg.pad_id)
        self.pos = POSITIONAL[cfg.positional](cfg.dim, cfg.max_len)
        self.drop = nn.Dropout(cfg.dropout)
        self.encoder = TransformerEncoder(cfg.dim, cfg.heads, cfg.ff_dim, cfg.layers,
                                          cfg.dropout, cfg.activation)
        self.head = ClassificationHead(cfg.dim, cfg.num_labels, cfg.pooling, cfg.dropout)
        init_weights(self)

    def encode(self, input_ids: Tensor, attention_mask: Tensor,
               need_weights: bool = False) -> EncoderOutput:
        """(B, T) ids and mask -> hidden (B, T, E) and per-layer attentions."""
        x = self.drop(self.pos(self.embed(input_ids)))
        return self.encoder(x, key_mask=attention_mask.bool(), need_weights=need_weights)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, labels: Tensor | None = None,
                need_weights: bool = False, **unused: Tensor) -> ClassifierOutput:
        """Classify a batch; ``need_weights`` adds per-layer attentions (explicit path)."""
        enc = self.encode(input_ids, attention_mask, need_weights)
        head = self.head(enc.hidden, attention_mask.bool())
        return ClassifierOutput(head.logits, classification_loss(head.logits, labels),
                                enc.attentions, head.pooling_attention, enc.hidden)
