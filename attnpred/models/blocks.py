"""Transformer blocks shared by every model family (pre-LN).

Shape legend: B batch, T length, E width, H heads.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from attnpred.attention import MultiHeadAttention

ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}


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
