"""Explaining seq2seq outputs and forecasts."""
import numpy as np
import pytest

from attnpred.errors import AttnpredError
from attnpred.explain import explain


def test_seq2seq_maps_links_and_gold(seq2seq):
    ex = explain(seq2seq, ["a dog runs", {"src": "the cat runs", "tgt": "die Katze rennt",
                                          "alignment": "0-0 1-1 2-2"}])
    free, forced = ex
    assert free.output == seq2seq.predict(["a dog runs"])[0].text
    assert free.gold_links is None and forced.gold_links == [(0, 0), (1, 1), (2, 2)]
    assert forced.output == "die Katze rennt" and forced.reference == "die Katze rennt"
    v, w = len(forced.tgt_words), len(forced.src_words)
    assert forced.maps["cross"].shape == (2, 2, v, w)
    assert forced.maps["encoder"].shape == (1, 2, w, w)
    assert forced.maps["decoder"].shape == (2, 2, v, v)
    np.testing.assert_allclose(forced.maps["cross"].sum(-1), 1.0, atol=1e-5)
    # links are the ones the predictor's own aligner reads off the same pass
    assert set(forced.links) == seq2seq.align(["the cat runs"], ["die Katze rennt"])[0]


def test_seq2seq_cross_map_equals_the_models_forced_attention(seq2seq):
    src, tgt = "a cat sleeps", "eine Katze schläft"  # a training pair
    ex = explain(seq2seq, [{"src": src, "tgt": tgt}])[0]
    token = seq2seq.forced_attention([src], [tgt])[0]  # per layer (H, T, S)
    sw, tw = seq2seq.tok.src_words(src, 16), seq2seq.tok.tgt_words(tgt, 16)
    for layer, m in enumerate(token):
        m = m.numpy()
        for head in range(m.shape[0]):
            expected = np.zeros((3, 3))
            for v in range(3):  # mean over the target word's pieces of the sum over the source's
                rows = [i for i, x in enumerate(tw) if x == v]
                for w in range(3):
                    cols = [j for j, x in enumerate(sw) if x == w]
                    expected[v, w] = m[head][np.ix_(rows, cols)].sum(1).mean()
            expected /= expected.sum(1, keepdims=True)
            np.testing.assert_allclose(ex.maps["cross"][layer, head], expected, atol=1e-5)


def test_seq2seq_user_mistakes(seq2seq):
    with pytest.raises(AttnpredError, match="needs the target"):
        explain(seq2seq, [{"src": "a dog", "alignment": "0-0"}])
    with pytest.raises(AttnpredError, match="src"):
        explain(seq2seq, [{"tgt": "x"}])


def test_forecast_history_and_layers(forecaster):
    predictor, csv = forecaster
    ex = explain(predictor, [str(csv), {"series": str(csv), "end": 200}])
    last, window = ex
    fc = predictor.predict([str(csv)], return_attention=True, end=200)[0]
    np.testing.assert_allclose(window.values, fc.values)
    np.testing.assert_allclose(window.maps["history"], fc.attention, atol=1e-6)
    assert window.maps["history"].shape == (3, 48)
    np.testing.assert_allclose(window.maps["history"].sum(-1), 1.0, atol=1e-5)
    n = predictor.model.cfg.n_patches
    assert window.maps["layers"].shape == (2, 3, 2, n, n)  # L, C, H, N patches, N
    assert np.isfinite(window.error) and np.isnan(last.error)  # truth known after row 200 only
    assert window.name.endswith("@ row 200") and len(window.history_dates) == 48
    d = window.to_dict()
    assert d["truth"][0][0] is not None and len(d["dates"]) == 12
