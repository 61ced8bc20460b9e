"""Scoring functions beside the scaled dot product: additive (Bahdanau) and bilinear (Luong).

Each scorer maps queries (B, T, Dq) and keys (B, S, Dk) to scores (B, T, S); ``attend`` turns
scores into weights and a context with the same masking rules as the dot-product path.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from attnpred.attention.functional import AttentionResult, masked_softmax


class AdditiveScore(nn.Module):
    """Bahdanau scoring: v^T tanh(W q + U k)."""

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.w = nn.Linear(query_dim, hidden_dim, bias=False)
        self.u = nn.Linear(key_dim, hidden_dim, bias=True)
        self.v = nn.Linear(hidden_dim, 1, bias=False)

    def project_keys(self, keys: Tensor) -> Tensor:
        """(B, S, Dk) -> U k (B, S, H): computed once per source, reused at every query step."""
        return self.u(keys)

    def score_projected(self, query: Tensor, projected: Tensor) -> Tensor:
        """(B, T, Dq) queries against ``project_keys`` output (B, S, H) -> (B, T, S)."""
        hidden = torch.tanh(self.w(query)[:, :, None, :] + projected[:, None, :, :])
        return self.v(hidden).squeeze(-1)

    def forward(self, query: Tensor, keys: Tensor) -> Tensor:
        """(B, T, Dq), (B, S, Dk) -> (B, T, S)."""
        return self.score_projected(query, self.project_keys(keys))


class BilinearScore(nn.Module):
    """Luong "general" scoring: q^T W k."""

    def __init__(self, query_dim: int, key_dim: int) -> None:
        super().__init__()
        self.w = nn.Linear(key_dim, query_dim, bias=False)

    def project_keys(self, keys: Tensor) -> Tensor:
        """(B, S, Dk) -> W k (B, S, Dq): computed once per source, reused at every query step."""
        return self.w(keys)

    def score_projected(self, query: Tensor, projected: Tensor) -> Tensor:
        """(B, T, Dq) queries against ``project_keys`` output (B, S, Dq) -> (B, T, S)."""
        return torch.matmul(query, projected.transpose(1, 2))

    def forward(self, query: Tensor, keys: Tensor) -> Tensor:
        """(B, T, Dq), (B, S, Dk) -> (B, T, S)."""
        return self.score_projected(query, self.project_keys(keys))


class DotScore(nn.Module):
    """Luong "dot" scoring: q^T k (query and key dims must match)."""

    def forward(self, query: Tensor, keys: Tensor) -> Tensor:
        """(B, T, D), (B, S, D) -> (B, T, S)."""
        return torch.matmul(query, keys.transpose(1, 2))


def attend(scores: Tensor, values: Tensor, key_mask: Tensor | None = None) -> AttentionResult:
    """Weights = masked softmax of scores; output = weights @ values.

    Args:
        scores: (B, T, S); values: (B, S, Dv); key_mask: (B, S) True for real keys.
    Returns:
        AttentionResult(output (B, T, Dv), weights (B, T, S)).
    """
    mask = None if key_mask is None else key_mask[:, None, :].bool()
    weights = masked_softmax(scores, mask)
    return AttentionResult(torch.bmm(weights, values), weights)


SCORERS = {"additive": AdditiveScore, "bilinear": BilinearScore, "dot": DotScore}
