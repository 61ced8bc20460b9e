"""Attention pooling, additive/bilinear/dot scoring with ``attend``, positional encodings."""
import math

import pytest
import torch

from attnpred.attention import (POSITIONAL, SCORERS, AdditiveScore, AttentionPooling,
                                BilinearScore, DotScore, LearnedPositionalEncoding,
                                SinusoidalPositionalEncoding, attend)


def keep_mask(lengths, t):
    return torch.arange(t)[None, :] < torch.tensor(lengths)[:, None]  # (B, T)


def test_pooling_weights_sum_to_one_padding_zero_and_pooled_is_weighted_sum():
    torch.manual_seed(0)
    pool = AttentionPooling(6)
    x, mask = torch.randn(3, 5, 6), keep_mask([5, 2, 1], 5)
    out = pool(x, mask)
    assert out.weights.shape == (3, 5) and out.pooled.shape == (3, 6)
    torch.testing.assert_close(out.weights.sum(-1), torch.ones(3))
    assert (out.weights[~mask] == 0.0).all() and (out.weights[mask] > 0).all()
    assert (out.weights[2, 0] == 1.0)
    manual = (out.weights[:, :, None] * x).sum(1)
    torch.testing.assert_close(out.pooled, manual)
    torch.testing.assert_close(out.pooled[2], x[2, 0])


def test_pooling_batched_equals_one_at_a_time():
    torch.manual_seed(1)
    pool = AttentionPooling(4)
    lengths = [5, 3, 1]
    x = torch.randn(3, 5, 4)
    batched = pool(x, keep_mask(lengths, 5))
    for i, n in enumerate(lengths):
        single = pool(x[i:i + 1, :n])  # no padding, no mask
        torch.testing.assert_close(batched.pooled[i], single.pooled[0])
        torch.testing.assert_close(batched.weights[i, :n], single.weights[0])


def test_pooling_scores_follow_the_formula():
    torch.manual_seed(2)
    pool = AttentionPooling(4)
    x = torch.randn(1, 3, 4)
    scores = torch.tanh(pool.key(x)) @ pool.query / math.sqrt(4)
    torch.testing.assert_close(pool(x).weights, scores.softmax(-1))


SCORER_ARGS = {"additive": (AdditiveScore, (4, 6, 5)), "bilinear": (BilinearScore, (4, 6)),
               "dot": (DotScore, ())}


@pytest.mark.parametrize("name", list(SCORER_ARGS))
def test_scorers_give_b_t_s_scores_and_attend_masks(name):
    torch.manual_seed(3)
    cls, args = SCORER_ARGS[name]
    assert SCORERS[name] is cls
    scorer = cls(*args)
    kdim = 4 if name == "dot" else 6
    query, keys, values = torch.randn(2, 3, 4), torch.randn(2, 7, kdim), torch.randn(2, 7, 5)
    scores = scorer(query, keys)
    assert scores.shape == (2, 3, 7)
    key_mask = keep_mask([7, 4], 7)
    res = attend(scores, values, key_mask)
    assert res.output.shape == (2, 3, 5) and res.weights.shape == (2, 3, 7)
    torch.testing.assert_close(res.weights.sum(-1), torch.ones(2, 3))
    assert (res.weights[1, :, 4:] == 0.0).all()
    torch.testing.assert_close(res.output, res.weights @ values)
    torch.testing.assert_close(attend(scores, values).weights, scores.softmax(-1))


def test_scorers_compute_their_formulas():
    torch.manual_seed(4)
    q, k = torch.randn(1, 2, 4), torch.randn(1, 3, 6)
    add = AdditiveScore(4, 6, 5)
    expected = torch.stack([torch.stack([
        add.v.weight[0] @ torch.tanh(add.w.weight @ q[0, i] + add.u.weight @ k[0, j] + add.u.bias)
        for j in range(3)]) for i in range(2)])
    torch.testing.assert_close(add(q, k)[0], expected)
    bil = BilinearScore(4, 6)
    torch.testing.assert_close(bil(q, k)[0], q[0] @ bil.w.weight @ k[0].T)
    torch.testing.assert_close(DotScore()(q, q)[0], q[0] @ q[0].T)


def test_sinusoidal_values_at_known_positions():
    pe = SinusoidalPositionalEncoding(6, max_len=10)
    zeros = torch.zeros(1, 4, 6)
    out = pe(zeros)
    torch.testing.assert_close(out[0, 0], torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 1.0]))
    p, i = 3, 1  # PE[p, 2i] = sin(p / 10000^(2i/E)), PE[p, 2i+1] = cos(...)
    angle = p / 10000 ** (2 * i / 6)
    torch.testing.assert_close(out[0, p, 2 * i], torch.tensor(math.sin(angle)))
    torch.testing.assert_close(out[0, p, 2 * i + 1], torch.tensor(math.cos(angle)))
    x = torch.randn(2, 4, 6)
    torch.testing.assert_close(pe(x), x + out)  # added, not replaced


def test_sinusoidal_odd_dim_and_offset():
    pe = SinusoidalPositionalEncoding(5, max_len=10)
    full = pe(torch.zeros(1, 8, 5))
    torch.testing.assert_close(pe(torch.zeros(1, 3, 5), offset=4), full[:, 4:7])
    torch.testing.assert_close(full[0, 0], torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0]))


@pytest.mark.parametrize("name", list(POSITIONAL))
def test_positional_offset_and_max_len_error(name):
    torch.manual_seed(5)
    pe = POSITIONAL[name](4, max_len=6)
    full = pe(torch.zeros(1, 6, 4))
    torch.testing.assert_close(pe(torch.zeros(1, 2, 4), offset=3), full[:, 3:5])
    with pytest.raises(ValueError, match="max_len 6"):
        pe(torch.zeros(1, 5, 4), offset=2)
    with pytest.raises(ValueError, match="max_len 6"):
        pe(torch.zeros(1, 7, 4))


def test_learned_positions_are_trainable_embeddings():
    pe = LearnedPositionalEncoding(4, max_len=6)
    out = pe(torch.zeros(1, 3, 4))
    torch.testing.assert_close(out[0], pe.embedding.weight[:3])
    out.sum().backward()
    grad = pe.embedding.weight.grad
    assert grad[:3].abs().sum() > 0 and (grad[3:] == 0).all()
