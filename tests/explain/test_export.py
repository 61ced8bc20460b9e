"""JSON, .npz, PNG and SVG outputs of explanations."""
import json

import numpy as np
import pytest

from attnpred.errors import AttnpredError
from attnpred.explain import explain
from attnpred.explain.export import SCHEMA, write_figures, write_json, write_npz


@pytest.fixture(scope="module")
def text_explanations(classifier):
    return explain(classifier, ["profit rose in the quarter.", "sales fell"], matrices=True,
                   methods=["attention", "rollout", "pooling"])


def test_json_holds_every_map_with_its_shape(text_explanations, tmp_path):
    data = json.loads(write_json(text_explanations, tmp_path / "x.json").read_text())
    assert data["schema"] == SCHEMA and len(data["explanations"]) == 2
    first, e = data["explanations"][0], text_explanations[0]
    assert first["words"] == e.words and first["family"] == "classify"
    assert np.asarray(first["maps"]["attention"]).shape == e.maps["attention"].shape
    assert np.asarray(first["matrices"]["attention"]).shape == (2, 2, len(e.words), len(e.words))
    np.testing.assert_allclose(first["maps"]["rollout"], e.maps["rollout"], atol=1e-6)


def test_npz_arrays_and_meta(text_explanations, tmp_path):
    z = np.load(write_npz(text_explanations, tmp_path / "x.npz"))
    np.testing.assert_array_equal(z["1/maps/pooling"], text_explanations[1].maps["pooling"])
    assert z["0/matrices/rollout"].shape == (6, 6)
    meta = json.loads(str(z["meta"]))
    assert meta["schema"] == SCHEMA and meta["examples"][0]["words"][-1] == "."


def test_png_and_svg_heatmaps(text_explanations, tmp_path):
    pngs = write_figures(text_explanations, tmp_path / "figs", "png", layer=0, head=1)
    assert [p.name for p in pngs] == ["example-0001.png", "example-0002.png"]
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = write_figures(text_explanations[:1], tmp_path / "one.svg", "svg")[0]
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "quarter" in text


def test_seq2seq_and_forecast_figures_and_json(seq2seq, forecaster, tmp_path):
    s2s = explain(seq2seq, [{"src": "the cat runs", "tgt": "die Katze rennt",
                             "alignment": "0-0 1-1 2-2"}])
    assert write_figures(s2s, tmp_path / "a.svg", "svg")[0].stat().st_size > 1000
    predictor, csv = forecaster
    fc = explain(predictor, [{"series": str(csv), "end": 200}, str(csv)])
    assert len(write_figures(fc, tmp_path / "fc", "png")) == 2
    data = json.loads(write_json(s2s + fc, tmp_path / "all.json").read_text())
    assert [d["family"] for d in data["explanations"]] == ["seq2seq", "forecast", "forecast"]
    assert data["explanations"][0]["score"] is None  # read by teacher forcing: no score
    assert data["explanations"][2]["truth"] is None


def test_figure_mistakes(classifier, tmp_path):
    ex = explain(classifier, ["sales fell"])
    with pytest.raises(AttnpredError, match="matrices"):
        write_figures(ex, tmp_path / "x", "png")
    with pytest.raises(AttnpredError, match="format"):
        write_figures(ex, tmp_path / "x", "gif")
