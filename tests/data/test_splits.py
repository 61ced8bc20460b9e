"""Seeded stratified splits, de-duplication and split files."""
import json
from collections import Counter
from pathlib import Path

import pytest

from attnpred.data.splits import Split, dedupe, load_split, save_split, stratified_split
from attnpred.data.text import TextExample, read_examples
from attnpred.errors import AttnpredError

FPB_ALL = Path("/work/shared/data/financial_phrasebank/Sentences_AllAgree.txt")

LABELS = ["a"] * 60 + ["b"] * 30 + ["c"] * 10


def shares(labels, idx):
    counts = Counter(labels[i] for i in idx)
    return {k: counts[k] / len(idx) for k in sorted(set(labels))}


def test_parts_are_disjoint_cover_everything_and_have_finbert_sizes():
    split = stratified_split(LABELS, test=0.2, dev=0.2, seed=1)
    assert sorted(split.train + split.dev + split.test) == list(range(100))
    assert (len(split.train), len(split.dev), len(split.test)) == (64, 16, 20)
    assert split.train == sorted(split.train)


def test_stratified_shares_match_the_whole():
    split = stratified_split(LABELS, seed=3)
    whole = shares(LABELS, range(len(LABELS)))
    for part in (split.train, split.dev, split.test):
        for k, v in shares(LABELS, part).items():
            assert abs(v - whole[k]) <= 0.05, (k, v)


def test_same_seed_same_split_other_seed_differs():
    assert stratified_split(LABELS, seed=5) == stratified_split(LABELS, seed=5)
    assert stratified_split(LABELS, seed=5).test != stratified_split(LABELS, seed=6).test


def test_singleton_class_falls_back_to_unstratified():
    labels = ["a"] * 20 + ["b"]
    split = stratified_split(labels, seed=0)
    assert sorted(split.train + split.dev + split.test) == list(range(21))


def test_zero_fractions_and_bad_fractions():
    split = stratified_split(LABELS, test=0.0, dev=0.0)
    assert len(split.train) == 100 and split.dev == split.test == []
    with pytest.raises(AttnpredError) as info:
        stratified_split(LABELS, test=1.0)
    assert info.value.field == "test"
    with pytest.raises(AttnpredError, match="no examples"):
        stratified_split([])
    with pytest.raises(AttnpredError) as info:
        stratified_split(["a"], test=0.5)
    assert info.value.field == "test"


def test_dedupe_keeps_first():
    ex = [TextExample(t, lab, i + 1, "f", {}) for i, (t, lab) in
          enumerate([("x", "a"), ("y", "b"), ("x", "c")])]
    assert [(e.text, e.label) for e in dedupe(ex)] == [("x", "a"), ("y", "b")]


def test_save_load_round_trip(tmp_path):
    split = stratified_split(LABELS, seed=7)
    save_split(split, tmp_path / "split.json")
    assert load_split(tmp_path / "split.json") == split
    assert [p.name for p in tmp_path.iterdir()] == ["split.json"]  # no temp files left


@pytest.mark.parametrize("data, field", [
    ({"train": [0], "dev": [], "test": []}, "seed"),
    ({"seed": 1, "train": [0, "x"], "dev": [], "test": []}, "train"),
    ({"seed": 1, "train": [0], "dev": [-1], "test": []}, "dev"),
    ({"seed": 1, "train": [0, 1], "dev": [], "test": [1]}, None),
])
def test_load_rejects_bad_splits(tmp_path, data, field):
    (tmp_path / "s.json").write_text(json.dumps(data))
    with pytest.raises(AttnpredError) as info:
        load_split(tmp_path / "s.json")
    assert (info.value.file, info.value.field) == (str(tmp_path / "s.json"), field)


def test_load_missing_and_invalid(tmp_path):
    with pytest.raises(AttnpredError, match="not found"):
        load_split(tmp_path / "none.json")
    (tmp_path / "s.json").write_text("{\n oops")
    with pytest.raises(AttnpredError) as info:
        load_split(tmp_path / "s.json")
    assert info.value.line == 2


def test_check_against_data_size():
    split = Split(train=[0, 1], dev=[2], test=[5], seed=0)
    split.check(6)
    with pytest.raises(AttnpredError, match="only 5"):
        split.check(5)


@pytest.mark.skipif(not FPB_ALL.exists(), reason=f"{FPB_ALL} not present")
def test_finbert_protocol_on_allagree():
    examples = dedupe(read_examples(FPB_ALL))
    assert len(examples) == 2264 - 5  # SOURCE.md: 5 duplicated lines
    labels = [e.label for e in examples]
    split = stratified_split(labels, seed=13)
    texts = {name: {examples[i].text for i in getattr(split, name)}
             for name in ("train", "dev", "test")}
    assert not texts["train"] & texts["test"] and not texts["dev"] & texts["test"]
    assert abs(shares(labels, split.test)["negative"] - 303 / 2264) < 0.01
