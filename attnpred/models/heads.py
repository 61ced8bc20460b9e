"""Classification head shared by the from-scratch classifier and the pretrained adapter."""
from __future__ import annotations

from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor, nn

from attnpred.attention import AttentionPooling

POOLINGS = ("cls", "attention", "mean")


class HeadOutput(NamedTuple):
    """Attributes:
        logits: (B, C).
        pooling_attention: (B, T) with attention pooling, else None.
    """

    logits: Tensor
    pooling_attention: Tensor | None


class ClassificationHead(nn.Module):
    """Pool (B, T, E) hidden states to (B, E) by CLS, mean or attention; dropout; linear."""

    def __init__(self, dim: int, num_labels: int, pooling: str, dropout: float) -> None:
        super().__init__()
        self.pooling = pooling
        self.pool = AttentionPooling(dim) if pooling == "attention" else None
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(dim, num_labels)

    def forward(self, hidden: Tensor, mask: Tensor) -> HeadOutput:
        weights = None
        if self.pool is not None:
            pooled, weights = self.pool(hidden, mask)
        elif self.pooling == "mean":
            m = mask.to(hidden.dtype)[..., None]
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
        else:
            pooled = hidden[:, 0]
        return HeadOutput(self.out(self.drop(pooled)), weights)


def classification_loss(logits: Tensor, labels: Tensor | None) -> Tensor | None:
    return None if labels is None else F.cross_entropy(logits, labels)
