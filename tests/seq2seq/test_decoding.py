"""Greedy and beam search: cache = no cache, greedy = beam 1, length penalty, length limit."""
import math

import pytest
import torch

from attnpred.data.parallel import BOS, EOS, collate
from attnpred.models.decoding import DecodingConfig, beam_search, greedy, penalty

from tests.seq2seq.conftest import tiny_transformer

SRC = [[5, 6, 7, 8, 9, 2], [10, 11, 2], [12, 2]]


def test_cached_equals_uncached_step_by_step():
    m = tiny_transformer()
    b = collate(SRC)
    cached = m.init_state(b["src_ids"], b["src_mask"], use_cache=True)
    plain = m.init_state(b["src_ids"], b["src_mask"], use_cache=False)
    prefix = torch.full((3, 1), BOS)
    g = torch.Generator().manual_seed(0)
    for _ in range(6):
        a, c = m.step(prefix, cached), m.step(prefix, plain)
        torch.testing.assert_close(a, c, atol=1e-5, rtol=1e-4)
        prefix = torch.cat([prefix, torch.randint(4, 24, (3, 1), generator=g)], 1)


def test_cached_equals_uncached_beam():
    m = tiny_transformer()
    b = collate(SRC)
    on = beam_search(m, b["src_ids"], b["src_mask"], DecodingConfig(beam=3, use_cache=True))
    off = beam_search(m, b["src_ids"], b["src_mask"], DecodingConfig(beam=3, use_cache=False))
    assert [h.tokens for h in on] == [h.tokens for h in off]


def test_greedy_equals_beam_one(model):
    b = collate(SRC)
    cfg = DecodingConfig(beam=1, length_penalty=0.0, max_len_b=6)
    g = greedy(model, b["src_ids"], b["src_mask"], cfg)
    s = beam_search(model, b["src_ids"], b["src_mask"], cfg)
    assert [h.tokens for h in g] == [h.tokens for h in s]
    assert [h.score for h in g] == pytest.approx([h.score for h in s], abs=1e-4)


def test_length_limit(model):
    b = collate(SRC)
    for h, src in zip(greedy(model, b["src_ids"], b["src_mask"],
                             DecodingConfig(beam=1, max_len_a=0.0, max_len_b=3)), SRC):
        assert len(h.tokens) <= 2  # 3 tokens including </s>
    hyps = beam_search(model, b["src_ids"], b["src_mask"], DecodingConfig(beam=2, max_len=2))
    assert all(len(h.tokens) <= 1 for h in hyps)


class ScriptedModel:
    """Next-token probabilities depend on the prefix length only: </s> 0.4 / token 5 0.6 at
    step 0, then token 6 0.8 / </s> 0.2 twice, then </s>. Without a length penalty the empty
    output wins (log 0.4 > log(0.6 * 0.8 * 0.8)); with alpha = 2 the longest one does."""

    V = 8

    def init_state(self, src_ids, src_mask, use_cache=True):
        return _State()

    def step(self, prefix, state):
        n, t = prefix.shape
        probs = torch.full((n, self.V), 1e-6)
        if t == 1:
            probs[:, EOS], probs[:, 5] = 0.4, 0.6
        elif t < 4:
            probs[:, 6] = 0.8
            probs[:, EOS] = 0.2
        else:
            probs[:, EOS] = 1.0
        return probs.log()


class _State:
    def reorder(self, index):
        pass


def test_beam_length_penalty_prefers_longer_output():
    src = torch.ones(1, 4, dtype=torch.long)
    mask = torch.ones(1, 4, dtype=torch.bool)
    short = beam_search(ScriptedModel(), src, mask, DecodingConfig(beam=4, length_penalty=0.0))
    assert short[0].tokens == []
    assert short[0].score == pytest.approx(math.log(0.4), abs=1e-4)
    long = beam_search(ScriptedModel(), src, mask, DecodingConfig(beam=4, length_penalty=2.0))
    # [5, 6, 6] </s>: log(.6 * .8 * .8 * 1) / ((5 + 4) / 6)^2 beats log(.4) / ((5 + 1) / 6)^2
    expected = math.log(0.6 * 0.8 * 0.8) / penalty(4, 2.0)
    assert long[0].tokens == [5, 6, 6]
    assert long[0].score == pytest.approx(expected, abs=1e-4)


class EarlyEndModel(ScriptedModel):
    """Token 5, then token 6, then </s>, each near-certain; ending early costs about log 1e-3.
    With K = 2 the runner-up candidate at steps 0 and 1 is that early </s>, so stopping at K
    finished hypotheses (fairseq's rule) would return one of the two poor early endings."""

    def step(self, prefix, state):
        n, t = prefix.shape
        probs = torch.full((n, self.V), 1e-9)
        probs[:, EOS] = 1e-3
        probs[:, {1: 5, 2: 6}.get(t, EOS)] = 1.0
        return probs.log()


@pytest.mark.parametrize("alpha", [0.0, 0.6])
def test_beam_does_not_stop_while_a_live_hypothesis_is_better(alpha):
    src = torch.ones(1, 4, dtype=torch.long)
    mask = torch.ones(1, 4, dtype=torch.bool)
    for beam in (2, 3):
        best = beam_search(EarlyEndModel(), src, mask,
                           DecodingConfig(beam=beam, length_penalty=alpha))[0]
        assert best.tokens == [5, 6]
        assert best.score == pytest.approx(0.0, abs=1e-2)
