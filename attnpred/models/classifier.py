"""Transformer encoder classifier trained from scratch (pre-LN, CLS / mean / attention pooling).

Shape legend: B batch, T tokens, E width, H heads, L layers, C classes.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from attnpred.attention import POSITIONAL
from attnpred.config import check
from attnpred.models.blocks import ACTIVATIONS, EncoderOutput, TransformerEncoder, init_weights
from attnpred.models.heads import POOLINGS, ClassificationHead, classification_loss


@dataclass
class ClassifierConfig:
    """The from-scratch encoder classifier."""

    vocab_size: int = 8000
    """Tokenizer vocabulary size (set from the trained tokenizer)."""
    num_labels: int = 2
    """Number of classes C (set from the label vocabulary)."""
    dim: int = 256
    """Model width E."""
    heads: int = 4
    """Attention heads H per layer."""
    layers: int = 4
    """Encoder layers L."""
    ff_dim: int = 1024
    """Hidden width of the feed-forward blocks."""
    dropout: float = 0.1
    """Dropout on embeddings, attention weights, residual branches and the head."""
    max_len: int = 256
    """Longest input in tokens (longer inputs are truncated)."""
    pooling: str = "cls"
    """How the sequence becomes one vector: 'cls', 'mean' or 'attention' (learned query)."""
    positional: str = "learned"
    """Positional encoding: 'learned' or 'sinusoidal'."""
    activation: str = "gelu"
    """Feed-forward activation: 'gelu' or 'relu'."""
    pad_id: int = 0
    """Padding token id."""

    def __post_init__(self) -> None:
        for name in ("dim", "heads", "layers", "ff_dim", "max_len", "vocab_size"):
            check(getattr(self, name) >= 1, name, "must be >= 1")
        check(self.dim % self.heads == 0, "heads", f"dim {self.dim} must divide by heads")
        check(self.pooling in POOLINGS, "pooling", f"must be one of {POOLINGS}")
        check(self.positional in POSITIONAL, "positional", f"must be one of {list(POSITIONAL)}")
        check(self.activation in ACTIVATIONS, "activation", f"must be one of {list(ACTIVATIONS)}")
        check(0 <= self.dropout < 1, "dropout", "must be in [0, 1)")
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
