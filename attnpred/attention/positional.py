"""Positional encodings: fixed sinusoidal and learned."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class SinusoidalPositionalEncoding(nn.Module):
    """PE[p, 2i] = sin(p / 10000^(2i/E)), PE[p, 2i+1] = cos(...); added to the input."""

    def __init__(self, dim: int, max_len: int = 4096) -> None:
        super().__init__()
        pos = torch.arange(max_len, dtype=torch.float32)[:, None]
        freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
        pe = torch.zeros(max_len, dim)
        pe[:, 0::2] = torch.sin(pos * freq)
        pe[:, 1::2] = torch.cos(pos * freq[: dim // 2])
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        """x: (B, T, E); positions start at ``offset`` (the cached length when decoding)."""
        t = x.shape[1]
        if offset + t > self.pe.shape[0]:
            raise ValueError(f"sequence of {offset + t} exceeds max_len {self.pe.shape[0]}")
        return x + self.pe[offset: offset + t]


class LearnedPositionalEncoding(nn.Module):
    """A learned embedding per position, added to the input."""

    def __init__(self, dim: int, max_len: int = 512) -> None:
        super().__init__()
        self.embedding = nn.Embedding(max_len, dim)
        nn.init.normal_(self.embedding.weight, std=0.02)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        """x: (B, T, E)."""
        t = x.shape[1]
        if offset + t > self.embedding.num_embeddings:
            raise ValueError(
                f"sequence of {offset + t} exceeds max_len {self.embedding.num_embeddings}")
        pos = torch.arange(offset, offset + t, device=x.device)
        return x + self.embedding(pos)


POSITIONAL = {"sinusoidal": SinusoidalPositionalEncoding, "learned": LearnedPositionalEncoding}
