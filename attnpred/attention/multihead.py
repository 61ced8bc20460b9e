"""Multi-head attention for self and cross attention, with a key/value cache for decoding."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnpred.attention.functional import scaled_dot_product_attention


@dataclass
class KVCache:
    """Keys and values kept between decoding steps.

    Attributes:
        k: (B, H, S, D) cached keys, or None before the first step.
        v: (B, H, S, D) cached values.
        static: True for cross-attention, where the memory is projected once and reused.
    """

    k: Tensor | None = None
    v: Tensor | None = None
    static: bool = False

    @property
    def length(self) -> int:
        return 0 if self.k is None else self.k.shape[2]

    def reorder(self, index: Tensor) -> None:
        """Select batch rows (beam search reordering)."""
        if self.k is not None:
            self.k = self.k.index_select(0, index)
            self.v = self.v.index_select(0, index)


class MHAOutput(NamedTuple):
    """Attributes:
        output: (B, T, E) attended and projected.
        weights: (B, H, T, S) per-head weights, or None unless asked for.
    """

    output: Tensor
    weights: Tensor | None


class MultiHeadAttention(nn.Module):
    """h heads in parallel, concatenated and projected.

    Projections may be injected (e.g. to share or adapt them); by default they are Linear.

    Args:
        embed_dim: model width E (query input and output).
        num_heads: H; E must be divisible by H.
        kdim, vdim: widths of key and value inputs (cross attention), default E.
        dropout: dropout on attention weights during training.
        bias: bias in the projections.
    """

    def __init__(self, embed_dim: int, num_heads: int, *, kdim: int | None = None,
                 vdim: int | None = None, dropout: float = 0.0, bias: bool = True,
                 q_proj: nn.Module | None = None, k_proj: nn.Module | None = None,
                 v_proj: nn.Module | None = None, out_proj: nn.Module | None = None) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = dropout
        self.q_proj = q_proj or nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = k_proj or nn.Linear(kdim or embed_dim, embed_dim, bias=bias)
        self.v_proj = v_proj or nn.Linear(vdim or embed_dim, embed_dim, bias=bias)
        self.out_proj = out_proj or nn.Linear(embed_dim, embed_dim, bias=bias)

    def _split(self, x: Tensor) -> Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)

    def _packed_projection(self) -> tuple[Tensor, Tensor | None] | None:
        """q/k/v weights stacked to (3E, E) (and biases), when all three are plain Linear.

        Self-attention then projects with one matmul instead of three, as torch's
        ``MultiheadAttention`` does with ``in_proj_weight``; injected modules are left alone.
        """
        projs = (self.q_proj, self.k_proj, self.v_proj)
        if not all(type(p) is nn.Linear and not (p._forward_hooks or p._forward_pre_hooks)
                   for p in projs):  # a hook (pruning, probes) must see its module run
            return None
        if len({p.in_features for p in projs}) > 1 or len({p.bias is None for p in projs}) > 1:
            return None
        bias = None if projs[0].bias is None else torch.cat([p.bias for p in projs])
        return torch.cat([p.weight for p in projs]), bias

    def _project(self, query: Tensor, key: Tensor, value: Tensor,
                 cache: KVCache | None) -> tuple[Tensor, Tensor, Tensor]:
        """(B, H, T, D) queries and (B, H, S_total, D) keys and values."""
        packed = None
        if key is query and value is query and (cache is None or not cache.static):
            packed = self._packed_projection()
        if packed is None:
            return (self._split(self.q_proj(query)),) + self._keys_values(key, value, cache)
        q, k, v = F.linear(query, *packed).chunk(3, dim=-1)  # 3 x (B, T, E)
        return (self._split(q),) + self._extend_cache(self._split(k), self._split(v), cache)

    def _keys_values(self, key: Tensor, value: Tensor,
                     cache: KVCache | None) -> tuple[Tensor, Tensor]:
        if cache is not None and cache.static and cache.k is not None:
            return cache.k, cache.v
        return self._extend_cache(self._split(self.k_proj(key)), self._split(self.v_proj(value)),
                                  cache)

    @staticmethod
    def _extend_cache(k: Tensor, v: Tensor, cache: KVCache | None) -> tuple[Tensor, Tensor]:
        if cache is not None:
            if not cache.static and cache.k is not None:
                k = torch.cat([cache.k, k], dim=2)
                v = torch.cat([cache.v, v], dim=2)
            cache.k, cache.v = k, v
        return k, v

    def forward(self, query: Tensor, key: Tensor | None = None, value: Tensor | None = None, *,
                key_mask: Tensor | None = None, attn_mask: Tensor | None = None,
                causal: bool = False, need_weights: bool = False,
                cache: KVCache | None = None) -> MHAOutput:
        """Attend from ``query`` to ``key``/``value`` (self-attention when they are None).

        Args:
            query: (B, T, E). key, value: (B, S, kdim/vdim); default: ``query``.
            key_mask: (B, S_total) True for real keys (including cached positions).
            attn_mask: boolean keep-mask broadcastable to (B, H, T, S_total).
            causal: causal mask aligned to the end of the keys (correct with a cache).
            need_weights: also return (B, H, T, S_total) weights (explicit path).
            cache: key/value cache; updated in place.
        Returns:
            MHAOutput(output (B, T, E), weights or None).
        """
        key = query if key is None else key
        value = key if value is None else value
        b, t, _ = query.shape
        q, k, v = self._project(query, key, value, cache)
        res = scaled_dot_product_attention(
            q, k, v, key_mask=key_mask, attn_mask=attn_mask, causal=causal,
            dropout_p=self.dropout if self.training else 0.0, need_weights=need_weights)
        out = res.output.transpose(1, 2).reshape(b, t, self.embed_dim)  # (B, T, E)
        return MHAOutput(self.out_proj(out), res.weights)
