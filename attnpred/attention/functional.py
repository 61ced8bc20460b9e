"""Scaled dot-product attention: the one place where attention weights are computed.

Shape legend: B batch, H heads, T query length, S key length, D head dim.
Mask convention everywhere in attnpred: boolean, ``True`` = may attend (keep).

Two paths, one switch: ``need_weights=False`` runs the fused
``torch.nn.functional.scaled_dot_product_attention``; ``need_weights=True`` runs the written-out
path, the only one that materialises the weights. They agree within float tolerance
(tests/attention/test_functional.py).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor


class AttentionResult(NamedTuple):
    """Output of attention.

    Attributes:
        output: (B, H, T, D) weighted sum of the values.
        weights: (B, H, T, S) attention weights before dropout, rows sum to 1 (0 for a query
            with no visible key); ``None`` when weights were not asked for.
    """

    output: Tensor
    weights: Tensor | None


def causal_mask(t: int, s: int | None = None, *, offset: int = 0,
                device: torch.device | None = None) -> Tensor:
    """(T, S) keep-mask where query i sees keys j <= i + offset (offset = cached length)."""
    s = t + offset if s is None else s
    rows = torch.arange(t, device=device)[:, None] + offset
    return torch.arange(s, device=device)[None, :] <= rows


def build_mask(key_mask: Tensor | None, attn_mask: Tensor | None, causal: bool,
               t: int, s: int, device: torch.device) -> Tensor | None:
    """Combine padding, explicit and causal masks into one broadcastable keep-mask.

    Args:
        key_mask: (B, S) True for real keys, False for padding.
        attn_mask: boolean keep-mask broadcastable to (B, H, T, S).
        causal: whether query i may only see keys j <= i + (S - T).
    Returns:
        A boolean mask broadcastable to (B, H, T, S), or None when nothing is masked.
    """
    mask = None
    if key_mask is not None:
        mask = key_mask[:, None, None, :].bool()  # (B, 1, 1, S)
    if attn_mask is not None:
        if attn_mask.dtype != torch.bool:
            raise TypeError("attn_mask must be boolean (True = may attend)")
        mask = attn_mask if mask is None else mask & attn_mask
    if causal:
        cm = causal_mask(t, s, offset=s - t, device=device)
        mask = cm if mask is None else mask & cm
    return mask


def blind_queries(mask: Tensor, dim: int = -1) -> Tensor | None:
    """Where a query sees no key at all (``mask`` all False along ``dim``), or None if nowhere.

    Deciding "nowhere" reads the mask on the host, which would stall an accelerator's stream,
    so off the CPU the (small, broadcastable) mask is always returned.
    """
    blind = ~mask.any(dim, keepdim=True)
    if blind.device.type == "cpu" and not bool(blind.any()):
        return None
    return blind


def masked_softmax(scores: Tensor, mask: Tensor | None, dim: int = -1, *,
                   overwrite: bool = False) -> Tensor:
    """Softmax with masked entries exactly 0; a fully masked row gives all zeros, not NaN.

    Args:
        scores: any shape; mask: boolean keep-mask broadcastable to ``scores``.
        overwrite: fill masked scores in place, unrecorded by autograd (saves a copy and a
            backward pass); only for scores the caller owns, made by an op such as matmul whose
            backward does not read its own output.
    """
    if mask is None:
        return torch.softmax(scores, dim=dim)
    # The most negative finite number, not -inf: exp(min - max) is exactly 0 next to any real
    # score, and a fully masked row stays finite (uniform) until it is zeroed below.
    low = torch.finfo(scores.dtype).min
    if overwrite:
        # Outside autograd: the softmax gradient is already exactly 0 at the filled entries
        # (their weight is 0; a zeroed blind row passes back 0), so recording the fill would
        # only add a full pass over (B, H, T, S) to the backward.
        with torch.no_grad():
            scores.masked_fill_(~mask, low)
    else:
        scores = scores.masked_fill(~mask, low)
    weights = torch.softmax(scores, dim=dim)
    blind = blind_queries(mask, dim)
    return weights if blind is None else weights.masked_fill(blind, 0.0)


def scaled_dot_product_attention(
    q: Tensor, k: Tensor, v: Tensor, *,
    key_mask: Tensor | None = None,
    attn_mask: Tensor | None = None,
    causal: bool = False,
    dropout_p: float = 0.0,
    need_weights: bool = False,
    scale: float | None = None,
) -> AttentionResult:
    """softmax(Q K^T * scale + mask) V.

    Args:
        q: (B, H, T, D); k: (B, H, S, D); v: (B, H, S, Dv).
        key_mask: (B, S) True for real keys.
        attn_mask: boolean keep-mask broadcastable to (B, H, T, S).
        causal: apply a causal mask (aligned to the end of the keys, as with a KV cache).
        dropout_p: dropout on the weights (pass 0.0 in eval mode).
        need_weights: return the weights; selects the explicit path.
        scale: defaults to 1 / sqrt(D).
    Returns:
        AttentionResult(output (B, H, T, Dv), weights (B, H, T, S) or None).
    """
    t, s = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    only_causal = causal and key_mask is None and attn_mask is None and t == s
    mask = None if only_causal else build_mask(key_mask, attn_mask, causal, t, s, q.device)
    if not need_weights:
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p,
                                             is_causal=only_causal, scale=scale)
        blind = None if mask is None else blind_queries(mask)
        if blind is not None:  # a query with no visible key gets 0, as on the explicit path
            out = torch.where(blind, 0.0, out)
        return AttentionResult(out, None)
    if only_causal:
        mask = causal_mask(t, s, device=q.device)
    scores = torch.matmul(q * scale, k.transpose(-2, -1))  # (B, H, T, S), ours to overwrite
    weights = masked_softmax(scores, mask, overwrite=True)
    dropped = F.dropout(weights, p=dropout_p) if dropout_p > 0 else weights
    return AttentionResult(torch.matmul(dropped, v), weights)
