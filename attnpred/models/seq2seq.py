"""Transformer encoder-decoder (pre-LN) built on the attention core.

Shape legend: B batch, S source length, T target length, E width, H heads, V vocabulary.

Every seq2seq model (this one and ``rnn_seq2seq.GRUSeq2Seq``) offers the same surface:
``forward(**batch) -> Seq2SeqOutput`` for training and forced decoding, and
``encode`` / ``init_state`` / ``step`` for ``attnpred.models.decoding``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnpred.attention import POSITIONAL, KVCache, MultiHeadAttention
from attnpred.config import check
from attnpred.models.blocks import ACTIVATIONS, FeedForward, TransformerEncoder, init_weights

PAD = 0


@dataclass
class Seq2SeqOutput:
    """What every seq2seq model returns.

    Attributes:
        logits: (B, T, V) next-token scores for each decoder position.
        loss: scalar training loss (label-smoothed NLL, plus any supervision term), or None
            without ``tgt_out``.
        nll: scalar token-level negative log-likelihood without smoothing, or None.
        align_loss: scalar guided-alignment loss (before its weight) when a supervision
            wrapper added one, else None.
        encoder_attentions: per encoder layer (B, H, S, S); empty unless asked for (and
            always empty for recurrent encoders).
        decoder_attentions: per decoder layer (B, H, T, T) causal self-attention; empty
            unless asked for.
        cross_attentions: per decoder layer (B, H, T, S); row t is the attention used to
            predict target token t (``tgt_out[:, t]``); rows sum to 1 over real source tokens.
            Empty unless asked for.
    """

    logits: Tensor
    loss: Tensor | None = None
    nll: Tensor | None = None
    align_loss: Tensor | None = None
    encoder_attentions: tuple[Tensor, ...] = ()
    decoder_attentions: tuple[Tensor, ...] = ()
    cross_attentions: tuple[Tensor, ...] = ()


def seq2seq_losses(logits: Tensor, tgt_out: Tensor,
                   label_smoothing: float) -> tuple[Tensor, Tensor]:
    """(smoothed loss, plain NLL), both averaged over non-pad target tokens."""
    flat, gold = logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1)
    loss = F.cross_entropy(flat, gold, ignore_index=PAD, label_smoothing=label_smoothing)
    if label_smoothing == 0:
        return loss, loss
    with torch.no_grad():
        nll = F.cross_entropy(flat, gold, ignore_index=PAD)
    return loss, nll


@dataclass
class TransformerSeq2SeqConfig:
    """Shape and regularisation of the Transformer encoder-decoder."""

    src_vocab: int = 8000
    """Source vocabulary size (set from the tokenizer)."""
    tgt_vocab: int = 8000
    """Target vocabulary size (set from the tokenizer)."""
    dim: int = 256
    """Model width E."""
    heads: int = 4
    """Attention heads H per layer."""
    ff_dim: int = 1024
    """Hidden width of the feed-forward blocks."""
    encoder_layers: int = 3
    """Encoder layers."""
    decoder_layers: int = 3
    """Decoder layers."""
    dropout: float = 0.1
    """Dropout on embeddings, attention weights, residual branches and feed-forward."""
    activation: str = "relu"
    """Feed-forward activation: relu or gelu."""
    positional: str = "sinusoidal"
    """Positional encoding: sinusoidal or learned."""
    max_len: int = 256
    """Longest source or target sequence in tokens (incl. specials)."""
    share_embeddings: bool = True
    """One embedding table for source and target (needs a joint vocabulary)."""
    tie_output: bool = True
    """Tie the output projection to the target embedding."""
    label_smoothing: float = 0.1
    """Label smoothing of the training loss."""

    def __post_init__(self) -> None:
        check(self.src_vocab > 4 and self.tgt_vocab > 4, "src_vocab", "vocabularies must be > 4")
        for name in ("dim", "heads", "ff_dim", "max_len"):
            check(getattr(self, name) >= 1, name, "must be >= 1")
        check(self.dim % self.heads == 0, "heads", f"dim {self.dim} must divide by heads")
        check(self.encoder_layers >= 1, "encoder_layers", "must be >= 1")
        check(self.decoder_layers >= 1, "decoder_layers", "must be >= 1")
        check(0 <= self.dropout < 1, "dropout", "must be in [0, 1)")
        check(self.activation in ACTIVATIONS, "activation", f"one of {sorted(ACTIVATIONS)}")
        check(self.positional in POSITIONAL, "positional", f"one of {sorted(POSITIONAL)}")
        check(not self.share_embeddings or self.src_vocab == self.tgt_vocab, "share_embeddings",
              "needs equal source and target vocabularies (a joint tokenizer)")
        check(0 <= self.label_smoothing < 1, "label_smoothing", "must be in [0, 1)")


class DecoderLayer(nn.Module):
    """Pre-LN: x + SelfAttn(LN(x)) (causal); x + CrossAttn(LN(x), memory); x + FFN(LN(x))."""

    def __init__(self, dim: int, heads: int, ff_dim: int, dropout: float,
                 activation: str = "relu") -> None:
        super().__init__()
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.self_attn = MultiHeadAttention(dim, heads, dropout=dropout)
        self.cross_attn = MultiHeadAttention(dim, heads, dropout=dropout)
        self.ff = FeedForward(dim, ff_dim, dropout, activation)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, memory: Tensor, memory_mask: Tensor, *,
                need_self: bool = False, need_cross: bool = False,
                caches: tuple[KVCache, KVCache] | None = None
                ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """x: (B, T, E), memory (B, S, E), memory_mask (B, S) True = real.

        Returns:
            x (B, T, E), self weights (B, H, T, T_total) or None, cross (B, H, T, S) or None.
        """
        self_cache, cross_cache = caches if caches is not None else (None, None)
        a = self.self_attn(self.norm1(x), causal=True, need_weights=need_self, cache=self_cache)
        x = x + self.drop(a.output)
        c = self.cross_attn(self.norm2(x), memory, key_mask=memory_mask, need_weights=need_cross,
                            cache=cross_cache)
        x = x + self.drop(c.output)
        x = x + self.drop(self.ff(self.norm3(x)))
        return x, a.weights, c.weights


class DecoderOutput(NamedTuple):
    """hidden (B, T, E) after the final LayerNorm; per-layer self (B, H, T, T) and cross
    (B, H, T, S) weights, with None for layers whose weights were not asked for."""

    hidden: Tensor
    self_attentions: tuple[Tensor | None, ...]
    cross_attentions: tuple[Tensor | None, ...]


class TransformerDecoder(nn.Module):
    """A stack of pre-LN decoder layers with a final LayerNorm."""

    def __init__(self, dim: int, heads: int, ff_dim: int, layers: int, dropout: float,
                 activation: str = "relu") -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            DecoderLayer(dim, heads, ff_dim, dropout, activation) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor, memory: Tensor, memory_mask: Tensor, *,
                need_weights: bool = False, cross_layers: frozenset[int] = frozenset(),
                caches: list[tuple[KVCache, KVCache]] | None = None) -> DecoderOutput:
        """``need_weights``: every layer's weights; ``cross_layers``: cross weights of these
        layers only (what guided alignment needs)."""
        selfs, crosses = [], []
        for i, layer in enumerate(self.layers):
            x, s, c = layer(x, memory, memory_mask, need_self=need_weights,
                            need_cross=need_weights or i in cross_layers,
                            caches=None if caches is None else caches[i])
            selfs.append(s)
            crosses.append(c)
        return DecoderOutput(self.norm(x), tuple(selfs), tuple(crosses))


@dataclass
class TransformerState:
    """Decoding state: the encoder memory and, when caching, each layer's key/value caches."""

    memory: Tensor
    """(N, S, E) encoder output (N = batch x beam)."""
    memory_mask: Tensor
    """(N, S) True for real source tokens."""
    caches: list[tuple[KVCache, KVCache]] | None
    """Per layer (self-attention cache, static cross-attention cache); None: no cache."""

    def reorder(self, index: Tensor) -> None:
        """Keep rows ``index`` (beam search)."""
        self.memory = self.memory.index_select(0, index)
        self.memory_mask = self.memory_mask.index_select(0, index)
        for self_cache, cross_cache in self.caches or []:
            self_cache.reorder(index)
            cross_cache.reorder(index)


class TransformerSeq2Seq(nn.Module):
    """Encoder-decoder Transformer (Vaswani et al. 2017, pre-LN) with attention outputs."""

    def __init__(self, cfg: TransformerSeq2SeqConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.src_embed = nn.Embedding(cfg.src_vocab, cfg.dim, padding_idx=PAD)
        self.tgt_embed = (self.src_embed if cfg.share_embeddings
                          else nn.Embedding(cfg.tgt_vocab, cfg.dim, padding_idx=PAD))
        self.pos = POSITIONAL[cfg.positional](cfg.dim, cfg.max_len + 1)
        self.drop = nn.Dropout(cfg.dropout)
        self.encoder = TransformerEncoder(cfg.dim, cfg.heads, cfg.ff_dim, cfg.encoder_layers,
                                          cfg.dropout, cfg.activation)
        self.decoder = TransformerDecoder(cfg.dim, cfg.heads, cfg.ff_dim, cfg.decoder_layers,
                                          cfg.dropout, cfg.activation)
        self.out = nn.Linear(cfg.dim, cfg.tgt_vocab, bias=False)
        init_weights(self)
        for m in self.modules():
            # Xavier for the projections (Vaswani et al.; fairseq; torch.nn.Transformer): with
            # BERT's 0.02 the residual branches start so small that the tied output layer
            # mostly echoes the input token (initial NLL 13.6 against a uniform 9.0 at V=8k)
            if isinstance(m, nn.Linear) and m is not self.out:
                nn.init.xavier_uniform_(m.weight)
        for emb in {id(self.src_embed): self.src_embed, id(self.tgt_embed): self.tgt_embed}.values():
            # scaled by sqrt(E) on input, so unit variance after scaling (fairseq's choice)
            nn.init.normal_(emb.weight, std=cfg.dim ** -0.5)
            with torch.no_grad():
                emb.weight[PAD].zero_()
        if cfg.tie_output:
            self.out.weight = self.tgt_embed.weight
        self.scale = math.sqrt(cfg.dim)

    def _embed(self, emb: nn.Embedding, ids: Tensor, offset: int = 0) -> Tensor:
        return self.drop(self.pos(emb(ids) * self.scale, offset=offset))

    def encode(self, src_ids: Tensor, src_mask: Tensor, need_weights: bool = False):
        """src_ids, src_mask (B, S) -> EncoderOutput(hidden (B, S, E), attentions)."""
        return self.encoder(self._embed(self.src_embed, src_ids), key_mask=src_mask,
                            need_weights=need_weights)

    def forward(self, src_ids: Tensor, src_mask: Tensor, tgt_in: Tensor,
                tgt_out: Tensor | None = None, need_weights: bool = False,
                cross_layers: frozenset[int] = frozenset()) -> Seq2SeqOutput:
        """Teacher-forced pass.

        Args:
            src_ids, src_mask: (B, S) source ids and True-for-real mask.
            tgt_in: (B, T) decoder input (<s> y); tgt_out: (B, T) gold output (y </s>).
            need_weights: return every attention map.
            cross_layers: decoder layers whose cross-attention is returned even without
                ``need_weights`` (others are None): what a supervision wrapper needs.
        """
        enc = self.encode(src_ids, src_mask, need_weights)
        dec = self.decoder(self._embed(self.tgt_embed, tgt_in), enc.hidden, src_mask,
                           need_weights=need_weights, cross_layers=cross_layers)
        out = Seq2SeqOutput(logits=self.out(dec.hidden))
        if need_weights:
            out.encoder_attentions = enc.attentions
            out.decoder_attentions = dec.self_attentions
        if need_weights or cross_layers:
            out.cross_attentions = dec.cross_attentions
        if tgt_out is not None:
            out.loss, out.nll = seq2seq_losses(out.logits, tgt_out, self.cfg.label_smoothing)
        return out

    # ---- incremental decoding ------------------------------------------------------------
    def init_state(self, src_ids: Tensor, src_mask: Tensor,
                   use_cache: bool = True) -> TransformerState:
        memory = self.encode(src_ids, src_mask).hidden
        caches = None
        if use_cache:
            caches = [(KVCache(), KVCache(static=True)) for _ in self.decoder.layers]
        return TransformerState(memory, src_mask, caches)

    def step(self, prefix: Tensor, state: TransformerState) -> Tensor:
        """Logits (N, V) for the token after ``prefix`` (N, t).

        With caches only the last token is run; without, the whole prefix is (same result).
        """
        if state.caches is not None:
            offset = prefix.shape[1] - 1
            x = self._embed(self.tgt_embed, prefix[:, -1:], offset=offset)
        else:
            x = self._embed(self.tgt_embed, prefix)
        dec = self.decoder(x, state.memory, state.memory_mask, caches=state.caches)
        return self.out(dec.hidden[:, -1])
