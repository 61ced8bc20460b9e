"""Per-example faithfulness: deleting the top words against deleting random words."""
import numpy as np
import pytest

from attnpred.explain.faithfulness import per_example


def fake_model(words_batch):
    """p(positive) grows with the number of 'good' words left."""
    out = []
    for words in words_batch:
        p = min(0.95, 0.3 + 0.3 * words.count("good"))
        out.append([1 - p, p])
    return np.asarray(out)


def test_drop_of_the_top_words_by_hand_and_against_random():
    words = [["good", "x", "y", "z", "good", "a", "b", "c", "d", "e"], ["good", "n", "o"]]
    scores = [[0.5, 0, 0, 0, 0.4, 0, 0, 0, 0, 0.1], [0.9, 0.05, 0.05]]
    res = per_example(words, scores, fake_model, "toy", bins=(0.1, 0.2))
    assert [r.method for r in res] == ["toy", "toy"]
    # text 1: full 0.9; without 1 good 0.6; without both 0.3
    assert res[0].drop == pytest.approx([0.3, 0.6])
    assert res[0].comprehensiveness == pytest.approx(0.45)
    assert res[0].sufficiency == pytest.approx([0.3, 0.0])
    # text 2: 3 words, both bins delete 1 word, the 'good' one: 0.6 -> 0.3
    assert res[1].drop == pytest.approx([0.3, 0.3])
    # random deletion rarely hits both 'good' words of text 1
    assert res[0].random_comprehensiveness < res[0].comprehensiveness
    d = res[0].to_dict()
    assert d["comprehensiveness"] == pytest.approx(0.45) and d["bins"] == [0.1, 0.2]


def test_empty_input():
    assert per_example([], [], fake_model, "toy") == []
