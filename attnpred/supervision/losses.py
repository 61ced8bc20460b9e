"""Attention losses: pick the supervised attention from a model output, compare it to gold.

Shape legend: B batch, L layers, H heads, K supervised maps per example, T tokens.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from attnpred.errors import AttnpredError
from attnpred.supervision.config import SupervisionConfig

EPS = 1e-9


def supervised_maps(output: Any, cfg: SupervisionConfig) -> Tensor:
    """(B, K, T) attention maps to supervise: K = 1 unless ``cfg.per_head``.

    Args:
        output: a model output with ``pooling_attention`` (B, T) and/or ``attentions``
            (per layer (B, H, T, T); the model must have been called with need_weights).
        cfg: which attention (``target``, ``layers``, ``heads``, ``per_head``).
    Raises:
        AttnpredError: the model has no such attention.
    """
    if cfg.target == "pooling":
        if output.pooling_attention is None:
            raise AttnpredError("target 'pooling' needs a model with attention pooling "
                                "(pooling='attention'); or supervise target 'cls'",
                                field="supervision.target")
        return output.pooling_attention[:, None, :]
    if not output.attentions:
        raise AttnpredError("target 'cls' needs the self-attention weights; call the model "
                            "with need_weights=True", field="supervision.target")
    n = len(output.attentions)
    if any(not -n <= layer < n for layer in cfg.layers):
        raise AttnpredError(f"layers {list(cfg.layers)} out of range for a {n}-layer model",
                            field="supervision.layers")
    rows = []
    for layer in cfg.layers:
        att = output.attentions[layer][:, :, 0, :]  # (B, H, T): the [CLS] query row
        if cfg.heads:
            if max(cfg.heads) >= att.shape[1]:
                raise AttnpredError(f"heads {list(cfg.heads)} out of range for "
                                    f"{att.shape[1]} heads", field="supervision.heads")
            att = att[:, list(cfg.heads)]
        rows.append(att)
    maps = torch.cat(rows, dim=1)  # (B, L*H', T)
    return maps if cfg.per_head else maps.mean(1, keepdim=True)


def select_attention(output: Any, cfg: SupervisionConfig) -> Tensor:
    """(B, T) the supervised attention (chosen heads and layers averaged)."""
    return supervised_maps(output, cfg).mean(1)


def renormalize(att: Tensor, word_mask: Tensor) -> Tensor:
    """(B, K, T) attention restricted to word tokens (B, T) and rescaled to sum to 1 there."""
    kept = att * word_mask.to(att.dtype)[:, None, :]
    return kept / kept.sum(-1, keepdim=True).clamp_min(EPS)


def per_example_loss(att: Tensor, gold: Tensor, kind: str) -> Tensor:
    """(B, K, T) attention against (B, T) gold -> (B,) loss averaged over the K maps."""
    g = gold[:, None, :].to(att.dtype)
    log_a = torch.log(att.clamp_min(EPS))
    if kind == "ce":
        loss = -(g * log_a).sum(-1)
    elif kind == "kl":
        loss = (torch.xlogy(g, g) - g * log_a).sum(-1)
    elif kind == "mse":
        loss = ((att - g) ** 2).sum(-1)
    else:
        raise ValueError(f"unknown attention loss {kind!r}")
    return loss.mean(-1)


def attention_loss(maps: Tensor, gold: Tensor, has_gold: Tensor, cfg: SupervisionConfig,
                   word_mask: Tensor | None = None) -> Tensor:
    """Attention loss averaged over the examples that have gold (0 when none has).

    Args:
        maps: (B, K, T) or (B, T) supervised attention.
        gold: (B, T) gold distribution over sub-word tokens (rows of examples without gold
            are ignored).
        has_gold: (B,) bool.
        cfg: loss kind and renormalisation.
        word_mask: (B, T) True for word tokens; needed when ``cfg.renormalize``.
    """
    if maps.dim() == 2:
        maps = maps[:, None, :]
    if cfg.renormalize and word_mask is not None:
        maps = renormalize(maps, word_mask)
    has_gold = has_gold.bool()
    if not has_gold.any():
        return maps.sum() * 0.0
    return per_example_loss(maps[has_gold], gold[has_gold], cfg.loss).mean()
