"""Rationale metrics against hand-computed cases and scikit-learn."""
import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from attnpred.evaluation.rationales import (auprc, bin_size, faithfulness, human_agreement,
                                            iou_matches, plausibility, random_scores, spans,
                                            token_f1, top_k_mask, uniform_scores)


def test_auprc_matches_sklearn_and_hand_values():
    assert auprc([0.9, 0.1, 0.8, 0.2], [1, 0, 1, 0]) == 1.0
    # ranking: w0 (1), w1 (0), w2 (1): precisions at the hits 1/1 and 2/3
    assert auprc([0.9, 0.5, 0.1], [1, 0, 1]) == pytest.approx((1 + 2 / 3) / 2)
    rng = np.random.default_rng(0)
    for _ in range(5):
        s, h = rng.random(30), (rng.random(30) < 0.3).astype(int)
        h[0] = 1
        assert auprc(s.tolist(), h.tolist()) == pytest.approx(average_precision_score(h, s))


def test_top_k_token_f1_and_spans():
    assert top_k_mask([0.1, 0.5, 0.5, 0.3], 2) == [0, 1, 1, 0]
    assert top_k_mask([1, 1, 1], 1) == [1, 0, 0]  # ties: earlier word
    assert token_f1([1, 1, 0, 0], [0, 1, 1, 0]) == pytest.approx(0.5)
    assert token_f1([1, 1, 0], [0, 0, 1]) == 0.0
    assert spans([1, 1, 0, 1, 0, 1]) == [(0, 2), (3, 4), (5, 6)]


def test_iou_matches_by_hand():
    # predicted spans (0,2) and (4,5); human (1,4): IoU(0,2 | 1,4) = 1/4, IoU(4,5 | 1,4) = 0
    assert iou_matches([1, 1, 0, 0, 1], [0, 1, 1, 1, 0]) == (0, 2, 1)
    # predicted (1,3) vs human (1,4): IoU 2/3 >= 0.5
    assert iou_matches([0, 1, 1, 0, 0], [0, 1, 1, 1, 0]) == (1, 1, 1)


def test_plausibility_averages_and_skips_empty_maps():
    scores = [[0.9, 0.1, 0.0, 0.0], [0.1, 0.2, 0.7, 0.0], [0.5, 0.5]]
    human = [[1, 0, 0, 0], [1, 1, 0, 0], [0, 0]]
    res = plausibility(scores, human)
    assert res["n"] == 2 and res["n_skipped"] == 1
    ap2 = average_precision_score([1, 1, 0, 0], [0.1, 0.2, 0.7, 0.0])
    assert res["auprc"] == pytest.approx((1.0 + ap2) / 2)
    # text 2: top-2 = w2, w1 vs human w0, w1 -> F1 0.5
    assert res["token_f1"] == pytest.approx((1.0 + 0.5) / 2)
    # spans: text 1 (0,1) matches; text 2 pred (1,3) vs human (0,2): IoU 1/3 -> no match
    assert res["iou_precision"] == pytest.approx(0.5) and res["iou_recall"] == pytest.approx(0.5)
    assert res["iou_f1"] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        plausibility([[0.1]], [[1, 0]])


def fake_model(words_batch):
    """p(positive) rises with each 'good' word present."""
    out = []
    for words in words_batch:
        p = min(0.95, 0.3 + 0.3 * words.count("good"))
        out.append([1 - p, p])
    return np.asarray(out)


def test_faithfulness_aopc_by_hand():
    words = [["good", "x", "y", "z", "good", "a", "b", "c", "d", "e"]]
    bins = (0.1, 0.2)
    right = [[0.5, 0, 0, 0, 0.4, 0, 0, 0, 0, 0.1]]  # ranks the two 'good' words first
    res = faithfulness(words, right, fake_model, bins)
    # full 0.9; remove 1 good: 0.6; remove 2: 0.3 -> comprehensiveness (0.3 + 0.6) / 2
    assert res["comprehensiveness_bins"] == pytest.approx([0.3, 0.6])
    assert res["comprehensiveness"] == pytest.approx(0.45)
    # keep 1 good: 0.6, keep both: 0.9 -> sufficiency (0.3 + 0.0) / 2
    assert res["sufficiency"] == pytest.approx(0.15)
    wrong = [[0, 1, 1, 1, 0, 0, 0, 0, 0, 0]]
    bad = faithfulness(words, wrong, fake_model, bins)
    assert bad["comprehensiveness"] == pytest.approx(0.0)
    assert bad["sufficiency"] == pytest.approx(0.9 - 0.3)


def test_bin_size_and_baselines():
    assert bin_size(50, 0.01) == 1 and bin_size(50, 0.05) == 3 and bin_size(50, 0.5) == 25
    assert bin_size(3, 0.5) == 2 and bin_size(1, 0.01) == 1
    assert uniform_scores([2, 0]) == [[0.5, 0.5], []]
    r = random_scores([5, 3], seed=1)
    assert [len(x) for x in r] == [5, 3] and sum(r[0]) == pytest.approx(1.0)
    assert r == random_scores([5, 3], seed=1) and r != random_scores([5, 3], seed=2)


def test_human_agreement_each_annotator_against_the_others():
    # 3 annotators: a0 and a1 agree, a2 differs; single-annotator text is skipped
    masks = [[[1, 0, 0], [1, 0, 0], [0, 1, 0]], [[1, 1, 1]]]
    res = human_agreement(masks)
    # a0 vs {a1, a2} -> ref = [1,1,0] (>= half): F1 2/3; a1 likewise; a2 vs ref [1,0,0]: 0
    assert res["n"] == 3
    assert res["token_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
