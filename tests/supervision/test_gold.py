"""Gold attention sources: JSONL masks and spans, Yelp-HAT, words <-> sub-words."""
import json
import os
from pathlib import Path

import pytest
import torch

from attnpred.data.encoding import encode_texts, train_tokenizer
from attnpred.data.text import TextExample
from attnpred.errors import AttnpredError
from attnpred.supervision.config import SupervisionConfig
from attnpred.supervision.gold import (Rationale, gold_distribution, gold_tensors,
                                       mask_from_spans, rationale_records, read_rationales,
                                       read_yelp_hat, subwords_to_words, words_to_subwords)

DATA = Path(os.environ.get("ATTNPRED_DATA",
                          Path(__file__).resolve().parents[3] / "shared" / "data"))
YELP = DATA / "yelp_hat"
YELP_FILES = ["ham_part1(50words).csv", "ham_part6(100words).csv", "ham_part7.csv"]
needs_yelp = pytest.mark.skipif(not YELP.exists(), reason=f"{YELP} not present")


def write_jsonl(path: Path, records) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


# ---- JSONL ---------------------------------------------------------------------------------

def test_jsonl_mask_tokens_and_spans(tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [
        {"text": "the food was great", "rationale": [0, 0, 0, 1], "label": "pos"},
        {"tokens": ["awful", "service"], "rationale": [1, 0]},
        {"text": "not bad at all", "rationale_spans": [[0, 7]]},
        {"text": "a b c", "rationale": [[1, 0, 0], [1, 1, 0], [0, 0, 1]]},
    ])
    rats = read_rationales(path)
    assert rats[0].reference() == [0, 0, 0, 1] and rats[0].label == "pos"
    assert rats[1].text == "awful service" and rats[1].reference() == [1, 0]
    assert rats[2].reference() == [1, 1, 0, 0]
    assert rats[3].reference() == [1, 0, 0]  # at least half of 3 annotators: 2 votes
    assert rats[3].union() == [1, 1, 1]
    assert rats[3].line == 4


@pytest.mark.parametrize("record, message", [
    ({"text": "one two three", "rationale": [1, 0]}, "does not match its text"),
    ({"text": "one two", "tokens": ["one", "three"], "rationale": [1, 0]},
     "does not match its text"),
    ({"text": "one two", "rationale_spans": [[3, 99]]}, "outside the text"),
    ({"text": "one two", "rationale": [2, 0]}, "0/1"),
    ({"text": "one two"}, "no rationale"),
])
def test_jsonl_errors_name_line_and_field(tmp_path, record, message):
    path = write_jsonl(tmp_path / "r.jsonl", [{"text": "ok", "rationale": [1]}, record])
    with pytest.raises(AttnpredError) as info:
        read_rationales(path)
    assert message in info.value.message and info.value.line == 2


def test_spans_mark_every_overlapping_word():
    text = "The soup was  really good."
    # "ally go" overlaps "really" and "good."
    start = text.index("ally")
    assert mask_from_spans(text, [[start, start + 7]]) == [0, 0, 0, 1, 1]


def test_rationale_records_fraction_and_inline_masks(tmp_path):
    exs = [TextExample(f"w{i} x", "a", i + 1, "f", {"rationale": [1, 0]}) for i in range(20)]
    exs.append(TextExample("no gold here", "b", 21, "f", {}))
    all_masks = rationale_records(exs, SupervisionConfig())
    assert sum(m is not None for m in all_masks) == 20 and all_masks[-1] is None
    quarter = rationale_records(exs, SupervisionConfig(fraction=0.25))
    assert sum(m is not None for m in quarter) == 5
    assert quarter == rationale_records(exs, SupervisionConfig(fraction=0.25))  # seeded
    other = rationale_records(exs, SupervisionConfig(fraction=0.25, fraction_seed=2))
    assert other != quarter


def test_rationales_from_a_separate_file_matched_by_text(tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [{"text": "great tacos", "rationale": [1, 0]}])
    exs = [TextExample("great tacos", "pos", 1, "d", {}), TextExample("meh", "neg", 2, "d", {})]
    masks = rationale_records(exs, SupervisionConfig(rationales=str(path)))
    assert masks == [[1, 0], None]


# ---- Yelp-HAT ------------------------------------------------------------------------------

def test_yelp_hat_tiny_file(tmp_path):
    html = ('<span>Tasty</span> <span class="active">food</span> <span>&amp;</span> '
            '<span class="">ok</span> <span></span>')
    rows = [("1", "Tasty food & ok", "yes", html),
            ("1", "Tasty food & ok", "yes",
             html.replace('<span>Tasty', '<span class="active">Tasty'))]
    import csv
    path = tmp_path / "ham.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Input.label", "Input.text", "Answer.Q1Answer", "Answer.html_output"])
        w.writerows(rows)
    (rat,) = read_yelp_hat(path)
    assert rat.masks == [[0, 1, 0, 0], [1, 1, 0, 0]] and rat.label == "1"
    assert rat.reference() == [1, 1, 0, 0] and rat.reference(1.0) == [0, 1, 0, 0]
    bad = tmp_path / "bad.csv"
    bad.write_text(path.read_text().replace("Tasty food & ok", "Tasty food and ok"))
    with pytest.raises(AttnpredError, match="does not match its text"):
        read_yelp_hat(bad)


@needs_yelp
def test_yelp_hat_real_files():
    rats = read_yelp_hat([YELP / f for f in YELP_FILES])
    assert len(rats) == 1364
    counts = sorted({len(r.masks) for r in rats})
    assert counts == [1, 2, 3, 4]
    assert sum(len(r.masks) for r in rats) == 4310
    for r in rats:
        assert all(len(m) == len(r.text.split()) for m in r.masks)
    assert {r.label for r in rats} == {"0", "1"}
    mean_marked = sum(sum(r.reference()) for r in rats) / len(rats)
    assert 3 < mean_marked < 20


# ---- words <-> sub-words -------------------------------------------------------------------

@pytest.fixture(scope="module")
def tokenizer():
    texts = ["the unbelievably tasty dumplings", "service was slow", "tasty food"] * 5
    return train_tokenizer(texts, vocab_size=60, min_frequency=1)


def test_mapping_round_trip(tokenizer):
    (enc,) = encode_texts(tokenizer, ["the unbelievably tasty dumplings"], 64)
    assert len(enc.input_ids) > len(enc.words) + 2  # some words are split into pieces
    values = [0.1, 0.2, 0.3, 0.4]
    sub = words_to_subwords(values, enc.word_ids)
    assert sub[0] == 0.0 and sub[-1] == 0.0  # [CLS], [SEP]
    assert subwords_to_words(sub, enc.word_ids, 4) == pytest.approx(values)
    copied = words_to_subwords([0, 1, 0, 1], enc.word_ids, split=False)
    assert set(copied) == {0.0, 1.0}
    assert sum(copied) == sum(1 for w in enc.word_ids if w in (1, 3))


def test_gold_distribution_and_truncation(tokenizer):
    (enc,) = encode_texts(tokenizer, ["the unbelievably tasty dumplings"], 64)
    dist = gold_distribution([0, 1, 0, 1], enc.word_ids)
    assert sum(dist) == pytest.approx(1.0)
    assert subwords_to_words(dist, enc.word_ids, 4) == pytest.approx([0, 0.5, 0, 0.5])
    (short,) = encode_texts(tokenizer, ["the unbelievably tasty dumplings"], 3)  # CLS the SEP
    assert gold_distribution([0, 1, 0, 1], short.word_ids) is None
    n = len(enc.word_ids)
    batch = gold_tensors([[0, 1, 0, 1], None], [enc.word_ids, short.word_ids], n)
    assert batch["has_gold"].tolist() == [True, False]
    assert batch["gold_attention"][0].sum() == pytest.approx(1.0)
    assert batch["gold_attention"][1].abs().sum() == 0
    assert batch["word_mask"][1].tolist() == [False, True, False] + [False] * (n - 3)
    assert isinstance(batch["gold_attention"], torch.Tensor)


def test_rationale_votes():
    r = Rationale("a b", [[1, 0], [1, 1], [0, 0], [0, 1]])
    assert r.votes == [0.5, 0.5] and r.reference() == [1, 1] and r.reference(0.75) == [0, 0]
