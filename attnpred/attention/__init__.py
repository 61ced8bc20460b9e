"""The attention core: every model in attnpred computes attention through this package."""
from attnpred.attention.functional import (AttentionResult, causal_mask, masked_softmax,
                                           scaled_dot_product_attention)
from attnpred.attention.multihead import KVCache, MHAOutput, MultiHeadAttention
from attnpred.attention.pooling import AttentionPooling, PoolingOutput
from attnpred.attention.positional import (POSITIONAL, LearnedPositionalEncoding,
                                           SinusoidalPositionalEncoding)
from attnpred.attention.scoring import SCORERS, AdditiveScore, BilinearScore, DotScore, attend

__all__ = [
    "AttentionResult", "causal_mask", "masked_softmax", "scaled_dot_product_attention",
    "KVCache", "MHAOutput", "MultiHeadAttention", "AttentionPooling", "PoolingOutput",
    "POSITIONAL", "LearnedPositionalEncoding", "SinusoidalPositionalEncoding",
    "SCORERS", "AdditiveScore", "BilinearScore", "DotScore", "attend",
]
