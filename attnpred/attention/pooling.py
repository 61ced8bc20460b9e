"""Attention pooling: a learned query pools a sequence into one vector."""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor, nn

from attnpred.attention.functional import masked_softmax


class PoolingOutput(NamedTuple):
    """Attributes:
        pooled: (B, E) weighted sum of the inputs.
        weights: (B, T) attention over positions; padding gets exactly 0.
    """

    pooled: Tensor
    weights: Tensor


class AttentionPooling(nn.Module):
    """score_t = q . tanh(W x_t) / sqrt(E); weights = masked softmax; pooled = sum_t w_t x_t.

    Args:
        dim: input width E.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.key = nn.Linear(dim, dim)
        self.query = nn.Parameter(torch.randn(dim) / math.sqrt(dim))
        self.scale = 1.0 / math.sqrt(dim)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> PoolingOutput:
        """x: (B, T, E); mask: (B, T) True for real tokens."""
        scores = torch.tanh(self.key(x)) @ self.query * self.scale  # (B, T)
        weights = masked_softmax(scores, None if mask is None else mask.bool())
        return PoolingOutput(torch.einsum("bt,bte->be", weights, x), weights)
