"""Text-classification data for a run: read, de-duplicate, split, encode and batch."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch
from transformers import PreTrainedTokenizerFast

from attnpred.config import check
from attnpred.data.encoding import Encoded, bucket_batches, encode_texts, pad
from attnpred.data.labels import LabelVocab
from attnpred.data.splits import Split, dedupe, load_split, stratified_split
from attnpred.data.text import TextExample, iter_examples, read_examples
from attnpred.errors import AttnpredError


@dataclass
class TextDataConfig:
    """Where the examples come from and how they are split."""

    train: str = ""
    """Training file (CSV, TSV, JSONL, Financial PhraseBank or SST format)."""
    dev: str = ""
    """Optional dev file; when empty, dev is split off the training file."""
    test: str = ""
    """Optional test file; when empty, test is split off the training file."""
    format: str = "auto"
    """File format: auto (by suffix and content), csv, tsv, jsonl, fpb or sst."""
    text_column: str = "text"
    """Column (CSV/TSV) or key (JSONL) holding the text."""
    label_column: str = "label"
    """Column or key holding the label."""
    encoding: str = ""
    """Text encoding of the files; empty: UTF-8 (UTF-16 by its BOM); a file that is not UTF-8
    is read as Latin-1 with a warning naming its first non-UTF-8 line."""
    test_ratio: float = 0.2
    """Share of the training file held out as test when no test file is given."""
    dev_ratio: float = 0.2
    """Share of the rest held out as dev when no dev file is given (FinBERT: 20%)."""
    dedupe: bool = True
    """Drop exact duplicate texts before splitting (prevents train/test leakage)."""
    split_seed: int = 13
    """Seed of the stratified split, saved with the split in the run directory."""

    def __post_init__(self) -> None:
        check(0 <= self.test_ratio < 1, "test_ratio", "must be in [0, 1)")
        check(0 <= self.dev_ratio < 1, "dev_ratio", "must be in [0, 1)")
        check(self.split_seed >= 0, "split_seed", "must be >= 0")


@dataclass
class SplitData:
    """Examples of each split."""

    train: list[TextExample]
    dev: list[TextExample] = field(default_factory=list)
    test: list[TextExample] = field(default_factory=list)


def read(cfg: TextDataConfig, path: str, require_label: bool = True) -> list[TextExample]:
    return read_examples(path, format=cfg.format, text_column=cfg.text_column,
                         label_column=cfg.label_column, encoding=cfg.encoding or None,
                         require_label=require_label)


def iter_read(cfg: TextDataConfig, path: str, require_label: bool = True
              ) -> Iterator[TextExample]:
    """``read`` lazily (CSV/TSV/JSONL streamed; see ``attnpred.data.text.iter_examples``)."""
    return iter_examples(path, format=cfg.format, text_column=cfg.text_column,
                         label_column=cfg.label_column, encoding=cfg.encoding or None,
                         require_label=require_label)


def load_splits(cfg: TextDataConfig, saved: Path | None = None) -> tuple[SplitData, Split | None]:
    """Read the files and split off dev/test as configured.

    Args:
        cfg: the data configuration.
        saved: a split.json to reuse (when resuming) if it exists.
    Returns:
        The examples per split, and the Split of the training file (None when dev and test
        files are given), to be saved in the run directory.
    """
    if not cfg.train:
        raise AttnpredError("no training file given", field="data.train")
    train = read(cfg, cfg.train)
    if cfg.dedupe:
        train = dedupe(train)
    dev = read(cfg, cfg.dev) if cfg.dev else []
    test = read(cfg, cfg.test) if cfg.test else []
    if cfg.dev and cfg.test:
        return SplitData(train, dev, test), None
    if saved is not None and saved.exists():
        split = load_split(saved)
        split.check(len(train), source=str(saved))
    else:
        split = stratified_split([e.label for e in train],
                                 test=0.0 if cfg.test else cfg.test_ratio,
                                 dev=0.0 if cfg.dev else cfg.dev_ratio, seed=cfg.split_seed)
    pick = lambda idx: [train[i] for i in idx]  # noqa: E731
    return SplitData(pick(split.train), dev or pick(split.dev), test or pick(split.test)), split


@dataclass
class EncodedSet:
    """Encoded texts with label ids (−1 when unlabelled) and their examples."""

    encoded: list[Encoded]
    labels: list[int]
    examples: list[TextExample]

    def __len__(self) -> int:
        return len(self.encoded)


def encode_set(examples: Sequence[TextExample], tokenizer: PreTrainedTokenizerFast,
               vocab: LabelVocab, max_len: int) -> EncodedSet:
    encoded = encode_texts(tokenizer, [e.text for e in examples], max_len)
    labels = [-1 if e.label is None else vocab.encode(e.label, file=e.source, line=e.line)
              for e in examples]
    return EncodedSet(encoded, labels, list(examples))


BatchExtra = Callable[[EncodedSet, list[int], int], dict[str, Any]]


def collate(data: EncodedSet, idx: list[int], pad_id: int,
            extra: BatchExtra | None = None) -> dict[str, Any]:
    """Batch of rows ``idx``: input_ids (B, T), attention_mask (B, T), labels (B,), index."""
    ids, mask = pad([data.encoded[i].input_ids for i in idx], pad_id)
    batch: dict[str, Any] = {"input_ids": ids, "attention_mask": mask,
                             "index": torch.as_tensor(idx)}
    if all(data.labels[i] >= 0 for i in idx):
        batch["labels"] = torch.as_tensor([data.labels[i] for i in idx])
    if extra is not None:
        batch.update(extra(data, idx, ids.shape[1]))
    return batch


class TrainBatches:
    """BatchSource: shuffled, length-bucketed batches, the same for the same epoch."""

    def __init__(self, data: EncodedSet, batch_size: int, seed: int, pad_id: int,
                 extra: BatchExtra | None = None) -> None:
        self.data, self.batch_size, self.seed, self.pad_id = data, batch_size, seed, pad_id
        self.extra = extra
        self.lengths = [len(e.input_ids) for e in data.encoded]

    def __call__(self, epoch: int) -> list[dict[str, Any]]:
        gen = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        return [collate(self.data, idx, self.pad_id, self.extra)
                for idx in bucket_batches(self.lengths, self.batch_size, gen)]


def eval_batches(data: EncodedSet, batch_size: int, pad_id: int,
                 extra: BatchExtra | None = None) -> list[dict[str, Any]]:
    """Length-sorted batches (little padding); the ``index`` key restores the order."""
    lengths = [len(e.input_ids) for e in data.encoded]
    return [collate(data, idx, pad_id, extra) for idx in bucket_batches(lengths, batch_size)]
