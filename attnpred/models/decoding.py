"""Greedy and beam-search decoding for any seq2seq model of attnpred.

The model provides ``init_state(src_ids, src_mask, use_cache) -> state`` (with
``state.reorder(index)``) and ``step(prefix (N, t), state) -> logits (N, V)``.

Shape legend: B batch, K beam, N = B x K rows, V vocabulary.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from attnpred.config import check
from attnpred.data.parallel import BOS, EOS, PAD


@dataclass
class DecodingConfig:
    """How outputs are searched for."""

    beam: int = 5
    """Beam size (1: greedy)."""
    length_penalty: float = 0.6
    """alpha of the GNMT length penalty ((5 + |y|) / 6)^alpha dividing the log-probability
    (0: none, plain sum of log-probabilities)."""
    max_len_a: float = 1.5
    """Output length limit a x source length + b (tokens, including </s>)."""
    max_len_b: int = 10
    """See max_len_a."""
    max_len: int = 256
    """Hard limit on output tokens, whatever the source length."""
    use_cache: bool = True
    """Reuse keys and values of earlier steps (same result, faster)."""

    def __post_init__(self) -> None:
        check(self.beam >= 1, "beam", "must be >= 1")
        check(self.length_penalty >= 0, "length_penalty", "must be >= 0")
        check(self.max_len >= 1, "max_len", "must be >= 1")


class Hypothesis(NamedTuple):
    """tokens: generated ids without <s> and </s>; score: the (length-normalised) log-prob."""

    tokens: list[int]
    score: float


def length_limits(src_mask: Tensor, cfg: DecodingConfig) -> Tensor:
    """(B,) longest output per example, in tokens including </s>."""
    lengths = src_mask.sum(1).float()
    limit = (cfg.max_len_a * lengths + cfg.max_len_b).long()
    return limit.clamp(1, cfg.max_len)


def next_log_probs(model, prefix: Tensor, state, at_limit: Tensor) -> Tensor:
    """(N, V) log-probabilities of the next token; <pad> and <s> are never produced, and only
    </s> remains possible in rows ``at_limit`` (N,) that reached their length limit."""
    logp = torch.log_softmax(model.step(prefix, state).float(), -1)
    logp[:, [PAD, BOS]] = float("-inf")
    if at_limit.any():
        logp[at_limit] = float("-inf")
        logp[at_limit, EOS] = 0.0
    return logp


def penalty(length: int, alpha: float) -> float:
    """GNMT length penalty (Wu et al. 2016)."""
    return ((5.0 + length) / 6.0) ** alpha


@torch.no_grad()
def greedy(model, src_ids: Tensor, src_mask: Tensor, cfg: DecodingConfig) -> list[Hypothesis]:
    """Pick the most likely token at each step; one Hypothesis per example."""
    b = src_ids.shape[0]
    state = model.init_state(src_ids, src_mask, use_cache=cfg.use_cache)
    limits = length_limits(src_mask, cfg)
    prefix = torch.full((b, 1), BOS, dtype=torch.long, device=src_ids.device)
    done = torch.zeros(b, dtype=torch.bool, device=src_ids.device)
    score = torch.zeros(b, device=src_ids.device)
    for t in range(int(limits.max())):
        logp = next_log_probs(model, prefix, state, t >= limits - 1)
        best, nxt = logp.max(-1)
        score = score + torch.where(done, torch.zeros_like(best), best)
        nxt = torch.where(done, torch.full_like(nxt, PAD), nxt)
        prefix = torch.cat([prefix, nxt[:, None]], 1)
        done |= nxt == EOS
        if done.all():
            break
    out = []
    for row, s in zip(prefix[:, 1:].tolist(), score.tolist()):
        tokens = row[: row.index(EOS)] if EOS in row else row
        out.append(Hypothesis(tokens, s / penalty(len(tokens) + 1, cfg.length_penalty)))
    return out


@torch.no_grad()
def beam_search(model, src_ids: Tensor, src_mask: Tensor,
                cfg: DecodingConfig) -> list[Hypothesis]:
    """Beam search with the GNMT length penalty; the best finished Hypothesis per example.

    As in fairseq, a candidate ending in </s> is finished when it ranks among the top K of its
    example. An example stops once it has K finished hypotheses and none of its live ones
    scores better, at its current length, than the best finished one (fairseq stops at K
    finished, which with a small beam can drop a near-certain continuation for two poor
    early endings), or at its length limit. With K = 1 this is greedy search.
    """
    b, k, dev = src_ids.shape[0], cfg.beam, src_ids.device
    state = model.init_state(src_ids, src_mask, use_cache=cfg.use_cache)
    state.reorder(torch.arange(b, device=dev).repeat_interleave(k))
    ex_limits = length_limits(src_mask, cfg)  # (B,)
    limits = ex_limits.repeat_interleave(k)  # (N,)
    prefix = torch.full((b * k, 1), BOS, dtype=torch.long, device=dev)
    scores = torch.full((b, k), float("-inf"), device=dev)
    scores[:, 0] = 0.0
    finished: list[list[Hypothesis]] = [[] for _ in range(b)]
    done, ex_lims = [False] * b, ex_limits.tolist()
    for t in range(int(limits.max())):
        logp = next_log_probs(model, prefix, state, t >= limits - 1)
        v = logp.shape[-1]
        cand = (scores.reshape(-1, 1) + logp).view(b, k * v)
        top_s, top_i = cand.topk(min(2 * k, k * v), dim=-1)  # (B, 2K)
        rows, toks, new_scores = _select(top_s.tolist(), (top_i // v).tolist(),
                                         (top_i % v).tolist(), prefix, finished, done, t, k, cfg)
        for bi, lim in enumerate(ex_lims):
            if done[bi]:
                continue
            best_live = max(new_scores[bi * k:(bi + 1) * k]) / penalty(t + 1, cfg.length_penalty)
            done[bi] = t >= lim - 1 or (
                len(finished[bi]) >= k and best_live <= max(h.score for h in finished[bi]))
        if all(done):
            break
        index = torch.tensor(rows, device=dev)
        state.reorder(index)
        prefix = torch.cat([prefix.index_select(0, index),
                            torch.tensor(toks, device=dev)[:, None]], 1)
        scores = torch.tensor(new_scores, device=dev).view(b, k)
    return [max(f, key=lambda h: h.score) for f in finished]


def _select(top_s: list[list[float]], top_beam: list[list[int]], top_tok: list[list[int]],
            prefix: Tensor, finished: list[list[Hypothesis]], done: list[bool], t: int, k: int,
            cfg: DecodingConfig) -> tuple[list[int], list[int], list[float]]:
    """Finish </s> candidates, keep K live ones per example not ``done``; return their rows,
    tokens and scores (-inf rows fill the beams of finished examples)."""
    rows, toks, new_scores = [], [], []
    for bi in range(len(top_s)):
        live = []
        if not done[bi]:
            for rank, (s, beam, tok) in enumerate(zip(top_s[bi], top_beam[bi], top_tok[bi])):
                if s == float("-inf") or len(live) == k:
                    break
                if tok == EOS:
                    if rank < k:
                        tokens = prefix[bi * k + beam, 1:].tolist()
                        finished[bi].append(Hypothesis(tokens, s / penalty(t + 1,
                                                                           cfg.length_penalty)))
                    continue
                live.append((bi * k + beam, tok, s))
        live += [(bi * k, PAD, float("-inf"))] * (k - len(live))
        for row, tok, s in live:
            rows.append(row)
            toks.append(tok)
            new_scores.append(s)
    return rows, toks, new_scores


def decode(model, src_ids: Tensor, src_mask: Tensor, cfg: DecodingConfig) -> list[Hypothesis]:
    """Greedy search for beam 1, beam search otherwise."""
    if cfg.beam == 1:
        return greedy(model, src_ids, src_mask, cfg)
    return beam_search(model, src_ids, src_mask, cfg)
