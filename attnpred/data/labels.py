"""Label vocabulary: label strings <-> class indices, saved beside the model as JSON."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from attnpred.errors import AttnpredError
from attnpred.io import atomic_write_text, read_json


class LabelVocab:
    """An ordered list of unique label strings; a label's position is its class index.

    Args:
        labels: the labels in index order; unique, non-empty strings.

    Raises:
        AttnpredError: no labels, a non-string or empty label, or a repeated label.
    """

    def __init__(self, labels: list[str]) -> None:
        labels = list(labels)
        if not labels:
            raise AttnpredError("a label vocabulary needs at least one label", field="label")
        for label in labels:
            if not isinstance(label, str) or not label:
                raise AttnpredError(f"labels must be non-empty strings, got {label!r}",
                                    field="label")
        repeated = sorted({x for x in labels if labels.count(x) > 1})
        if repeated:
            raise AttnpredError(f"repeated label(s) {repeated}", field="label")
        self._labels = labels
        self._index = {label: i for i, label in enumerate(labels)}

    @classmethod
    def build(cls, labels: Iterable[str | None]) -> LabelVocab:
        """Collect the unique labels, sorted (numerically when all are integers).

        ``None`` (an unlabelled example) is skipped. Numeric order keeps SST's 0..4 and any
        "10" after "9".
        """
        unique = {label for label in labels if label is not None}
        if unique and all(label.isascii() and label.isdigit() for label in unique):
            return cls(sorted(unique, key=int))
        return cls(sorted(unique))

    @property
    def labels(self) -> list[str]:
        """The labels in index order (a copy)."""
        return list(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def __contains__(self, label: object) -> bool:
        return label in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelVocab) and other._labels == self._labels

    def __repr__(self) -> str:
        return f"LabelVocab({self._labels!r})"

    def encode(self, label: str, *, file: str | Path | None = None,
               line: int | None = None) -> int:
        """Return the index of ``label``.

        Raises:
            AttnpredError: unknown label, naming file, line, the label and the known ones.
        """
        try:
            return self._index[label]
        except (KeyError, TypeError):  # TypeError: an unhashable value
            raise AttnpredError(f"unknown label {label!r}; known labels: {self._labels}",
                                file=file, line=line, field="label") from None

    def decode(self, idx: int) -> str:
        """Return the label at class index ``idx``.

        Raises:
            IndexError: ``idx`` outside ``0 .. len-1`` (a model/vocabulary mismatch, a bug).
        """
        if not 0 <= idx < len(self._labels):
            raise IndexError(f"class index {idx} out of range for {len(self)} labels")
        return self._labels[idx]

    def to_json(self) -> dict[str, Any]:
        """Return ``{"labels": [...]}``."""
        return {"labels": list(self._labels)}

    @classmethod
    def from_json(cls, d: Any, *, source: str | None = None) -> LabelVocab:
        """Build from ``to_json`` output.

        Raises:
            AttnpredError: not an object with a ``labels`` list of unique strings.
        """
        if not isinstance(d, dict) or not isinstance(d.get("labels"), list):
            raise AttnpredError('expected {"labels": [...]}', file=source, field="labels")
        try:
            return cls(d["labels"])
        except AttnpredError as exc:
            raise AttnpredError(exc.message, file=source, field=exc.field) from None

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as JSON, atomically."""
        atomic_write_text(path, json.dumps(self.to_json(), ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> LabelVocab:
        """Read a vocabulary written by ``save``.

        Raises:
            AttnpredError: missing file, invalid JSON or a malformed vocabulary.
        """
        return cls.from_json(read_json(path, "label vocabulary file"), source=str(path))
