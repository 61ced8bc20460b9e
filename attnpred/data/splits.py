"""Seeded, stratified train/dev/test splits stored as index lists, and de-duplication.

The FinBERT protocol for Financial PhraseBank: drop exact duplicate sentences, hold out 20%
as test, then 20% of the rest as dev, stratified by label, with the seed recorded.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.model_selection import train_test_split

from attnpred.data.text import TextExample
from attnpred.errors import AttnpredError
from attnpred.io import atomic_write_text, read_json

PARTS = ("train", "dev", "test")


@dataclass
class Split:
    """Indices into an example list for each part; the parts are disjoint and sorted.

    Attributes:
        train: indices of training examples.
        dev: indices of development (validation) examples; tune on these only.
        test: indices of held-out test examples.
        seed: the seed the split was drawn with.
    """

    train: list[int]
    dev: list[int]
    test: list[int]
    seed: int

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return {"seed": self.seed, "train": list(self.train), "dev": list(self.dev),
                "test": list(self.test)}

    @classmethod
    def from_json(cls, d: Any, *, source: str | None = None) -> Split:
        """Build a Split from ``to_json`` output, checking types and disjointness.

        Raises:
            AttnpredError: missing keys, non-integer indices, or overlapping parts.
        """
        if not isinstance(d, dict):
            raise AttnpredError(f"expected a JSON object, got {type(d).__name__}", file=source)
        for key in ("seed",) + PARTS:
            if key not in d:
                raise AttnpredError("key not found in split", file=source, field=key)
        if not _is_int(d["seed"]):
            raise AttnpredError("expected an integer", file=source, field="seed")
        for part in PARTS:
            if not isinstance(d[part], list) or not all(_is_int(i) and i >= 0 for i in d[part]):
                raise AttnpredError("expected a list of non-negative integers", file=source,
                                    field=part)
        split = cls(train=d["train"], dev=d["dev"], test=d["test"], seed=d["seed"])
        split._check_disjoint(source)
        return split

    def check(self, n: int, *, source: str | None = None) -> None:
        """Raise AttnpredError unless every index addresses one of ``n`` examples."""
        top = max((max(ix) for ix in (self.train, self.dev, self.test) if ix), default=-1)
        if top >= n:
            raise AttnpredError(f"split refers to example {top} but the data has only {n} "
                                "examples; was it made for another file?", file=source)

    def _check_disjoint(self, source: str | None) -> None:
        counts = Counter(self.train + self.dev + self.test)
        shared = sorted(i for i, c in counts.items() if c > 1)
        if shared:
            raise AttnpredError(f"split parts overlap at indices {shared[:10]}", file=source)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def dedupe(examples: list[TextExample]) -> list[TextExample]:
    """Drop examples whose text exactly repeats an earlier one (keep the first).

    Duplicates left in would leak test sentences into training.
    """
    seen: set[str] = set()
    kept = []
    for ex in examples:
        if ex.text not in seen:
            seen.add(ex.text)
            kept.append(ex)
    return kept


def stratified_split(labels: list[str], *, test: float = 0.2, dev: float = 0.2,
                     seed: int = 13) -> Split:
    """Split ``range(len(labels))`` into train/dev/test, stratified by label.

    Args:
        labels: one label per example.
        test: fraction of all examples held out for test (0 for none).
        dev: fraction of the examples left after test that go to dev (0 for none).
        seed: random seed; the same labels and seed give the same split.

    Returns:
        The split, each part sorted. When a class is too small to be spread over both sides
        (fewer than 2 members, or fewer held-out slots than classes), that cut is drawn
        unstratified instead of failing.

    Raises:
        AttnpredError: no labels, a fraction outside [0, 1), or too few examples to cut.
    """
    if not labels:
        raise AttnpredError("no examples to split")
    for name, frac in (("test", test), ("dev", dev)):
        if not 0.0 <= frac < 1.0:
            raise AttnpredError(f"fraction must be in [0, 1), got {frac}", field=name)
    rest, test_idx = _cut(list(range(len(labels))), labels, test, seed, "test")
    train_idx, dev_idx = _cut(rest, labels, dev, seed, "dev")
    return Split(train=sorted(train_idx), dev=sorted(dev_idx), test=sorted(test_idx),
                 seed=seed)


def _cut(indices: list[int], labels: list[str], frac: float, seed: int,
         name: str) -> tuple[list[int], list[int]]:
    """Cut ``frac`` of ``indices`` off (stratified when possible): (kept, cut)."""
    if frac == 0.0:
        return indices, []
    n = len(indices)
    n_cut = math.ceil(frac * n)  # sklearn's rounding for the held-out side
    if n_cut >= n:
        raise AttnpredError(f"cannot hold out {frac:.0%} of {n} examples and keep any for "
                            "training; use more data or a smaller fraction", field=name)
    sub_labels = [labels[i] for i in indices]
    counts = Counter(sub_labels)
    can_stratify = (min(counts.values()) >= 2 and n_cut >= len(counts)
                    and n - n_cut >= len(counts))
    kept, cut = train_test_split(indices, test_size=n_cut, random_state=seed,
                                 stratify=sub_labels if can_stratify else None)
    return list(kept), list(cut)


def save_split(split: Split, path: str | Path) -> None:
    """Write the split as JSON, atomically."""
    atomic_write_text(path, json.dumps(split.to_json()) + "\n")


def load_split(path: str | Path) -> Split:
    """Read a split written by ``save_split``.

    Raises:
        AttnpredError: missing file, invalid JSON or a malformed split.
    """
    return Split.from_json(read_json(path, "split file"), source=str(path))
