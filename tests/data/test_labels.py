"""Label vocabulary: order, encode/decode, errors, JSON round trip."""
import pytest

from attnpred.data.labels import LabelVocab
from attnpred.errors import AttnpredError


def test_build_sorts_unique_and_skips_none():
    vocab = LabelVocab.build(["pos", "neg", None, "pos", "neu"])
    assert vocab.labels == ["neg", "neu", "pos"] and len(vocab) == 3


def test_build_sorts_integer_labels_numerically():
    assert LabelVocab.build(["10", "9", "0"]).labels == ["0", "9", "10"]


def test_encode_decode_round_trip():
    vocab = LabelVocab(["b", "a"])  # given order is kept
    assert [vocab.encode(x) for x in ["b", "a"]] == [0, 1]
    assert [vocab.decode(i) for i in range(2)] == ["b", "a"]
    with pytest.raises(IndexError):
        vocab.decode(2)


def test_unknown_label_names_file_line_label_and_known():
    vocab = LabelVocab(["neg", "pos"])
    with pytest.raises(AttnpredError) as info:
        vocab.encode("neutral", file="d.csv", line=7)
    err = info.value
    assert (err.file, err.line, err.field) == ("d.csv", 7, "label")
    assert "'neutral'" in err.message and "['neg', 'pos']" in err.message
    assert str(err).startswith("d.csv:7, field 'label'")


@pytest.mark.parametrize("labels", [[], ["a", "a"], ["a", ""], ["a", 1]])
def test_bad_vocabularies_are_rejected(labels):
    with pytest.raises(AttnpredError):
        LabelVocab(labels)


def test_save_load(tmp_path):
    vocab = LabelVocab(["négatif", "positif"])
    vocab.save(tmp_path / "labels.json")
    assert LabelVocab.load(tmp_path / "labels.json") == vocab
    assert LabelVocab.from_json(vocab.to_json()) == vocab


def test_load_errors_name_the_file(tmp_path):
    path = tmp_path / "labels.json"
    path.write_text('{"labels": ["a", "a"]}')
    with pytest.raises(AttnpredError) as info:
        LabelVocab.load(path)
    assert info.value.file == str(path) and "repeated" in info.value.message
    path.write_text('["a"]')
    with pytest.raises(AttnpredError, match="labels"):
        LabelVocab.load(path)
    with pytest.raises(AttnpredError, match="not found"):
        LabelVocab.load(tmp_path / "none.json")
