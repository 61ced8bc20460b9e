"""Family-agnostic attention maps: word-level aggregation, head/layer reductions, rollout and
gradient-weighted attention.

Everything takes numpy arrays (or torch tensors, converted) of attention weights whose rows
are queries and columns keys, and returns numpy float32 arrays.

Shape legend: L layers, H heads, T tokens (queries and keys), W words.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

HEAD_REDUCTIONS = ("mean", "max")


def as_array(x: Any) -> np.ndarray:
    """A float32 numpy copy of a numpy array or a (possibly grad-carrying) torch tensor."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float32)


def word_pooling(word_ids: Sequence[int | None], n_words: int) -> np.ndarray:
    """(T, W) 0/1 matrix: token t belongs to word w (special tokens, id None, belong to none)."""
    pool = np.zeros((len(word_ids), n_words), dtype=np.float32)
    for t, w in enumerate(word_ids):
        if w is not None and 0 <= w < n_words:
            pool[t, w] = 1.0
    return pool


def words_keys(att: Any, word_ids: Sequence[int | None], n_words: int) -> np.ndarray:
    """Key-side aggregation: (..., T) -> (..., W), a word gets the sum over its pieces."""
    a = as_array(att)
    return a[..., : len(word_ids)] @ word_pooling(word_ids, n_words)


def words_matrix(att: Any, word_ids: Sequence[int | None], n_words: int,
                 query_word_ids: Sequence[int | None] | None = None,
                 n_query_words: int | None = None) -> np.ndarray:
    """(..., Tq, Tk) token map -> (..., Wq, Wk) word map.

    Keys are summed over a word's pieces (the attention a word receives), queries averaged
    (a word attends as its pieces do on average), so word rows still sum to at most 1.
    Self-attention uses one word list; cross-attention gives the queries' (target's) own.
    """
    q_ids = word_ids if query_word_ids is None else query_word_ids
    n_q = n_words if n_query_words is None else n_query_words
    a = as_array(att)[..., : len(q_ids), : len(word_ids)]
    keys = word_pooling(word_ids, n_words)  # (Tk, Wk)
    queries = word_pooling(q_ids, n_q)  # (Tq, Wq)
    mean_q = (queries / np.maximum(queries.sum(0), 1.0)).T  # (Wq, Tq)
    return mean_q @ a @ keys


def normalise(v: np.ndarray, axis: int = -1) -> np.ndarray:
    """Rescale to sum 1 along ``axis`` (an all-zero slice stays zero)."""
    total = v.sum(axis=axis, keepdims=True)
    return np.where(total > 0, v / np.where(total > 0, total, 1.0), 0.0).astype(np.float32)


def reduce_heads(att: Any, how: str = "mean") -> np.ndarray:
    """(..., H, Tq, Tk) -> (..., Tq, Tk): mean or max over heads."""
    a = as_array(att)
    if how == "mean":
        return a.mean(-3)
    if how == "max":
        return a.max(-3)
    raise ValueError(f"unknown head reduction {how!r}; expected one of {HEAD_REDUCTIONS}")


def rollout(attentions: Any, residual: float = 0.5, heads: str = "mean") -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020) with the residual identity.

    Each layer's head-reduced map A becomes ``(1 - residual) * A + residual * I``, rows
    renormalised, and the layers are multiplied from the input up:
    ``R = Â_L ... Â_2 Â_1``. Row i of R is how much token i at the top draws from each input
    token through attention and the residual stream.

    Args:
        attentions: (L, H, T, T) or a list of L (H, T, T) maps, bottom layer first.
        residual: weight of the identity (0.5 in the paper).
        heads: head reduction, 'mean' (paper) or 'max'.
    Returns:
        (T, T) rolled-out map.
    """
    maps = [reduce_heads(a, heads) for a in attentions]
    t = maps[0].shape[-1]
    out = np.eye(t, dtype=np.float64)
    for a in maps:
        a_hat = (1.0 - residual) * a.astype(np.float64) + residual * np.eye(t)
        a_hat /= a_hat.sum(-1, keepdims=True)
        out = a_hat @ out
    return out.astype(np.float32)


def gradient_weighted(attentions: Any, gradients: Any) -> np.ndarray:
    """Gradient-weighted attention per layer: mean over heads of (grad * A)^+.

    Chefer et al. 2021 ("Generic Attention-model Explainability"), eq. 5: the gradient of the
    predicted class's score with respect to each attention weight, times the weight, with
    only positive contributions kept, averaged over heads.

    Args:
        attentions: (L, H, T, T) weights (or a list of L (H, T, T)).
        gradients: same shape, d logit_y / d weights.
    Returns:
        (L, T, T).
    """
    a = np.stack([as_array(x) for x in attentions])
    g = np.stack([as_array(x) for x in gradients])
    return np.clip(a * g, 0.0, None).mean(1)


def relevance(layer_maps: Any) -> np.ndarray:
    """Chefer et al. 2021 relevance propagation: R = I, then R <- R + Ā_l R for each layer.

    Args:
        layer_maps: (L, T, T) gradient-weighted maps, bottom layer first.
    Returns:
        (T, T) relevance of each input token (columns) for each output token (rows).
    """
    maps = as_array(layer_maps).astype(np.float64)
    out = np.eye(maps.shape[-1])
    for a in maps:
        out = out + a @ out
    return out.astype(np.float32)


def readout(matrix: Any, query: Any) -> np.ndarray:
    """(T,) importance read off a (T, T) map by a query distribution over its rows.

    ``query`` is how the model reads its output from the top layer: one-hot on [CLS] for CLS
    pooling, the pooling head's weights for attention pooling, uniform over real tokens for
    mean pooling.
    """
    return as_array(query) @ as_array(matrix)


def rollout_readout(attentions: Any, query: Any, residual: float = 0.5,
                    heads: str = "mean") -> np.ndarray:
    """``readout(rollout(attentions), query)`` without forming the (T, T) product.

    The query vector is carried down from the top layer (``v <- v Â_l``), O(L T^2) instead of
    O(L T^3), so 2,000-token inputs stay fast.
    """
    v = as_array(query).astype(np.float64)
    for a in reversed(list(attentions)):
        m = reduce_heads(a, heads).astype(np.float64)
        a_hat = (1.0 - residual) * m + residual * np.eye(m.shape[-1])
        v = v @ (a_hat / a_hat.sum(-1, keepdims=True))
    return v.astype(np.float32)


def relevance_readout(layer_maps: Any, query: Any) -> np.ndarray:
    """``readout(relevance(layer_maps), query)``: R = (I + Ā_L) ... (I + Ā_1), applied to the
    query from the top layer down."""
    v = as_array(query).astype(np.float64)
    for a in reversed(list(as_array(layer_maps))):
        v = v + v @ a.astype(np.float64)
    return v.astype(np.float32)
