"""Gold attention: human rationales over whitespace words, and their sub-word distributions.

Sources:
- JSONL: ``text`` with a 0/1 list over ``text.split()`` (or one list per annotator), or
  ``tokens`` with such a list, or ``[start, end)`` character spans over ``text``.
- Yelp-HAT CSV (Sen et al. 2020): one row per annotator; every whitespace word of
  ``Input.text`` is a ``<span>`` of ``Answer.html_output`` and marked words carry
  ``class="active"``. Rows of the same review are grouped.

A rationale keeps every annotator's mask; ``reference(min_votes)`` gives the words marked by
at least that share of them (0.5: the Yelp-HAT reference map), ``union()`` those marked by any.
Words <-> sub-words: ``words_to_subwords`` spreads word values over sub-word tokens;
``subwords_to_words`` sums sub-word values back to words.
"""
from __future__ import annotations

import csv
import html
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import torch
from torch import Tensor

from attnpred.data.encoding import word_attention as subwords_to_words
from attnpred.data.text import TextExample, json_records
from attnpred.errors import AttnpredError
from attnpred.supervision.config import SupervisionConfig

__all__ = ["Rationale", "mask_from_spans", "masks_from_record", "read_rationales",
           "read_rationale_jsonl", "read_yelp_hat", "words_to_subwords", "subwords_to_words",
           "gold_distribution", "gold_tensors", "example_rationales", "rationale_records"]

YELP_TEXT, YELP_LABEL, YELP_HTML = "Input.text", "Input.label", "Answer.html_output"
_SPAN = re.compile(r"<span([^>]*)>(.*?)</span>", re.S)
_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"\S+")


@dataclass
class Rationale:
    """Human rationales for one text.

    Attributes:
        text: the text; its words are ``text.split()``.
        masks: one 0/1 list per annotator, each as long as the word list.
        label: the text's label, when the source has one.
        source, line: where it was read (1-based line of the record).
    """

    text: str
    masks: list[list[int]]
    label: str | None = None
    source: str = ""
    line: int = 0
    words: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.words = self.text.split()

    @property
    def votes(self) -> list[float]:
        """Share of annotators that marked each word."""
        n = len(self.masks)
        return [sum(col) / n for col in zip(*self.masks)] if n else [0.0] * len(self.words)

    def reference(self, min_votes: float = 0.5) -> list[int]:
        """Words marked by at least ``min_votes`` of the annotators (0.5: at least half)."""
        return [int(v >= min_votes - 1e-9) for v in self.votes]

    def union(self) -> list[int]:
        """Words marked by any annotator."""
        return [int(v > 0) for v in self.votes]


# ---- parsing ----------------------------------------------------------------------------

def mask_from_spans(text: str, spans: Any, *, source: str = "", line: int | None = None,
                    key: str = "rationale_spans") -> list[int]:
    """0/1 per whitespace word of ``text``: 1 when the word overlaps a [start, end) span."""
    if not isinstance(spans, list):
        raise AttnpredError("expected a list of [start, end] character spans", file=source,
                            line=line, field=key)
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    mask = [0] * len(words)
    for span in spans:
        if (not isinstance(span, (list, tuple)) or len(span) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) for x in span)):
            raise AttnpredError(f"span {span!r} is not [start, end] with integer offsets",
                                file=source, line=line, field=key)
        start, end = span
        if not 0 <= start < end <= len(text):
            raise AttnpredError(f"span {span!r} is outside the text (length {len(text)}) or "
                                "empty", file=source, line=line, field=key)
        for i, (ws, we) in enumerate(words):
            if ws < end and start < we:
                mask[i] = 1
    return mask


def _as_masks(value: Any, n_words: int, source: str, line: int | None,
              key: str) -> list[list[int]]:
    """A 0/1 list, or a list of such lists (one per annotator), checked against the text."""
    masks = value if value and all(isinstance(v, list) for v in value) else [value]
    for mask in masks:
        if not isinstance(mask, list) or not all(isinstance(v, (int, float)) and v in (0, 1)
                                                 for v in mask):
            raise AttnpredError("expected a list of 0/1 values (one per whitespace word), or "
                                "one such list per annotator", file=source, line=line, field=key)
        if len(mask) != n_words:
            raise AttnpredError(f"rationale mask has {len(mask)} values but the text has "
                                f"{n_words} whitespace words; the mask does not match its text",
                                file=source, line=line, field=key)
    return [[int(v) for v in mask] for mask in masks]


def masks_from_record(record: dict[str, Any], text: str, *, mask_key: str = "rationale",
                      spans_key: str = "rationale_spans", tokens_key: str = "tokens",
                      source: str = "", line: int | None = None) -> list[list[int]] | None:
    """The annotator masks a record carries for ``text``, or None when it carries none.

    Raises:
        AttnpredError: a mask whose length differs from the word count, tokens that are not
            ``text.split()``, or a span outside the text.
    """
    tokens = record.get(tokens_key)
    if tokens is not None and tokens != text.split():
        raise AttnpredError(f"'{tokens_key}' differ from the whitespace words of the text; "
                            "the mask does not match its text", file=source, line=line,
                            field=tokens_key)
    if record.get(mask_key) is not None:
        return _as_masks(record[mask_key], len(text.split()), source, line, mask_key)
    if record.get(spans_key) is not None:
        return [mask_from_spans(text, record[spans_key], source=source, line=line,
                                key=spans_key)]
    return None


def read_rationale_jsonl(path: str | Path, *, text_key: str = "text",
                         mask_key: str = "rationale", spans_key: str = "rationale_spans",
                         tokens_key: str = "tokens", label_key: str = "label") -> list[Rationale]:
    """Rationales from JSONL: ``text`` (or ``tokens``) plus a mask or character spans."""
    out = []
    source = str(path)
    for line, record in json_records(_read(path), source):
        text = record.get(text_key)
        if text is None and isinstance(record.get(tokens_key), list):
            text = " ".join(map(str, record[tokens_key]))
        if not isinstance(text, str) or not text.strip():
            raise AttnpredError(f"no text (key '{text_key}' or '{tokens_key}')", file=source,
                                line=line, field=text_key)
        masks = masks_from_record(record, text, mask_key=mask_key, spans_key=spans_key,
                                  tokens_key=tokens_key, source=source, line=line)
        if masks is None:
            raise AttnpredError(f"no rationale (key '{mask_key}' or '{spans_key}')",
                                file=source, line=line, field=mask_key)
        label = record.get(label_key)
        out.append(Rationale(text.strip(), masks, None if label is None else str(label),
                             source, line))
    if not out:
        raise AttnpredError("no rationales in file", file=source)
    return out


def _yelp_mask(html_output: str, words: list[str], source: str, line: int) -> list[int]:
    # inner tags (a browser extension of some annotators added <i> highlights) are dropped
    spans = [(attr, html.unescape(_TAG.sub("", tok))) for attr, tok in _SPAN.findall(html_output)]
    while spans and not spans[-1][1].strip():  # the page adds an empty span at the end
        spans.pop()
    if [tok for _, tok in spans] != words:
        raise AttnpredError(f"{len(spans)} highlighted spans do not match the {len(words)} "
                            "whitespace words of the text; the mask does not match its text",
                            file=source, line=line, field=YELP_HTML)
    return [int('class="active"' in attr) for attr, _ in spans]


def read_yelp_hat(paths: str | Path | Iterable[str | Path]) -> list[Rationale]:
    """Yelp-HAT reviews with one mask per annotator, in order of first appearance.

    Raises:
        AttnpredError: a missing file or column, or a highlight map that does not match the
            review's words.
    """
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    by_text: dict[str, Rationale] = {}
    for path in paths:
        source = str(path)
        reader = csv.DictReader(_read(path).splitlines(keepends=True))
        missing = [c for c in (YELP_TEXT, YELP_LABEL, YELP_HTML)
                   if c not in (reader.fieldnames or [])]
        if missing:
            raise AttnpredError(f"not a Yelp-HAT file: missing column(s) {missing}",
                                file=source, field=missing[0])
        start = 2
        for row in reader:
            text = row[YELP_TEXT].strip()
            mask = _yelp_mask(row[YELP_HTML], text.split(), source, start)
            if text not in by_text:
                by_text[text] = Rationale(text, [], row[YELP_LABEL].strip(), source, start)
            by_text[text].masks.append(mask)
            start = reader.line_num + 1
    return list(by_text.values())


def read_rationales(path: str | Path, **keys: str) -> list[Rationale]:
    """Rationales from a Yelp-HAT CSV (by its header) or a JSONL file."""
    text = _read(path)
    if text.lstrip().startswith("{"):
        return read_rationale_jsonl(path, **keys)
    if YELP_HTML in text.split("\n", 1)[0]:
        return read_yelp_hat(path)
    raise AttnpredError("unknown rationale format: expected JSONL records or a Yelp-HAT CSV "
                        f"(with an '{YELP_HTML}' column)", file=path)


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AttnpredError("file not found", file=path) from None
    except UnicodeDecodeError:
        raise AttnpredError("not UTF-8 text", file=path) from None


# ---- words <-> sub-words ------------------------------------------------------------------

def words_to_subwords(values: Sequence[float], word_ids: Sequence[int | None],
                      split: bool = True) -> list[float]:
    """Spread per-word values over sub-word tokens (special tokens get 0).

    Args:
        values: one value per whitespace word.
        word_ids: the word of each token (None for special tokens), as from the tokenizer.
        split: divide a word's value evenly over its sub-words (a distribution keeps its sum),
            or copy it to each (a mask stays 0/1).
    """
    pieces: dict[int, int] = {}
    for w in word_ids:
        if w is not None:
            pieces[w] = pieces.get(w, 0) + 1
    return [0.0 if w is None else float(values[w]) / (pieces[w] if split else 1)
            for w in word_ids]


def gold_distribution(mask: Sequence[float], word_ids: Sequence[int | None]) -> list[float] | None:
    """Sub-word gold attention: uniform over the marked words that fit, split over sub-words.

    Returns None when no marked word is among the tokens (none marked, or all truncated).
    """
    visible = {w for w in word_ids if w is not None}
    kept = [float(m) if i in visible else 0.0 for i, m in enumerate(mask)]
    total = sum(kept)
    if total <= 0:
        return None
    return words_to_subwords([k / total for k in kept], word_ids, split=True)


# ---- rationales for a data set ------------------------------------------------------------

def example_rationales(examples: Sequence[TextExample],
                       cfg: SupervisionConfig) -> list[Rationale | None]:
    """The rationale of each example: from its own record, else from ``cfg.rationales``."""
    by_text: dict[str, Rationale] = {}
    if cfg.rationales:
        by_text = {r.text: r for r in read_rationales(cfg.rationales, mask_key=cfg.mask_key,
                                                      spans_key=cfg.spans_key)}
    out: list[Rationale | None] = []
    for ex in examples:
        masks = masks_from_record(ex.extra, ex.text, mask_key=cfg.mask_key,
                                  spans_key=cfg.spans_key, source=ex.source, line=ex.line)
        out.append(Rationale(ex.text, masks, ex.label, ex.source, ex.line)
                   if masks is not None else by_text.get(ex.text))
    return out


def rationale_records(examples: Sequence[TextExample],
                      cfg: SupervisionConfig) -> list[list[int] | None]:
    """Reference masks (``cfg.min_votes``) for training, keeping a seeded ``cfg.fraction``.

    The draw is over the examples that have a rationale, so fraction 0.25 keeps a quarter of
    them whatever share of the data carries rationales.
    """
    masks = [None if r is None else r.reference(cfg.min_votes)
             for r in example_rationales(examples, cfg)]
    have = [i for i, m in enumerate(masks) if m is not None]
    keep = set(random.Random(cfg.fraction_seed).sample(have, round(cfg.fraction * len(have))))
    return [m if i in keep else None for i, m in enumerate(masks)]


def gold_tensors(masks: Sequence[Sequence[float] | None],
                 word_ids: Sequence[Sequence[int | None]], length: int) -> dict[str, Tensor]:
    """Batch keys for ``AttentionSupervised`` from word-level masks (None: no rationale).

    Returns:
        ``gold_attention`` (B, T) float, ``has_gold`` (B,) bool and ``word_mask`` (B, T) bool
        (True for tokens that belong to a word).
    """
    gold = torch.zeros(len(masks), length)
    has = torch.zeros(len(masks), dtype=torch.bool)
    words = torch.zeros(len(masks), length, dtype=torch.bool)
    for b, (mask, ids) in enumerate(zip(masks, word_ids)):
        words[b, : len(ids)] = torch.tensor([w is not None for w in ids], dtype=torch.bool)
        dist = None if mask is None else gold_distribution(mask, ids)
        if dist is not None:
            gold[b, : len(dist)] = torch.tensor(dist)
            has[b] = True
    return {"gold_attention": gold, "has_gold": has, "word_mask": words}
