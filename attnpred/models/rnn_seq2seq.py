"""GRU encoder-decoder with Bahdanau (additive) or Luong (bilinear) attention: the classic baseline.

Shape legend: B batch, S source length, T target length, E embedding width, D hidden width,
V vocabulary. Attention scores come from ``attnpred.attention.scoring`` and weights from
``attend``, so padding gets exactly 0 as everywhere else.

- Bahdanau et al. 2015: score(s_{t-1}, h_s) = v^T tanh(W s_{t-1} + U h_s); the context feeds
  the GRU input; the output layer reads [s_t; c_t; y_{t-1}].
- Luong et al. 2015 ("general", input feeding): s_t = GRU([y_{t-1}; h~_{t-1}]), score =
  s_t^T W h_s, h~_t = tanh(W_c [c_t; s_t]) feeds the output layer and the next input.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from attnpred.attention import AdditiveScore, AttentionResult, BilinearScore, attend
from attnpred.config import check
from attnpred.models.blocks import init_weights
from attnpred.models.seq2seq import PAD, Seq2SeqOutput, seq2seq_losses

ATTENTIONS = ("bahdanau", "luong")


@dataclass
class GRUSeq2SeqConfig:
    """Shape and regularisation of the GRU encoder-decoder."""

    src_vocab: int = 8000
    """Source vocabulary size (set from the tokenizer)."""
    tgt_vocab: int = 8000
    """Target vocabulary size (set from the tokenizer)."""
    embed_dim: int = 256
    """Embedding width E."""
    hidden_dim: int = 512
    """Decoder hidden width D (the bidirectional encoder has D/2 per direction)."""
    encoder_layers: int = 1
    """Stacked bidirectional GRU layers in the encoder."""
    attention: str = "bahdanau"
    """bahdanau (additive, before the GRU step) or luong (bilinear, after it)."""
    dropout: float = 0.2
    """Dropout on embeddings and before the output layer."""
    max_len: int = 256
    """Longest source or target sequence in tokens (incl. specials)."""
    share_embeddings: bool = False
    """One embedding table for source and target (needs a joint vocabulary)."""
    label_smoothing: float = 0.1
    """Label smoothing of the training loss."""

    def __post_init__(self) -> None:
        check(self.attention in ATTENTIONS, "attention", f"one of {ATTENTIONS}")
        check(self.hidden_dim % 2 == 0, "hidden_dim", "must be even (two encoder directions)")
        check(self.encoder_layers >= 1, "encoder_layers", "must be >= 1")
        check(0 <= self.dropout < 1, "dropout", "must be in [0, 1)")
        check(not self.share_embeddings or self.src_vocab == self.tgt_vocab, "share_embeddings",
              "needs equal source and target vocabularies (a joint tokenizer)")


@dataclass
class GRUState:
    """Decoding state (always incremental: the recurrence is its own cache)."""

    memory: Tensor
    """(N, S, D) encoder outputs."""
    memory_mask: Tensor
    """(N, S) True for real source tokens."""
    keys: Tensor
    """(N, S, H) the scorer's projection of ``memory``, computed once per source."""
    hidden: Tensor
    """(N, D) decoder GRU state."""
    feed: Tensor
    """(N, D) previous attentional vector (Luong input feeding; zeros for Bahdanau)."""

    def reorder(self, index: Tensor) -> None:
        for name in ("memory", "memory_mask", "keys", "hidden", "feed"):
            setattr(self, name, getattr(self, name).index_select(0, index))


class GRUSeq2Seq(nn.Module):
    """Bidirectional GRU encoder, GRU decoder with one attention over the source."""

    def __init__(self, cfg: GRUSeq2SeqConfig) -> None:
        super().__init__()
        self.cfg = cfg
        e, d = cfg.embed_dim, cfg.hidden_dim
        self.src_embed = nn.Embedding(cfg.src_vocab, e, padding_idx=PAD)
        self.tgt_embed = (self.src_embed if cfg.share_embeddings
                          else nn.Embedding(cfg.tgt_vocab, e, padding_idx=PAD))
        self.encoder = nn.GRU(e, d // 2, num_layers=cfg.encoder_layers, batch_first=True,
                              bidirectional=True,
                              dropout=cfg.dropout if cfg.encoder_layers > 1 else 0.0)
        self.bridge = nn.Linear(d, d)
        self.drop = nn.Dropout(cfg.dropout)
        if cfg.attention == "bahdanau":
            self.score = AdditiveScore(d, d, d)
            self.cell = nn.GRUCell(e + d, d)
            self.pre_out = nn.Linear(d + d + e, d)
        else:
            self.score = BilinearScore(d, d)
            self.cell = nn.GRUCell(e + d, d)
            self.pre_out = nn.Linear(d + d, d)
        self.out = nn.Linear(d, cfg.tgt_vocab)
        init_weights(self, std=0.05)

    def encode(self, src_ids: Tensor, src_mask: Tensor) -> tuple[Tensor, Tensor]:
        """(B, S) ids -> outputs (B, S, D) and the initial decoder state (B, D)."""
        lengths = src_mask.sum(1).clamp_min(1).cpu()
        packed = pack_padded_sequence(self.drop(self.src_embed(src_ids)), lengths,
                                      batch_first=True, enforce_sorted=False)
        out, last = self.encoder(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=src_ids.shape[1])
        final = torch.cat([last[-2], last[-1]], dim=-1)  # (B, D): forward end, backward start
        return out, torch.tanh(self.bridge(final))

    def _step(self, y_prev: Tensor, state: GRUState) -> tuple[Tensor, Tensor]:
        """One decoder step from y_prev (N,); updates ``state``.

        Returns the pre-output vector (N, D) (``self.logits`` maps it to the vocabulary) and
        the attention weights (N, S).
        """
        emb = self.drop(self.tgt_embed(y_prev))  # (N, E)
        if self.cfg.attention == "bahdanau":
            res = self._attend(state.hidden, state)
            ctx = res.output[:, 0]  # (N, D)
            state.hidden = self.cell(torch.cat([emb, ctx], -1), state.hidden)
            pre = torch.tanh(self.pre_out(torch.cat([state.hidden, ctx, emb], -1)))
        else:
            state.hidden = self.cell(torch.cat([emb, state.feed], -1), state.hidden)
            res = self._attend(state.hidden, state)
            pre = torch.tanh(self.pre_out(torch.cat([res.output[:, 0], state.hidden], -1)))
            state.feed = pre
        return pre, res.weights[:, 0]

    def _attend(self, query: Tensor, state: GRUState) -> AttentionResult:
        scores = self.score.score_projected(query[:, None], state.keys)
        return attend(scores, state.memory, state.memory_mask)

    def logits(self, pre: Tensor) -> Tensor:
        """Pre-output vectors (..., D) -> logits (..., V)."""
        return self.out(self.drop(pre))

    def init_state(self, src_ids: Tensor, src_mask: Tensor, use_cache: bool = True) -> GRUState:
        memory, hidden = self.encode(src_ids, src_mask)
        keys = self.score.project_keys(memory)
        return GRUState(memory, src_mask, keys, hidden, torch.zeros_like(hidden))

    def step(self, prefix: Tensor, state: GRUState) -> Tensor:
        """Logits (N, V) for the token after ``prefix`` (N, t); only its last token is read."""
        return self.logits(self._step(prefix[:, -1], state)[0])

    def forward(self, src_ids: Tensor, src_mask: Tensor, tgt_in: Tensor,
                tgt_out: Tensor | None = None, need_weights: bool = False,
                cross_layers: frozenset[int] = frozenset()) -> Seq2SeqOutput:
        """Teacher-forced pass; arguments as ``TransformerSeq2Seq.forward``.

        ``cross_attentions`` holds one (B, 1, T, S) map (one layer, one head).
        """
        state = self.init_state(src_ids, src_mask)
        pres, weights = [], []
        for t in range(tgt_in.shape[1]):
            pre, w = self._step(tgt_in[:, t], state)
            pres.append(pre)
            weights.append(w)
        cross = torch.stack(weights, 1)[:, None]  # (B, 1, T, S)
        out = Seq2SeqOutput(logits=self.logits(torch.stack(pres, 1)))  # one (B, T, V) product
        if need_weights or cross_layers:
            out.cross_attentions = (cross,)
        if tgt_out is not None:
            out.loss, out.nll = seq2seq_losses(out.logits, tgt_out, self.cfg.label_smoothing)
        return out
