"""Token taggers: a word-level tag head (optionally a CRF) on a from-scratch Transformer encoder
or on a pretrained Hugging Face encoder. Each word is labelled from its first sub-word.

Shape legend: B batch, T sub-word tokens, W words, E width, H heads, C tags.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnpred.attention import POSITIONAL
from attnpred.config import check
from attnpred.models.blocks import EncoderOutput, EncoderShape, TransformerEncoder, init_weights
from attnpred.models.crf import CRF


@dataclass
class ScratchTaggerConfig(EncoderShape):
    """The from-scratch encoder of a tagger (words past max_len get the fallback tag)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.max_len >= 4, "max_len", "must be >= 4")


@dataclass
class PretrainedTaggerConfig:
    """A pretrained Hugging Face encoder under the tag head."""

    model_dir: str = "minilm"
    """Local Hugging Face model directory; 'minilm' = the bundled all-MiniLM-L6-v2."""
    dropout: float = 0.1
    """Dropout before the tag head."""
    max_len: int = 256
    """Longest input in sub-word tokens; words past it get the fallback tag."""

    def __post_init__(self) -> None:
        check(bool(self.model_dir), "model_dir", "a pretrained model directory is required")
        check(0 <= self.dropout < 1, "dropout", "must be in [0, 1)")
        check(self.max_len >= 4, "max_len", "must be >= 4")


@dataclass
class TaggerOutput:
    """What every tagger returns.

    Attributes:
        logits: (B, W, C) tag scores of each word (CRF emissions when a CRF is used).
        loss: scalar (cross-entropy, or CRF negative log-likelihood, per word) given tags.
        attentions: per layer (B, H, T, T) self-attention; empty unless need_weights.
        word_attention: (B, W, W) each word's attention over the sentence's words (last layer,
            mean over heads, the word's first sub-word's row, sub-word columns summed per word,
            special tokens dropped, rows renormalised); None unless need_weights.
        hidden: (B, T, E) final hidden states.
    """

    logits: Tensor
    loss: Tensor | None = None
    attentions: tuple[Tensor, ...] = ()
    word_attention: Tensor | None = None
    hidden: Tensor | None = None


class ScratchEncoder(nn.Module):
    """Embeddings + positional encoding -> the shared TransformerEncoder."""

    def __init__(self, cfg: ScratchTaggerConfig) -> None:
        super().__init__()
        self.dim = cfg.dim
        self.embed = nn.Embedding(cfg.vocab_size, cfg.dim, padding_idx=cfg.pad_id)
        self.pos = POSITIONAL[cfg.positional](cfg.dim, cfg.max_len)
        self.drop = nn.Dropout(cfg.dropout)
        self.encoder = TransformerEncoder(cfg.dim, cfg.heads, cfg.ff_dim, cfg.layers,
                                          cfg.dropout, cfg.activation)
        init_weights(self)

    def forward(self, input_ids: Tensor, attention_mask: Tensor,
                need_weights: bool = False) -> EncoderOutput:
        x = self.drop(self.pos(self.embed(input_ids)))
        return self.encoder(x, key_mask=attention_mask.bool(), need_weights=need_weights)


class PretrainedEncoder(nn.Module):
    """A Hugging Face encoder: SDPA without weights, eager attention (which materialises them)
    when they are asked for — an explicit switch, never a silent fallback."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.dim = encoder.config.hidden_size
        self._impl = "sdpa"

    def forward(self, input_ids: Tensor, attention_mask: Tensor,
                need_weights: bool = False) -> EncoderOutput:
        impl = "eager" if need_weights else "sdpa"
        if impl != self._impl:
            self.encoder.set_attn_implementation(impl)
            self._impl = impl
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask.long(),
                           output_attentions=need_weights, return_dict=True)
        return EncoderOutput(out.last_hidden_state,
                             tuple(out.attentions) if need_weights else ())


def word_attention(attention: Tensor, word_index: Tensor, word_mask: Tensor,
                   token_words: Tensor) -> Tensor:
    """Each word's attention over the words of its sentence.

    Args:
        attention: (B, T, T) token attention (rows sum to 1).
        word_index: (B, W) position of each word's first sub-word.
        word_mask: (B, W) True on real words.
        token_words: (B, T) word of each token, -1 for special and padding tokens.
    Returns:
        (B, W, W): row w is word w's attention over the words (0 on padding), summing to 1.
    """
    b, t, _ = attention.shape
    w = word_index.shape[1]
    cols = torch.where(token_words >= 0, token_words, w)  # specials -> a dropped column
    per_word = attention.new_zeros(b, t, w + 1).scatter_add_(
        2, cols[:, None, :].expand(b, t, t), attention)[:, :, :w]  # (B, T, W)
    rows = per_word.gather(1, word_index[:, :, None].expand(b, w, w))  # (B, W, W)
    rows = rows * word_mask[:, None, :]
    return rows / rows.sum(-1, keepdim=True).clamp_min(1e-12) * word_mask[:, :, None]


class Tagger(nn.Module):
    """Encoder (injected) -> first sub-word of each word -> dropout -> Linear -> [CRF].

    Args:
        encoder: module with ``dim`` and ``forward(input_ids, attention_mask, need_weights)``
            returning an ``EncoderOutput``.
        num_tags: C.
        dropout: before the tag projection.
        crf: add a linear-chain CRF (trained by its likelihood, decoded by Viterbi).
    """

    def __init__(self, encoder: nn.Module, num_tags: int, dropout: float = 0.1,
                 crf: bool = False) -> None:
        super().__init__()
        self.encoder = encoder
        self.drop = nn.Dropout(dropout)
        self.proj = nn.Linear(encoder.dim, num_tags)
        nn.init.normal_(self.proj.weight, std=0.02)
        nn.init.zeros_(self.proj.bias)
        self.crf = CRF(num_tags) if crf else None

    def forward(self, input_ids: Tensor, attention_mask: Tensor, word_index: Tensor,
                word_mask: Tensor, token_words: Tensor | None = None, tags: Tensor | None = None,
                need_weights: bool = False, **unused: Tensor) -> TaggerOutput:
        """Tag a batch; ``need_weights`` adds per-layer attentions and word attention
        (``token_words`` is then required)."""
        enc = self.encoder(input_ids, attention_mask, need_weights=need_weights)
        b, w = word_index.shape
        first = enc.hidden.gather(1, word_index[:, :, None].expand(b, w, enc.hidden.shape[-1]))
        logits = self.proj(self.drop(first))  # (B, W, C)
        loss = None if tags is None else self.loss(logits, tags, word_mask)
        words = None
        if need_weights:
            if token_words is None:
                raise ValueError("token_words is needed for word attention")
            words = word_attention(enc.attentions[-1].float().mean(1), word_index,
                                   word_mask.bool(), token_words)
        return TaggerOutput(logits, loss, enc.attentions, words, enc.hidden)

    def loss(self, logits: Tensor, tags: Tensor, word_mask: Tensor) -> Tensor:
        mask = word_mask.bool()
        if self.crf is not None:
            return self.crf.nll(logits.float(), tags.clamp_min(0), mask)
        return F.cross_entropy(logits[mask].float(), tags[mask])

    @torch.no_grad()
    def decode(self, logits: Tensor, word_mask: Tensor) -> list[list[int]]:
        """Tag ids of each sentence's real words: Viterbi with a CRF, else the argmax."""
        mask = word_mask.bool()
        if self.crf is not None:
            return self.crf.viterbi(logits.float(), mask)
        best = logits.argmax(-1)
        return [row[m].tolist() for row, m in zip(best, mask)]


def build_tagger(kind: str, cfg: ScratchTaggerConfig | PretrainedTaggerConfig, num_tags: int,
                 crf: bool, encoder_config=None) -> Tagger:
    """A tagger on a scratch encoder (``kind='scratch'``) or a pretrained one.

    Args:
        encoder_config: for a pretrained encoder, build it from this Hugging Face config
            without loading weights (reloading a run whose weights are in its own file);
            None loads the pretrained weights from ``cfg.model_dir``.
    """
    if kind == "scratch":
        return Tagger(ScratchEncoder(cfg), num_tags, cfg.dropout, crf)
    from attnpred.models.hf_classifier import load_encoder, resolve_model_dir
    if encoder_config is not None:
        from transformers import AutoModel
        hf = AutoModel.from_config(encoder_config, attn_implementation="sdpa")
    else:
        hf = load_encoder(resolve_model_dir(cfg.model_dir))
    return Tagger(PretrainedEncoder(hf), num_tags, cfg.dropout, crf)
