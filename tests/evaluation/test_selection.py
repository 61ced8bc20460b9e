"""The one-standard-error rule: the simplest candidate within noise of the best."""
import statistics

import numpy as np
import pytest

from attnpred.selection import block_means, one_standard_error


def test_one_block_is_the_plain_minimum():
    assert one_standard_error([[0.5], [0.4], [0.45]]).index == 1
    assert one_standard_error([[0.4], [0.4]]).index == 0  # a tie goes to the simpler


def test_a_gain_within_noise_keeps_the_simpler_candidate():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.5, 1.5, 10)
    simple = base + rng.normal(0, 0.05, 10)
    rich = simple - 0.005 + rng.normal(0, 0.05, 10)  # lower on average, but noisy
    choice = one_standard_error([simple, rich])
    assert choice.best == 1 and choice.index == 0


def test_a_consistent_gain_chooses_the_richer_candidate():
    rng = np.random.default_rng(1)
    simple = rng.uniform(0.5, 1.5, 10)
    rich = simple - 0.05 + rng.normal(0, 0.01, 10)
    assert one_standard_error([simple, rich]).index == 1


def test_standard_error_matches_a_hand_computation():
    a = [1.0, 2.0, 3.0, 4.0]
    b = [0.8, 1.9, 2.5, 4.1]
    diff = [x - y for x, y in zip(a, b)]
    choice = one_standard_error([a, b])
    assert choice.best == 1
    assert choice.gaps[0] == pytest.approx(statistics.mean(diff))
    assert choice.standard_errors[0] == pytest.approx(statistics.stdev(diff) / 2)
    assert choice.index == (0 if statistics.mean(diff) <= statistics.stdev(diff) / 2 else 1)


def test_block_means_cut_in_order():
    np.testing.assert_allclose(block_means(np.arange(10.0), 3), [1.5, 5.0, 8.0])
    assert len(block_means(np.ones(4), 10)) == 4


def test_no_candidates_is_an_error():
    with pytest.raises(ValueError):
        one_standard_error([])
