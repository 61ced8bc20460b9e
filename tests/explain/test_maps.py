"""Derived attention maps against small cases computed by hand."""
import numpy as np
import pytest
import torch

from attnpred.explain.maps import (gradient_weighted, readout, reduce_heads, relevance,
                                   relevance_readout, rollout, rollout_readout,
                                   words_keys, words_matrix)

# [CLS] a## ##a b [SEP]: word 0 has two pieces, word 1 one.
WORD_IDS = [None, 0, 0, 1, None]
A = np.array([[0.2, 0.2, 0.2, 0.2, 0.2],
              [0.1, 0.2, 0.3, 0.4, 0.0],
              [0.0, 0.5, 0.1, 0.2, 0.2],
              [0.3, 0.3, 0.3, 0.1, 0.0],
              [0.0, 0.0, 0.0, 0.0, 1.0]], dtype=np.float32)


def test_word_matrix_sums_key_pieces_and_averages_query_pieces():
    w = words_matrix(A, WORD_IDS, 2)
    # word 0 as query: mean of rows 1, 2; as key: sum of columns 1, 2
    expected = [[(0.5 + 0.6) / 2, (0.4 + 0.2) / 2],
                [0.6, 0.1]]
    np.testing.assert_allclose(w, expected, atol=1e-6)


def test_word_keys_sum_pieces_and_drop_specials_with_leading_axes():
    stacked = np.stack([A, A * 0.5])  # (2, T, T): leading axes are kept
    np.testing.assert_allclose(words_keys(stacked[:, 0], WORD_IDS, 2), [[0.4, 0.2], [0.2, 0.1]],
                               atol=1e-6)
    # a word cut off by truncation (id beyond the row) receives nothing
    np.testing.assert_allclose(words_keys(A[0], WORD_IDS, 3), [0.4, 0.2, 0.0], atol=1e-6)


def test_head_reductions():
    heads = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.5, 0.5]]])
    np.testing.assert_allclose(reduce_heads(heads, "mean"), [[0.5, 0.5], [0.25, 0.75]])
    np.testing.assert_allclose(reduce_heads(heads, "max"), [[1.0, 1.0], [0.5, 1.0]])
    with pytest.raises(ValueError):
        reduce_heads(heads, "median")


def test_rollout_two_layers_by_hand():
    # layer 1: heads average to [[1, 0], [.5, .5]]; with the identity: [[1, 0], [.25, .75]]
    layer1 = np.array([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [1.0, 0.0]]])
    # layer 2: [[0, 1], [1, 0]]; with the identity: all 0.5
    layer2 = np.array([[[0.0, 1.0], [1.0, 0.0]]])
    r = rollout([layer1, layer2])
    np.testing.assert_allclose(r, [[0.625, 0.375], [0.625, 0.375]], atol=1e-6)
    np.testing.assert_allclose(r.sum(-1), 1.0, atol=1e-6)
    # order matters: layer 2 below layer 1 gives a different product
    assert not np.allclose(rollout([layer2, layer1]), r)


def test_gradient_weighted_and_relevance_by_hand():
    att = np.array([[[[0.5, 0.5], [0.2, 0.8]], [[1.0, 0.0], [0.0, 1.0]]]])  # (L=1, H=2, 2, 2)
    grad = np.array([[[[1.0, -1.0], [2.0, 0.0]], [[-1.0, 3.0], [1.0, 1.0]]]])
    g = gradient_weighted(att, grad)
    np.testing.assert_allclose(g, [[[0.25, 0.0], [0.2, 0.5]]], atol=1e-6)
    np.testing.assert_allclose(relevance(g), [[1.25, 0.0], [0.2, 1.5]], atol=1e-6)


def test_gradient_weighted_accepts_torch_tensors_with_grad():
    att = torch.tensor([[[[0.5, 0.5], [0.2, 0.8]]]], requires_grad=True)
    grad = torch.tensor([[[[1.0, -1.0], [2.0, 0.0]]]])
    np.testing.assert_allclose(gradient_weighted(att, grad), [[[0.5, 0.0], [0.4, 0.0]]])


def test_readout_weights_rows_by_the_query():
    m = np.array([[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(readout(m, [0.25, 0.75]), [0.25, 0.75])
    np.testing.assert_allclose(readout(A, [1, 0, 0, 0, 0]), A[0])


def test_readout_of_the_top_equals_the_full_product():
    rng = np.random.default_rng(0)
    att = rng.random((3, 2, 6, 6))
    att /= att.sum(-1, keepdims=True)
    q = np.array([0.5, 0.1, 0.1, 0.1, 0.1, 0.1])
    np.testing.assert_allclose(rollout_readout(att, q), readout(rollout(att), q), atol=1e-6)
    maps = rng.random((3, 6, 6))
    np.testing.assert_allclose(relevance_readout(maps, q), readout(relevance(maps), q),
                               rtol=1e-5)


def test_cross_attention_words_use_the_target_words_for_queries():
    # target tokens: [t0a, t0b, </s>] -> words [0, 0, None]; source as WORD_IDS
    cross = A[1:4]  # (3, 5)
    w = words_matrix(cross, WORD_IDS, 2, [0, 0, None], 1)
    np.testing.assert_allclose(w, [[(0.5 + 0.6) / 2, (0.4 + 0.2) / 2]], atol=1e-6)
