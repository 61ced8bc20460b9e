"""Explaining a classifier: words, every layer and head, derived maps, gold, faithfulness."""
import numpy as np
import pytest
import torch

from attnpred.data.encoding import encode_texts
from attnpred.errors import AttnpredError
from attnpred.explain import explain
from attnpred.explain import maps as M
from attnpred.explain.classify import encode

TEXTS = ["the company said profit rose in the quarter.", "sales fell , shares cut",
         "its year in the market was weak"]


def test_ids_match_predict_and_punctuation_is_its_own_word(classifier):
    e = encode(classifier.tokenizer, TEXTS[0], 24)
    assert e.ids == encode_texts(classifier.tokenizer, [TEXTS[0]], 24)[0].input_ids
    assert e.words[-2:] == ["quarter", "."]
    assert [TEXTS[0][s:t] for s, t in e.spans] == e.words


def test_every_layer_and_head_and_maps_sum_to_one(classifier):
    ex = explain(classifier, TEXTS, methods=["attention", "head_mean", "head_max", "mean",
                                             "rollout", "gradient", "gradient_layers",
                                             "pooling"])
    for e in ex:
        w = len(e.words)
        assert e.maps["attention"].shape == (2, 2, w)
        assert e.maps["head_mean"].shape == e.maps["head_max"].shape == (2, w)
        for name in ("mean", "rollout", "gradient", "pooling"):
            assert e.maps[name].shape == (w,)
            assert e.maps[name].sum() == pytest.approx(1.0, abs=1e-5)
        assert sum(e.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert e.label == max(e.probabilities, key=e.probabilities.get)


def test_pooling_map_and_label_equal_predict(classifier):
    texts = ["sales fell in the quarter", "profit rose"]  # no punctuation: same words
    ex = explain(classifier, texts)
    preds = classifier.predict(texts, return_attention=True, attention="pooling")
    for e, p in zip(ex, preds):
        assert e.label == p.label
        assert e.probabilities == pytest.approx(p.probabilities, abs=1e-5)
        np.testing.assert_allclose(e.maps["pooling"], p.word_attention, atol=1e-5)


def test_maps_follow_the_model_weights(classifier):
    """Rollout and gradient maps recomputed from the raw weights of a single forward."""
    text = TEXTS[1]
    e = encode(classifier.tokenizer, text, 24)
    ids = torch.tensor([e.ids])
    mask = torch.ones_like(ids, dtype=torch.bool)
    with torch.enable_grad():
        out = classifier.model(ids, mask, need_weights=True)
        y = int(out.logits.argmax())
        grads = torch.autograd.grad(out.logits[0, y], out.attentions)
    att = np.stack([a[0].detach().numpy() for a in out.attentions])  # (L, H, T, T)
    g = np.stack([x[0].numpy() for x in grads])
    q = out.pooling_attention[0].detach().numpy()
    words = lambda v: M.normalise(M.words_keys(v, e.token_words, len(e.words)))  # noqa: E731
    ex = explain(classifier, [text], methods=["rollout", "gradient", "attention"])[0]
    np.testing.assert_allclose(ex.maps["rollout"], words(M.readout(M.rollout(att), q)),
                               atol=1e-5)
    rel = M.readout(M.relevance(M.gradient_weighted(att, g)), q)
    np.testing.assert_allclose(ex.maps["gradient"], words(rel), atol=1e-5)
    np.testing.assert_allclose(ex.maps["attention"][1, 0], words(att[1, 0, 0]), atol=1e-5)


def test_batched_equals_one_at_a_time(classifier):
    many = explain(classifier, TEXTS, methods=["rollout", "gradient"], batch_size=2)
    for text, b in zip(TEXTS, many):
        one = explain(classifier, [text], methods=["rollout", "gradient"])[0]
        assert one.words == b.words
        np.testing.assert_allclose(one.maps["gradient"], b.maps["gradient"], atol=1e-5)
        np.testing.assert_allclose(one.maps["rollout"], b.maps["rollout"], atol=1e-5)


def test_gold_rationale_plausibility_and_faithfulness(classifier):
    record = {"text": "the company said profit rose.", "label": "positive",
              "rationale": [0, 0, 0, 1, 1]}
    ex = explain(classifier, [record, "shares fell"], faithfulness=["pooling"],
                 matrices=True)
    e = ex[0]
    assert e.words[-2:] == ["rose", "."] and e.gold == [0, 0, 0, 1, 1, 1]
    assert e.gold_label == "positive" and set(e.plausibility) >= {"pooling", "rollout"}
    assert 0 <= e.plausibility["pooling"]["auprc"] <= 1
    f = e.faithfulness["pooling"]
    assert len(f.drop) == len(f.random_drop) == 5
    assert ex[1].gold is None and ex[1].plausibility == {}
    w = len(e.words)
    assert e.matrices["attention"].shape == (2, 2, w, w) and e.matrices["rollout"].shape == (w, w)
    d = e.to_dict()
    assert d["maps"]["pooling"] == pytest.approx(e.maps["pooling"].tolist(), abs=1e-6)


def test_user_mistakes(classifier):
    with pytest.raises(AttnpredError, match="unknown method"):
        explain(classifier, ["x"], methods=["bogus"])
    with pytest.raises(AttnpredError, match="whitespace words"):
        explain(classifier, [{"text": "a b", "rationale": [1]}])
    with pytest.raises(AttnpredError, match="cannot explain"):
        explain(object(), ["x"])


def test_no_inputs_no_explanations(classifier):
    assert explain(classifier, [], faithfulness=["rollout"]) == []
