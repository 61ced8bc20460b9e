"""Readers for token-tagged text: CoNLL (word<TAB>tag) and CoNLL-U (UPOS or XPOS column).

Every word keeps the file and line it came from, so a malformed row is one error naming
``file:line`` and an illegal BIO/BIOES transition in gold data is a warning naming it.
A CoNLL-U ``.tar.gz`` of per-document files (UD EWT's train split) is read in place: in the
order of its ``file-lists/files.*`` list when it holds one, else in member-name order.
"""
from __future__ import annotations

import tarfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterable, Iterator, Sequence

from attnpred.errors import AttnpredError

FORMATS = ("auto", "conll", "conllu")
SCHEMES = ("auto", "bio", "bioes", "none")
CONLLU_COLUMNS = {"upos": 3, "xpos": 4}


class TagSchemeWarning(UserWarning):
    """An illegal BIO/BIOES transition in a gold file (e.g. ``I-loc`` after ``O``)."""


@dataclass
class TaggedSentence:
    """One sentence: its words, their tags and where each word was read.

    Attributes:
        words: the tokens, in order.
        tags: one tag per word (empty for unlabelled input).
        source: the file (``archive.tar.gz:member`` inside an archive).
        lines: the 1-based line of each word in ``source``.
    """

    words: list[str]
    tags: list[str] = field(default_factory=list)
    source: str = ""
    lines: list[int] = field(default_factory=list)

    @property
    def line(self) -> int | None:
        """The line of the first word."""
        return self.lines[0] if self.lines else None


def detect_format(path: str | Path, fmt: str = "auto") -> str:
    """'conllu' for ``.conllu`` files and ``.tar.gz`` archives, else 'conll'."""
    if fmt not in FORMATS:
        raise AttnpredError(f"unknown format {fmt!r}; expected one of {FORMATS}", field="format")
    if fmt != "auto":
        return fmt
    name = Path(path).name.lower()
    return "conllu" if name.endswith((".conllu", ".tar.gz", ".tgz")) else "conll"


def read_tagged(path: str | Path, fmt: str = "auto", column: str = "upos",
                encoding: str = "utf-8") -> list[TaggedSentence]:
    """Read a tagged file (CoNLL or CoNLL-U, by ``fmt`` or the file name).

    Raises:
        AttnpredError: a missing file or a malformed row (naming file and line).
    """
    path = Path(path)
    if not path.is_file():
        raise AttnpredError("file not found", file=path)
    if detect_format(path, fmt) == "conllu":
        return read_conllu(path, column=column, encoding=encoding)
    return read_conll(path, encoding=encoding)


def _decoded_lines(raw: bytes, source: str, encoding: str) -> list[str]:
    try:
        return raw.decode(encoding).splitlines()
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise AttnpredError(f"not valid {encoding} text ({exc.reason})", file=source,
                            line=line) from None


def read_conll(path: str | Path, encoding: str = "utf-8") -> list[TaggedSentence]:
    """CoNLL: one ``word<TAB>tag`` per line (more columns allowed: the tag is the last);
    blank or TAB-only lines end a sentence; ``-DOCSTART-`` lines are skipped.

    Raises:
        AttnpredError: a row without a tag column, naming file and line.
    """
    source = str(path)
    lines = _decoded_lines(Path(path).read_bytes(), source, encoding)
    sentences, cur = [], TaggedSentence([], [], source, [])
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            if cur.words:
                sentences.append(cur)
            cur = TaggedSentence([], [], source, [])
            continue
        cols = raw.split("\t") if "\t" in raw else raw.split()
        cols = [c.strip() for c in cols]
        if cols[0] == "-DOCSTART-":
            continue
        if len(cols) < 2 or not cols[0] or not cols[-1]:
            raise AttnpredError(f"expected 'word<TAB>tag', got {raw[:60]!r}", file=source,
                                line=number)
        cur.words.append(cols[0])
        cur.tags.append(cols[-1])
        cur.lines.append(number)
    if cur.words:
        sentences.append(cur)
    return sentences


def read_conllu(path: str | Path, column: str = "upos",
                encoding: str = "utf-8") -> list[TaggedSentence]:
    """CoNLL-U (a file, or a ``.tar.gz`` of files): FORM and the UPOS (or XPOS) column;
    multi-word token ranges (``3-4``) and empty nodes (``5.1``) are skipped.

    Raises:
        AttnpredError: a row without 10 columns or with a bad ID, naming file and line.
    """
    if column not in CONLLU_COLUMNS:
        raise AttnpredError(f"unknown CoNLL-U column {column!r}; expected one of "
                            f"{sorted(CONLLU_COLUMNS)}", field="column")
    path = Path(path)
    if path.name.lower().endswith((".tar.gz", ".tgz")):
        members = _archive_members(path)
    else:
        members = [(str(path), path.read_bytes())]
    out = []
    for source, raw in members:
        out += _parse_conllu(_decoded_lines(raw, source, encoding), source,
                             CONLLU_COLUMNS[column])
    return out


def _archive_members(path: Path) -> Iterator[tuple[str, bytes]]:
    """(``archive:member``, bytes) for the archive's CoNLL-U files, in the listed order."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            files = {m.name: m for m in tar.getmembers() if m.isfile()}
            order = _listed_order(tar, files) or sorted(n for n in files
                                                        if n.endswith(".conllu"))
            if not order:
                raise AttnpredError("archive holds no .conllu files", file=path)
            for name in order:
                yield f"{path}:{name}", tar.extractfile(files[name]).read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise AttnpredError(f"cannot read the archive ({exc})", file=path) from None


def _listed_order(tar: tarfile.TarFile, files: dict) -> list[str]:
    """The members named by the archive's one ``file-lists/files.*`` list (UD's layout:
    names relative to the ``sources/`` folder beside it), or [] without a single list."""
    lists = [n for n in files if PurePosixPath(n).parent.name == "file-lists"]
    if len(lists) != 1:
        return []
    root = PurePosixPath(lists[0]).parent.parent / "sources"
    text = tar.extractfile(files[lists[0]]).read().decode("utf-8")
    order = [str(root / n.strip()) for n in text.splitlines() if n.strip()]
    missing = [n for n in order if n not in files]
    if missing:
        raise AttnpredError(f"{len(missing)} listed file(s) missing from the archive, e.g. "
                            f"{missing[0]}", file=f"{tar.name}:{lists[0]}")
    return order


def _parse_conllu(lines: list[str], source: str, col: int) -> list[TaggedSentence]:
    sentences, cur = [], TaggedSentence([], [], source, [])
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            if cur.words:
                sentences.append(cur)
            cur = TaggedSentence([], [], source, [])
            continue
        if raw.startswith("#"):
            continue
        cols = raw.split("\t")
        if len(cols) != 10:
            raise AttnpredError(f"expected 10 tab-separated CoNLL-U columns, got {len(cols)}",
                                file=source, line=number)
        ident = cols[0]
        if "-" in ident or "." in ident:  # multi-word token range or empty node
            continue
        if not ident.isdigit():
            raise AttnpredError(f"bad word ID {ident!r} (expected an integer, a range 3-4 or "
                                "an empty node 5.1)", file=source, line=number, field="ID")
        if not cols[1] or not cols[col] or cols[col] == "_":
            raise AttnpredError("missing word form or tag", file=source, line=number)
        cur.words.append(cols[1])
        cur.tags.append(cols[col])
        cur.lines.append(number)
    if cur.words:
        sentences.append(cur)
    return sentences


def read_words(path: str | Path, fmt: str = "auto",
               encoding: str = "utf-8") -> list[TaggedSentence]:
    """Untagged input for prediction: a ``.txt`` file (one sentence per line, words split on
    whitespace), or CoNLL / CoNLL-U (the word column is used, tags ignored; a CoNLL file may
    hold only one word per line)."""
    return list(iter_words(path, fmt, encoding))


def iter_words(path: str | Path, fmt: str = "auto",
               encoding: str = "utf-8") -> Iterator[TaggedSentence]:
    """``read_words`` one sentence at a time: .txt and CoNLL files are streamed line by line
    (bounded memory); CoNLL-U is read whole."""
    from attnpred.data.text import stream_lines
    path = Path(path)
    if not path.is_file():
        raise AttnpredError("file not found", file=path)
    if fmt == "txt" or (fmt == "auto" and path.suffix.lower() == ".txt"):
        for n, line in enumerate(stream_lines(path, encoding), 1):
            if line.strip():
                yield TaggedSentence(line.split(), [], str(path), [n] * len(line.split()))
        return
    if detect_format(path, fmt) == "conllu":
        yield from (TaggedSentence(s.words, [], s.source, s.lines) for s in read_conllu(path))
        return
    cur = TaggedSentence([], [], str(path), [])
    for number, raw in enumerate(stream_lines(path, encoding), 1):
        word = (raw.split("\t")[0] if "\t" in raw else raw.split()[0]) if raw.strip() else ""
        if not word.strip():
            if cur.words:
                yield cur
            cur = TaggedSentence([], [], str(path), [])
        elif word != "-DOCSTART-":
            cur.words.append(word.strip())
            cur.lines.append(number)
    if cur.words:
        yield cur


def to_conll(words: list[list[str]], tags: list[list[str]]) -> str:
    """CoNLL text: ``word<TAB>tag`` lines, a blank line after each sentence."""
    return "".join("".join(f"{w}\t{t}\n" for w, t in zip(ws, ts)) + "\n"
                   for ws, ts in zip(words, tags))


# ---- tag schemes ----------------------------------------------------------------------

def detect_scheme(tags: Iterable[str]) -> str:
    """'bioes' when an E- or S- tag occurs, 'bio' when B- or I- tags do, else 'none'."""
    prefixes = {t.split("-", 1)[0] for t in tags if "-" in t}
    if prefixes & {"E", "S"}:
        return "bioes"
    return "bio" if prefixes & {"B", "I"} else "none"


def _split(tag: str) -> tuple[str, str]:
    if tag == "O":
        return "O", ""
    prefix, _, kind = tag.partition("-")
    return prefix, kind


def transition_allowed(prev: str | None, cur: str | None, scheme: str) -> bool:
    """Whether tag ``cur`` may follow tag ``prev`` under ``scheme`` (None: sentence boundary;
    any pair is allowed under 'none')."""
    if scheme not in ("bio", "bioes"):
        return True
    pp, pk = _split(prev) if prev is not None else ("O", "")
    cp, ck = _split(cur) if cur is not None else ("O", "")
    opened = pp in ("B", "I") and scheme == "bioes"
    if opened and not (cp in ("I", "E") and ck == pk):
        return False
    if cp == "I" or (cp == "E" and scheme == "bioes"):
        return pp in ("B", "I") and pk == ck
    return True


def illegal_transitions(tags: list[str], scheme: str) -> list[tuple[int, str]]:
    """(position, reason) for each tag that breaks ``scheme`` ('bio' or 'bioes'): a tag
    outside the scheme, or a transition ``transition_allowed`` refuses (blamed on the later
    tag; on the last one for a sentence that may not end there)."""
    allowed = set("BI") if scheme == "bio" else set("BIES")
    problems, clean = [], []
    for i, tag in enumerate(tags):
        p, k = _split(tag)
        if p != "O" and (p not in allowed or not k):
            problems.append((i, f"tag {tag!r} is not {scheme.upper()} (expected O or "
                                f"{'/'.join(sorted(allowed))}-TYPE)"))
            tag = "O"
        clean.append(tag)
    for i in range(len(clean) + 1):
        prev = clean[i - 1] if i else None
        cur = clean[i] if i < len(clean) else None
        if not transition_allowed(prev, cur, scheme):
            what = "the sentence end" if cur is None else repr(cur)
            before = "the sentence start" if prev is None else repr(prev)
            problems.append((i if cur is not None else i - 1, f"{what} cannot follow {before}"))
    return sorted(problems, key=lambda pr: pr[0])


def validate_scheme(sentences: Iterable[TaggedSentence], scheme: str = "auto",
                    limit: int = 20) -> int:
    """Warn (``TagSchemeWarning``, naming file:line) about illegal transitions in gold tags.

    Args:
        sentences: tagged sentences.
        scheme: 'bio', 'bioes', 'none' (no check) or 'auto' (detected from the tags).
        limit: warn individually about this many; one more warning gives the total.
    Returns:
        The number of illegal transitions found.
    """
    sentences = list(sentences)
    if scheme == "auto":
        scheme = detect_scheme(t for s in sentences for t in s.tags)
    if scheme == "none":
        return 0
    count = 0
    for s in sentences:
        for pos, reason in illegal_transitions(s.tags, scheme):
            count += 1
            if count <= limit:
                line = s.lines[pos] if pos < len(s.lines) else s.line
                warnings.warn(TagSchemeWarning(f"{s.source}:{line}: {reason}"), stacklevel=2)
    if count > limit:
        warnings.warn(TagSchemeWarning(f"{count} illegal {scheme.upper()} transitions in all "
                                       f"(first {limit} shown)"), stacklevel=2)
    return count



def check_known_tags(sentences: Sequence[TaggedSentence], known: Iterable[str]) -> None:
    """Raise at the first gold tag outside ``known`` (the tags a model was trained on),
    naming its file and line: a model can never predict it, so its scores would mislead."""
    known = set(known)
    for s in sentences:
        for tag, line in zip(s.tags, s.lines):
            if tag not in known:
                raise AttnpredError(f"unknown tag {tag!r}; the model knows {sorted(known)}",
                                    file=s.source, line=line, field="tag")
