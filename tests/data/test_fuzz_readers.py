"""Fuzz the text readers: any input gives examples or an AttnpredError, never another error."""
import csv
import gzip
import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnpred.data.text import FORMATS, TextExample, read_examples, read_texts
from attnpred.errors import AttnpredError

SUFFIXES = [".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".txt", ".csv.gz", ""]
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

# Characters that matter to the formats, plus arbitrary unicode.
special = st.sampled_from(list(',\t"@{}[]:\n\r \\\x00\u2028\ufeff') + ["text", "label", "1 "])
chunks = st.lists(st.one_of(special, st.text(max_size=5)), max_size=30).map("".join)
names = st.sampled_from(["text", "label", "id", "", " text", "y"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(names, kids, max_size=3),
    max_leaves=8)


def check(path, **kwargs):
    """Read ``path``; the only exception allowed is AttnpredError, and output is sane."""
    try:
        examples = read_examples(path, **kwargs)
    except AttnpredError as exc:
        assert str(exc)  # renders to a one-line-able message
        return
    assert examples
    for ex in examples:
        assert isinstance(ex, TextExample) and ex.text and ex.text == ex.text.strip()
        assert ex.line >= 1 and ex.source == str(path) and isinstance(ex.extra, dict)
        assert ex.label is None and not kwargs.get("require_label", True) or ex.label


def put(tmp_path, suffix, data: bytes, compress: bool = True):
    path = tmp_path / f"fuzz{suffix}"
    if suffix.endswith(".gz") and compress:
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


@FUZZ
@given(data=st.binary(max_size=200), suffix=st.sampled_from(SUFFIXES),
       fmt=st.sampled_from(("auto",) + FORMATS), require=st.booleans(),
       encoding=st.sampled_from([None, "utf-8", "latin-1", "utf-16", "nope"]),
       compress=st.booleans())
def test_random_bytes(tmp_path, data, suffix, fmt, require, encoding, compress):
    path = put(tmp_path, suffix, data, compress)  # uncompressed .gz: a corrupt archive
    check(path, format=fmt, require_label=require, encoding=encoding)


@FUZZ
@given(text=chunks, suffix=st.sampled_from(SUFFIXES), fmt=st.sampled_from(("auto",) + FORMATS),
       require=st.booleans())
def test_random_unicode(tmp_path, text, suffix, fmt, require):
    path = put(tmp_path, suffix, text.encode("utf-8", "surrogatepass"))
    check(path, format=fmt, require_label=require)
    try:
        texts = read_texts(path, format=fmt)
        assert texts and all(t and t == t.strip() for t in texts)
    except AttnpredError:
        pass


@FUZZ
@given(header=st.lists(names, min_size=1, max_size=4),
       rows=st.lists(st.lists(chunks, max_size=5), max_size=5),
       delimiter=st.sampled_from([",", "\t"]), text_column=names, label_column=names,
       require=st.booleans())
def test_random_headers_and_rows(tmp_path, header, rows, delimiter, text_column,
                                 label_column, require):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter)
    for row in [header] + rows:
        writer.writerow(row)
    suffix = ".csv" if delimiter == "," else ".tsv"
    check(put(tmp_path, suffix, buf.getvalue().encode("utf-8", "surrogatepass")),
          text_column=text_column, label_column=label_column, require_label=require)


@FUZZ
@given(records=st.lists(st.one_of(json_values, st.dictionaries(names, json_values)),
                        max_size=5),
       text_column=names, label_column=names, require=st.booleans())
def test_random_json_records(tmp_path, records, text_column, label_column, require):
    lines = "\n".join(json.dumps(r) for r in records)
    check(put(tmp_path, ".jsonl", lines.encode("utf-8", "surrogatepass")),
          text_column=text_column, label_column=label_column, require_label=require)
