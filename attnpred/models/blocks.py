"""Transformer blocks shared by every model family (pre-LN).

Shape legend: B batch, T length, E width, H heads.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from attnpred.attention import POSITIONAL, MultiHeadAttention
from attnpred.config import check

ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}


@dataclass
class EncoderShape:
    """A from-scratch Transformer encoder over tokens (the classifier's and the tagger's)."""

    vocab_size: int = 8000
    """Tokenizer vocabulary size (set from the trained tokenizer)."""
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
    positional: str = "learned"
    """Positional encoding: 'learned' or 'sinusoidal'."""
    activation: str = "gelu"
    """Feed-forward activation: 'gelu' or 'relu'."""
    pad_id: int = 0
    """Padding token id (set from the tokenizer)."""

    def __post_init__(self) -> None:
        for name in ("dim", "heads", "layers", "ff_dim", "max_len", "vocab_size"):
            check(getattr(self, name) >= 1, name, "must be >= 1")
        check(self.dim % self.heads == 0, "heads", f"dim {self.dim} must divide by heads")
        check(self.positional in POSITIONAL, "positional", f"must be one of {list(POSITIONAL)}")
        check(self.activation in ACTIVATIONS, "activation", f"must be one of {list(ACTIVATIONS)}")
        check(0 <= self.dropout < 1, "dropout", "must be in [0, 1)")


class FeedForward(nn.Module):
    """Linear -> activation -> dropout -> Linear."""

    def __init__(self, dim: int, hidden: int, dropout: float, activation: str = "gelu") -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), ACTIVATIONS[activation](),
                                 nn.Dropout(dropout), nn.Linear(hidden, dim))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class EncoderLayer(nn.Module):
    """x + SelfAttn(LN(x)); x + FFN(LN(x)). Attention is injected (defaults to MHA)."""

    def __init__(self, dim: int, heads: int, ff_dim: int, dropout: float,
                 activation: str = "gelu", attention: nn.Module | None = None,
                 attn_dropout: float | None = None) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        attn_p = dropout if attn_dropout is None else attn_dropout
        self.attn = attention or MultiHeadAttention(dim, heads, dropout=attn_p)
        self.ff = FeedForward(dim, ff_dim, dropout, activation)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, key_mask: Tensor | None = None, causal: bool = False,
                need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        """x: (B, T, E) -> (B, T, E), weights (B, H, T, T) or None."""
        a = self.attn(self.norm1(x), key_mask=key_mask, causal=causal, need_weights=need_weights)
        x = x + self.drop(a.output)
        x = x + self.drop(self.ff(self.norm2(x)))
        return x, a.weights


class EncoderOutput(NamedTuple):
    """Attributes:
        hidden: (B, T, E) final hidden states (after the final LayerNorm).
        attentions: per layer (B, H, T, T); empty unless weights were asked for.
    """

    hidden: Tensor
    attentions: tuple[Tensor, ...]


class TransformerEncoder(nn.Module):
    """A stack of pre-LN encoder layers with a final LayerNorm."""

    def __init__(self, dim: int, heads: int, ff_dim: int, layers: int, dropout: float,
                 activation: str = "gelu", attn_dropout: float | None = None) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            EncoderLayer(dim, heads, ff_dim, dropout, activation, attn_dropout=attn_dropout)
            for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor, key_mask: Tensor | None = None, causal: bool = False,
                need_weights: bool = False) -> EncoderOutput:
        attentions = []
        for layer in self.layers:
            x, w = layer(x, key_mask=key_mask, causal=causal, need_weights=need_weights)
            if w is not None:
                attentions.append(w)
        return EncoderOutput(self.norm(x), tuple(attentions))


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """BERT-style init: normal(0, std) for Linear and Embedding, zeros for biases."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=std)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
            if isinstance(m, nn.Embedding) and m.padding_idx is not None:
                with torch.no_grad():
                    m.weight[m.padding_idx].zero_()
