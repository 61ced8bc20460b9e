"""Readers for text-classification files: each format on a tiny file, errors, real data."""
import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from attnpred.data.text import FORMATS, read_examples, read_texts
from attnpred.errors import AttnpredError

FPB = Path("/work/shared/data/financial_phrasebank")
SST = Path("/work/shared/data/sst")
needs_fpb = pytest.mark.skipif(not FPB.exists(), reason=f"{FPB} not present")
needs_sst = pytest.mark.skipif(not SST.exists(), reason=f"{SST} not present")


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def error_of(path, **kwargs) -> AttnpredError:
    with pytest.raises(AttnpredError) as info:
        read_examples(path, **kwargs)
    return info.value


# ---- CSV / TSV ----------------------------------------------------------------------------

def test_csv_reads_columns_lines_and_extra(tmp_path):
    f = write(tmp_path / "d.csv", 'id,text,label\n1,"good, really",pos\n\n2," bad ",neg\n')
    ex = read_examples(f)
    assert [(e.text, e.label, e.line) for e in ex] == [("good, really", "pos", 2),
                                                       ("bad", "neg", 4)]
    assert ex[0].extra == {"id": "1"} and ex[0].source == str(f)


def test_csv_quoted_newline_keeps_start_line(tmp_path):
    f = write(tmp_path / "d.csv", 'text,label\n"two\nlines",a\nnext,b\n')
    ex = read_examples(f)
    assert ex[0].text == "two\nlines" and [e.line for e in ex] == [2, 4]


def test_csv_column_mapping_and_crlf(tmp_path):
    f = write(tmp_path / "d.csv", "sentence,y\r\nhello,1\r\n")
    ex = read_examples(f, text_column="sentence", label_column="y")
    assert (ex[0].text, ex[0].label) == ("hello", "1")


def test_tsv_is_unquoted(tmp_path):
    f = write(tmp_path / "d.tsv", 'text\tlabel\nhe said "hi\tx\n')
    assert read_examples(f)[0].text == 'he said "hi'


def test_tab_suffix_and_gzip(tmp_path):
    f = tmp_path / "d.tab.gz"
    f.write_bytes(gzip.compress(b"text\tlabel\nhello\tx\n"))
    assert read_examples(f)[0].label == "x"


def test_bad_gzip(tmp_path):
    f = write(tmp_path / "d.csv.gz", "not gzip")
    assert "gzip" in error_of(f).message


def test_missing_column_names_field_and_header(tmp_path):
    f = write(tmp_path / "d.csv", "text,y\nhello,1\n")
    err = error_of(f)
    assert (err.field, err.file, err.line) == ("label", str(f), 1)
    assert "['text', 'y']" in err.message


def test_unlabelled_csv_when_labels_not_required(tmp_path):
    f = write(tmp_path / "d.csv", "text\nhello\n")
    assert read_examples(f, require_label=False)[0].label is None


def test_wrong_field_count_names_line(tmp_path):
    f = write(tmp_path / "d.csv", "text,label\nok,a\nbad,a,extra\n")
    err = error_of(f)
    assert err.line == 3 and "expected 2 fields" in err.message


def test_empty_text_and_empty_label(tmp_path):
    err = error_of(write(tmp_path / "a.csv", "text,label\nok,a\n  ,b\n"))
    assert (err.line, err.field) == (3, "text")
    err = error_of(write(tmp_path / "b.csv", "text,label\nok,\n"))
    assert (err.line, err.field) == (2, "label")


def test_header_only_is_no_examples(tmp_path):
    assert "no examples" in error_of(write(tmp_path / "d.csv", "text,label\n")).message
    assert "no examples" in error_of(write(tmp_path / "e.csv", "")).message


def test_duplicate_header_names(tmp_path):
    assert error_of(write(tmp_path / "d.csv", "text,text,label\na,b,c\n")).field == "text"


# ---- JSONL --------------------------------------------------------------------------------

def test_jsonl_keeps_nested_extra_and_int_labels(tmp_path):
    rows = [{"text": "a b", "label": 1, "rationale": [0, 1]}, {"text": "c", "label": "x"}]
    f = write(tmp_path / "d.jsonl", json.dumps(rows[0]) + "\n\n" + json.dumps(rows[1]) + "\n")
    ex = read_examples(f)
    assert [(e.label, e.line) for e in ex] == [("1", 1), ("x", 3)]
    assert ex[0].extra == {"rationale": [0, 1]}


def test_jsonl_line_separator_inside_string_is_not_a_new_line(tmp_path):
    f = write(tmp_path / "d.ndjson", json.dumps({"text": "a\u2028b", "label": "x"},
                                                ensure_ascii=False) + "\n")
    assert read_examples(f)[0].text == "a\u2028b"


@pytest.mark.parametrize("line, field, words", [
    ('{"text": "a", "label": "x"', None, "invalid JSON"),
    ('["a", "x"]', None, "JSON object"),
    ('{"label": "x"}', "text", "key not found"),
    ('{"text": 3, "label": "x"}', "text", "expected a string"),
    ('{"text": "a", "label": [1]}', "label", "string or integer"),
    ('{"text": "a"}', "label", "missing"),
    ("[" * 100_000, None, "invalid JSON"),
])
def test_jsonl_errors_name_line_and_field(tmp_path, line, field, words):
    f = write(tmp_path / "d.jsonl", '{"text": "ok", "label": "y"}\n' + line + "\n")
    err = error_of(f)
    assert (err.file, err.line, err.field) == (str(f), 2, field)
    assert words in err.message


# ---- FPB / SST / format detection ---------------------------------------------------------

def test_fpb_splits_on_last_at_and_detects_latin1(tmp_path):
    f = write(tmp_path / "s.txt", "Mail a@b.com now .@neutral\nSepp\u00e4l\u00e4 up .@positive\n",
              encoding="latin-1")
    ex = read_examples(f)
    assert [(e.text, e.label) for e in ex] == [("Mail a@b.com now .", "neutral"),
                                               ("Sepp\u00e4l\u00e4 up .", "positive")]


def test_fpb_line_without_at_or_bad_label(tmp_path):
    f = write(tmp_path / "s.txt", "fine .@neutral\nno label here\n")
    assert error_of(f).line == 2
    f = write(tmp_path / "t.txt", "fine .@neutral\nbad .@great\n")
    assert (error_of(f).line, error_of(f).field) == (2, "label")


def test_explicit_encoding_error_names_line(tmp_path):
    f = write(tmp_path / "s.txt", "ok .@neutral\nSepp\u00e4 .@neutral\n", encoding="latin-1")
    err = error_of(f, encoding="utf-8")
    assert (err.line, err.field) == (2, "encoding")
    assert error_of(f, encoding="no-such-codec").field == "encoding"


def test_sst_by_name_and_by_format(tmp_path):
    text = "1 a fine film .\n0 dull\n"
    assert [(e.label, e.text) for e in read_examples(write(tmp_path / "stsa.binary.x", text))] \
        == [("1", "a fine film ."), ("0", "dull")]
    assert len(read_examples(write(tmp_path / "other.txt", text), format="sst")) == 2
    assert error_of(write(tmp_path / "stsa.bad", "1 ok\npositive film\n")).line == 2


def test_unknown_format_lists_formats(tmp_path):
    err = error_of(write(tmp_path / "d.txt", "just some text\n"))
    assert err.field == "format" and all(f in err.message for f in FORMATS)
    assert error_of(write(tmp_path / "d.csv", "text,label\n"), format="xml").field == "format"


def test_missing_file_and_directory(tmp_path):
    assert error_of(tmp_path / "nope.csv").message == "file not found"
    assert "regular file" in error_of(tmp_path).message


def test_read_texts_lines_and_columns(tmp_path):
    assert read_texts(write(tmp_path / "u.txt", "one\n\n two \n")) == ["one", "two"]
    assert read_texts(write(tmp_path / "u.csv", "text\nhello\n")) == ["hello"]
    with pytest.raises(AttnpredError, match="no examples"):
        read_texts(write(tmp_path / "e.txt", "\n \n"))


# ---- real data ----------------------------------------------------------------------------

@needs_fpb
@pytest.mark.parametrize("name, counts", [
    ("Sentences_AllAgree.txt", {"negative": 303, "neutral": 1391, "positive": 570}),
    ("Sentences_50Agree.txt", {"negative": 604, "neutral": 2879, "positive": 1363}),
])
def test_financial_phrasebank_counts_match_source_md(name, counts):
    ex = read_examples(FPB / name)
    assert Counter(e.label for e in ex) == counts
    assert ex[-1].line == len(ex)  # one example per line, no blank lines


@needs_fpb
def test_financial_phrasebank_encodings_agree():
    # AllAgree is UTF-8 and 50Agree Latin-1; decoded right, the nested subset holds exactly.
    all_agree = {e.text for e in read_examples(FPB / "Sentences_AllAgree.txt")}
    fifty = {e.text for e in read_examples(FPB / "Sentences_50Agree.txt")}
    assert any(not t.isascii() for t in all_agree) and all_agree <= fifty


@needs_sst
@pytest.mark.parametrize("name, n, classes", [
    ("stsa.binary.train", 6920, 2), ("stsa.binary.dev", 872, 2), ("stsa.binary.test", 1821, 2),
    ("stsa.fine.train", 8544, 5), ("stsa.fine.dev", 1101, 5), ("stsa.fine.test", 2210, 5),
])
def test_sst_counts_match_source_md(name, n, classes):
    ex = read_examples(SST / name)
    assert len(ex) == n and len({e.label for e in ex}) == classes
