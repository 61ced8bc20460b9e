"""Tagging metrics against a hand-computed case, the baselines, and word attention."""
from __future__ import annotations

import pytest
import torch

from attnpred.evaluation.tagging import (MajorityTagger, entity_scores, evaluate_with_baselines,
                                         format_report, token_accuracy)
from attnpred.models.tagger import word_attention

GOLD = [["B-per", "I-per", "O", "B-loc"], ["B-loc", "O", "B-per"]]
PRED = [["B-per", "I-per", "O", "B-per"], ["I-loc", "O", "B-per"]]


def test_strict_entity_scores_by_hand():
    # gold: per(0-2), loc(3), loc(0), per(2) -> 4 entities. pred: per(0-2) ok, per(3) wrong type,
    # I-loc without B- is ill-formed (dropped in strict mode), per(2) ok -> 3 predicted, 2 right
    res = entity_scores(GOLD, PRED, "bio")
    assert res["micro"]["precision"] == pytest.approx(2 / 3)
    assert res["micro"]["recall"] == pytest.approx(2 / 4)
    assert res["micro"]["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    per, loc = res["per_type"]["per"], res["per_type"]["loc"]
    assert (per["precision"], per["recall"], per["support"]) == (pytest.approx(2 / 3), 1.0, 2)
    assert (loc["precision"], loc["recall"], loc["f1"]) == (0.0, 0.0, 0.0)
    assert res["macro"]["f1"] == pytest.approx(per["f1"] / 2)
    assert token_accuracy(GOLD, PRED) == pytest.approx(5 / 7)


def test_majority_baseline_and_report():
    maj = MajorityTagger.fit([["Rome", "rome", "is", "."], ["Rome"]],
                             [["B-loc", "O", "O", "O"], ["B-loc"]])
    assert maj.predict(["Rome", "ROME", "unseen"]) == ["B-loc", "B-loc", "O"]
    assert MajorityTagger.from_json(maj.to_json()).predict(["rome"]) == ["O"]
    res = evaluate_with_baselines([["Rome", "is"]], [["B-loc", "O"]], [["O", "O"]], "bio", maj)
    assert res["entity_f1"] == 0.0 and res["baselines"]["majority"]["entity_f1"] == 1.0
    assert res["baselines"]["all_o"]["token_accuracy"] == 0.5
    text = format_report(res)
    assert "baseline: majority" in text and "loc" in text


def test_pos_scores_have_no_entities():
    maj = MajorityTagger.fit([["a"]], [["DET"]])
    res = evaluate_with_baselines([["a", "b"]], [["DET", "NOUN"]], [["DET", "DET"]], "none", maj)
    assert "entities" not in res and res["token_accuracy"] == 0.5
    assert set(res["baselines"]) == {"majority"}


def test_word_attention_sums_subwords_and_renormalises():
    # tokens: [CLS] w0 w1a w1b [SEP] pad ; 2 words, word 1 has two sub-words
    att = torch.softmax(torch.randn(1, 6, 6), -1)
    att[:, :, 5] = 0
    token_words = torch.tensor([[-1, 0, 1, 1, -1, -1]])
    out = word_attention(att, torch.tensor([[1, 2, 0]]), torch.tensor([[True, True, False]]),
                         token_words)
    assert out.shape == (1, 3, 3)
    row = att[0, 1, [1, 2, 3]]
    expected = torch.stack([row[0], row[1] + row[2]]) / row.sum()
    assert torch.allclose(out[0, 0, :2], expected, atol=1e-6)
    assert torch.allclose(out[0, :2].sum(-1), torch.ones(2))
    assert torch.all(out[0, :, 2] == 0) and torch.all(out[0, 2] == 0)
