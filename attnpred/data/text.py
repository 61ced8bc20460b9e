"""Readers for text-classification files: CSV, TSV, JSONL, Financial PhraseBank, SST.

Every reader returns ``TextExample`` records that remember their file and 1-based line, so a
later step (label encoding, tokenization) can point a person at the exact line it dislikes.
Every user mistake raises ``AttnpredError`` with file, line and field; nothing else escapes.

Line-based formats split on ``\\n`` only (``str.splitlines`` would also split on U+2028 and
form feeds, which JSON strings and raw text may contain), so line numbers match ``wc -l``.
"""
from __future__ import annotations

import csv
import gzip
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from attnpred.errors import AttnpredError

FORMATS = ("csv", "tsv", "jsonl", "fpb", "sst")
"""Formats ``read_examples`` understands; ``read_texts`` also takes ``"lines"``."""

FPB_LABELS = ("negative", "neutral", "positive")
"""The three Financial PhraseBank sentiment labels."""

_SUFFIX_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl",
                   ".ndjson": "jsonl"}


@dataclass
class TextExample:
    """One labelled (or unlabelled) text with where it came from.

    Attributes:
        text: the text, with surrounding whitespace stripped; never empty.
        label: the label as a string, or None when the file has no label column and labels
            are not required.
        line: 1-based line number in the source file where the record starts.
        source: the file path.
        extra: every other field of the record (CSV strings; JSONL keeps nested values).
    """

    text: str
    label: str | None
    line: int
    source: str
    extra: dict[str, Any] = field(default_factory=dict)


def read_examples(path: str | Path, *, format: str = "auto", text_column: str = "text",
                  label_column: str = "label", encoding: str | None = None,
                  require_label: bool = True) -> list[TextExample]:
    """Read a text-classification file.

    Args:
        path: the file; a ``.gz`` suffix is decompressed transparently.
        format: one of ``FORMATS`` or ``"auto"`` (by suffix: .csv, .tsv/.tab, .jsonl/.ndjson;
            files named ``stsa.*`` are SST; a .txt whose first line is ``sentence@label`` is
            Financial PhraseBank).
        text_column: the text column (CSV/TSV) or key (JSONL).
        label_column: the label column or key (CSV/TSV/JSONL).
        encoding: the text encoding; None tries UTF-8 then falls back to Latin-1 (the
            Financial PhraseBank 50/66/75Agree files are Latin-1, AllAgree is UTF-8).
        require_label: when False, a missing label column or empty label gives ``label=None``.

    Returns:
        The examples in file order.

    Raises:
        AttnpredError: missing file, unknown format, malformed line, missing column, empty
            text or label, or no examples at all.
    """
    text = _read_text(path, encoding)
    fmt = _resolve_format(path, format, text, FORMATS)
    source = str(path)
    if fmt in ("csv", "tsv"):
        examples = list(_read_delimited(text, source, fmt, text_column, label_column,
                                        require_label))
    elif fmt == "jsonl":
        examples = list(_read_jsonl(text, source, text_column, label_column, require_label))
    elif fmt == "fpb":
        examples = _read_fpb(text, source)
    else:
        examples = _read_sst(text, source)
    if not examples:
        raise AttnpredError("no examples in file", file=source)
    return examples


def read_texts(path: str | Path, *, format: str = "auto", text_column: str = "text",
               encoding: str | None = None) -> list[str]:
    """Read unlabelled texts (for self-training and MLM pretraining).

    Args:
        path: the file; ``.gz`` is decompressed transparently.
        format: ``"lines"`` (one text per non-empty line), one of ``FORMATS``, or ``"auto"``:
            a ``.txt`` file is read as lines, other suffixes as in ``read_examples``.
        text_column: the text column or key for CSV/TSV/JSONL.
        encoding: as in ``read_examples``.

    Returns:
        The texts in file order, stripped, never empty.

    Raises:
        AttnpredError: as ``read_examples``.
    """
    if format == "lines" or (format == "auto" and _base_suffix(path) == ".txt"):
        texts = [t for _, t in _numbered_lines(_read_text(path, encoding))]
        if not texts:
            raise AttnpredError("no examples in file", file=path)
        return texts
    return [ex.text for ex in read_examples(path, format=format, text_column=text_column,
                                            encoding=encoding, require_label=False)]


def iter_examples(path: str | Path, *, format: str = "auto", text_column: str = "text",
                  label_column: str = "label", encoding: str | None = None,
                  require_label: bool = True) -> Iterator[TextExample]:
    """``read_examples`` lazily: CSV, TSV and JSONL are streamed record by record (bounded
    memory; UTF-8 unless ``encoding`` is given, as ``stream_lines``); Financial PhraseBank
    and SST files (small, fixed datasets) are read whole."""
    source = str(path)
    by_name = format in FORMATS or _base_suffix(path) in _SUFFIX_FORMATS
    fmt = _resolve_format(path, format, "", FORMATS) if by_name else None
    if fmt not in ("csv", "tsv", "jsonl"):
        yield from read_examples(path, format=format, text_column=text_column,
                                 label_column=label_column, encoding=encoding,
                                 require_label=require_label)
        return
    lines = stream_lines(path, encoding)
    yield from _non_empty(
        _read_delimited(lines, source, fmt, text_column, label_column, require_label)
        if fmt in ("csv", "tsv") else
        _read_jsonl(lines, source, text_column, label_column, require_label), source)


def _non_empty(rows: Iterable[Any], source: str) -> Iterator[Any]:
    """The rows, then an error when there were none."""
    empty = True
    for row in rows:
        empty = False
        yield row
    if empty:
        raise AttnpredError("no examples in file", file=source)


def iter_texts(path: str | Path, *, format: str = "auto", text_column: str = "text",
               encoding: str | None = None) -> Iterator[tuple[int, str]]:
    """``(line, text)`` of an unlabelled file, read lazily with bounded memory (for files
    larger than memory): lines (.txt), CSV, TSV or JSONL, ``.gz`` read as a stream.

    Same checks and errors as ``read_texts``, except that a file which is not UTF-8 needs its
    ``encoding`` (the whole-file Latin-1 judgement of ``read_texts`` cannot be made on a
    stream).
    """
    if format == "lines" or (format == "auto" and _base_suffix(path) == ".txt"):
        yield from _non_empty(_numbered_lines(stream_lines(path, encoding)), str(path))
        return
    yield from ((e.line, e.text) for e in iter_examples(
        path, format=format, text_column=text_column, label_column="", encoding=encoding,
        require_label=False))


def stream_lines(path: str | Path, encoding: str | None = None) -> Iterator[str]:
    """The file's lines without line endings, decoded one at a time (``.gz`` streamed).

    Without ``encoding``, as ``decode_bytes`` judges a whole file: UTF-8; a line with a damaged
    byte among valid UTF-8 characters, or NUL bytes, is an error; a line that is plain 8-bit
    text is read as Latin-1 with one ``TextEncodingWarning`` naming it.

    Raises:
        AttnpredError: missing file, damaged gzip, or a line that does not decode (naming it).
    """
    path = Path(path)
    if not path.is_file():
        raise AttnpredError("file not found" if not path.exists() else "not a regular file",
                            file=path)
    opener = gzip.open if path.suffix == ".gz" else open
    warned = False
    try:
        with opener(path, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                if number == 1 and raw.startswith(b"\xef\xbb\xbf") and encoding is None:
                    raw = raw[3:]
                text, fallback = _decode_line(raw, encoding, path, number)
                if fallback and not warned:
                    import warnings
                    warnings.warn(TextEncodingWarning(
                        f"{path}:{number}: not valid UTF-8; read as latin-1. Pass the file's "
                        "encoding to choose another"), stacklevel=2)
                    warned = True
                yield text.rstrip("\n").rstrip("\r")
    except (OSError, EOFError, zlib.error) as exc:
        raise AttnpredError(f"cannot read file ({exc})", file=path) from None


def _decode_line(raw: bytes, encoding: str | None, path: Path,
                 number: int) -> tuple[str, bool]:
    """(text, whether it fell back to Latin-1)."""
    try:
        return raw.decode(encoding or "utf-8"), False
    except LookupError:
        raise AttnpredError(f"unknown text encoding {encoding!r}", file=path,
                            field="encoding") from None
    except UnicodeDecodeError as exc:
        if encoding is not None or b"\x00" in raw or _has_utf8_sequences(raw):
            what = "binary content" if b"\x00" in raw else exc.reason
            raise AttnpredError(f"cannot decode as {encoding or 'utf-8'} ({what}); fix the "
                                "line or pass the file's encoding", file=path, line=number,
                                field="encoding") from None
    return raw.decode("latin-1"), True


# ---- bytes to text ------------------------------------------------------------------------

def _read_text(path: str | Path, encoding: str | None) -> str:
    """Read the file (gunzipping ``.gz``) and decode it."""
    path = Path(path)
    if not path.exists():
        raise AttnpredError("file not found", file=path)
    if not path.is_file():
        raise AttnpredError("not a regular file", file=path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AttnpredError(f"cannot read file: {exc.strerror}", file=path) from None
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise AttnpredError(f"not a valid gzip file ({exc})", file=path) from None
    return decode_bytes(data, encoding, path)


class TextEncodingWarning(UserWarning):
    """A file was not UTF-8 and was read with another encoding (named in the message)."""


def decode_bytes(data: bytes, encoding: str | None, path: str | Path) -> str:
    """Decode a text file's bytes; never guess silently.

    With ``encoding`` the bytes must decode with it (an error names the first bad line).
    Without: UTF-16 by its BOM, else UTF-8. Bytes that are not text (NUL bytes, or no text
    encoding fits, as charset-normalizer judges) are an error; so is a UTF-8 file with a
    damaged byte (its other non-ASCII characters are valid UTF-8). Any other non-UTF-8 file is
    read as Latin-1 (every byte is a character; the Financial PhraseBank 50/66/75Agree files
    are Latin-1) with a ``TextEncodingWarning`` naming the encoding and the first line that is
    not UTF-8.

    Raises:
        AttnpredError: naming the file, the first offending line and the field 'encoding'.
    """
    if encoding is None and data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    if encoding is not None:
        try:
            return data.decode(encoding)
        except LookupError:
            raise AttnpredError(f"unknown text encoding {encoding!r}", file=path,
                                field="encoding") from None
        except UnicodeDecodeError as exc:
            raise AttnpredError(f"cannot decode as {encoding} ({exc.reason}); pass the file's "
                                "encoding", file=path, line=_line_of(data, exc.start),
                                field="encoding") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    line = _line_of(data, first_bad)
    if b"\x00" in data or not _looks_like_text(data):
        raise AttnpredError("not a text file (binary content)", file=path)
    if _has_utf8_sequences(data):
        raise AttnpredError(f"invalid UTF-8 byte 0x{data[first_bad]:02x} in a file that is "
                            "otherwise UTF-8 (damaged?); fix the line or pass the file's "
                            "encoding", file=path, line=line, field="encoding")
    import warnings
    warnings.warn(TextEncodingWarning(
        f"{path}:{line}: not valid UTF-8 (byte 0x{data[first_bad]:02x}); read as latin-1. "
        "Pass the file's encoding (--encoding) to choose another"), stacklevel=2)
    return data.decode("latin-1")


def _line_of(data: bytes, offset: int) -> int:
    return data[:offset].count(b"\n") + 1


def _has_utf8_sequences(data: bytes) -> bool:
    """True when the bytes hold well-formed multi-byte UTF-8 characters (a UTF-8 file)."""
    import re
    return re.search(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|"
                     rb"[\xf0-\xf4][\x80-\xbf]{3}", data) is not None


def _looks_like_text(data: bytes) -> bool:
    """charset-normalizer's verdict: some text encoding fits these bytes (else: binary).

    Used only for files that are not UTF-8 (a judgement no single decode can make).
    """
    from charset_normalizer import from_bytes
    return from_bytes(data[:65536]).best() is not None


# ---- format detection ---------------------------------------------------------------------

def _base_suffix(path: str | Path) -> str:
    """The suffix that names the format, ignoring a trailing ``.gz``."""
    path = Path(path)
    if path.suffix == ".gz":
        path = path.with_suffix("")
    return path.suffix.lower()


def _resolve_format(path: str | Path, format: str, text: str,
                    formats: tuple[str, ...]) -> str:
    """Return the format to read ``path`` with, detecting it when ``format == "auto"``."""
    if format in formats:
        return format
    if format != "auto":
        raise AttnpredError(f"unknown format {format!r}; expected one of "
                            f"{', '.join(('auto',) + formats)}", file=path, field="format")
    if Path(path).name.startswith("stsa."):
        return "sst"
    suffix = _base_suffix(path)
    if suffix in _SUFFIX_FORMATS:
        return _SUFFIX_FORMATS[suffix]
    if suffix == ".txt" and _looks_like_fpb(text):
        return "fpb"
    raise AttnpredError("cannot tell the format from the file name or content; pass format= "
                        f"one of {', '.join(formats)} (.csv, .tsv/.tab, .jsonl/.ndjson, "
                        "stsa.* for SST, .txt with 'sentence@label' lines for Financial "
                        "PhraseBank)", file=path, field="format")


def _looks_like_fpb(text: str) -> bool:
    """True when the first non-empty line is ``sentence@label`` with a PhraseBank label."""
    for _, line in _numbered_lines(text):
        return "@" in line and line.rsplit("@", 1)[1].strip() in FPB_LABELS
    return False


def _lines(text: str | Iterable[str]) -> Iterable[str]:
    return text.split("\n") if isinstance(text, str) else text


def _numbered_lines(text: str | Iterable[str]) -> Iterator[tuple[int, str]]:
    """Yield ``(1-based line number, stripped line)`` for every non-blank line."""
    for number, line in enumerate(_lines(text), start=1):
        line = line.strip()
        if line:
            yield number, line


def _require_text(value: str, source: str, line: int, field_name: str) -> str:
    """Strip ``value`` and reject it when empty."""
    value = value.strip()
    if not value:
        raise AttnpredError("empty text", file=source, line=line, field=field_name)
    return value


# ---- CSV / TSV ----------------------------------------------------------------------------

def _csv_rows(text: str | Iterable[str], source: str,
              fmt: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(start line, fields)`` for each non-blank record.

    TSV is read without quoting (IANA TSV: fields hold no tabs or newlines), so a stray
    quote in a sentence stays part of the text.
    """
    if fmt == "tsv":
        reader = csv.reader(_lines(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(_keep_newlines(text))
    start = 1
    try:
        for row in reader:
            if row and not (len(row) == 1 and not row[0].strip()):
                yield start, row
            start = reader.line_num + 1
    except csv.Error as exc:
        raise AttnpredError(f"malformed {fmt.upper()} ({exc})", file=source,
                            line=start) from None


def _keep_newlines(text: str | Iterable[str]) -> Iterator[str]:
    """Lines with their ``\\n`` kept, as the csv module needs for quoted newlines."""
    for line in _lines(text):
        yield line + "\n"


def _read_delimited(text: str | Iterable[str], source: str, fmt: str, text_column: str,
                    label_column: str, require_label: bool) -> Iterator[TextExample]:
    """Read CSV or TSV with a header row (lazily, record by record)."""
    rows = _csv_rows(text, source, fmt)
    first = next(rows, None)
    if first is None:
        raise AttnpredError("no examples in file (no header row)", file=source)
    header = [name.strip() for name in first[1]]
    _check_header(header, source, first[0], text_column, label_column, require_label)
    for line, row in rows:
        if len(row) != len(header):
            raise AttnpredError(f"expected {len(header)} fields (header: {header}), got "
                                f"{len(row)}", file=source, line=line)
        record = dict(zip(header, row))
        yield _example_from_record(record, source, line, text_column, label_column,
                                   require_label)


def _check_header(header: list[str], source: str, line: int, text_column: str,
                  label_column: str, require_label: bool) -> None:
    """Reject duplicate names and missing text (or required label) columns."""
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise AttnpredError(f"duplicate column name(s) {duplicates} in the header",
                            file=source, line=line, field=duplicates[0])
    needed = [text_column] + ([label_column] if require_label else [])
    for name in needed:
        if name not in header:
            raise AttnpredError(f"column not found; the header has {header}", file=source,
                                line=line, field=name)


# ---- JSONL --------------------------------------------------------------------------------

def json_records(text: str | Iterable[str],
                 source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(1-based line number, object)`` for each non-blank line of JSONL text.

    Raises:
        AttnpredError: naming ``source`` and the line, for invalid JSON or a non-object.
    """
    for line, raw in _numbered_lines(text):
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)[:80]
            raise AttnpredError(f"invalid JSON ({reason})", file=source, line=line) from None
        if not isinstance(record, dict):
            raise AttnpredError(f"expected a JSON object, got {type(record).__name__}",
                                file=source, line=line)
        yield line, record


def _read_jsonl(text: str | Iterable[str], source: str, text_column: str, label_column: str,
                require_label: bool) -> Iterator[TextExample]:
    """Read one JSON object per line (lazily); blank lines are skipped."""
    for line, record in json_records(text, source):
        yield _example_from_record(record, source, line, text_column, label_column,
                                   require_label)


def _example_from_record(record: dict[str, Any], source: str, line: int, text_column: str,
                         label_column: str, require_label: bool) -> TextExample:
    """Build a TextExample from one CSV row or JSON object."""
    if text_column not in record:
        raise AttnpredError(f"key not found; the record has {sorted(record)}", file=source,
                            line=line, field=text_column)
    value = record[text_column]
    if not isinstance(value, str):
        raise AttnpredError(f"expected a string, got {type(value).__name__}", file=source,
                            line=line, field=text_column)
    text = _require_text(value, source, line, text_column)
    label = _label_value(record.get(label_column), source, line, label_column, require_label)
    extra = {k: v for k, v in record.items() if k not in (text_column, label_column)}
    return TextExample(text=text, label=label, line=line, source=source, extra=extra)


def _label_value(value: Any, source: str, line: int, label_column: str,
                 require_label: bool) -> str | None:
    """A label as a string (JSON integers become strings), or None when allowed."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if value is not None and not isinstance(value, str):
        raise AttnpredError(f"expected a string or integer label, got "
                            f"{type(value).__name__}", file=source, line=line,
                            field=label_column)
    label = value.strip() if value is not None else ""
    if label:
        return label
    if require_label:
        raise AttnpredError("missing or empty label", file=source, line=line,
                            field=label_column)
    return None


# ---- Financial PhraseBank and SST ---------------------------------------------------------

def _read_fpb(text: str, source: str) -> list[TextExample]:
    """Read ``sentence@label`` lines, splitting on the last '@' (sentences may hold '@')."""
    examples = []
    for line, raw in _numbered_lines(text):
        if "@" not in raw:
            raise AttnpredError("expected 'sentence@label' (no '@' found)", file=source,
                                line=line)
        sentence, label = raw.rsplit("@", 1)
        label = label.strip()
        if label not in FPB_LABELS:
            raise AttnpredError(f"unknown label {label!r}; expected one of "
                                f"{list(FPB_LABELS)}", file=source, line=line, field="label")
        examples.append(TextExample(text=_require_text(sentence, source, line, "text"),
                                    label=label, line=line, source=source, extra={}))
    return examples


def _read_sst(text: str, source: str) -> list[TextExample]:
    """Read harvardnlp SST lines: ``<integer label> <sentence>``."""
    examples = []
    for line, raw in _numbered_lines(text):
        parts = raw.split(maxsplit=1)
        if len(parts) < 2 or not (parts[0].isascii() and parts[0].isdigit()):
            raise AttnpredError("expected '<integer label> <sentence>'", file=source,
                                line=line)
        examples.append(TextExample(text=parts[1].strip(), label=parts[0], line=line,
                                    source=source, extra={}))
    return examples
