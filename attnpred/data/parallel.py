"""Parallel text: readers, BPE tokenizers and token-count batching for sequence to sequence.

Formats read (``.gz`` files are read directly):
- two line-aligned files (source, target);
- one TSV file with a source and a target column (a header row names them), or
- one JSONL file with a source and a target key per line;
- one ``src ||| tgt`` file (the word-alignment bitext format).

Shape legend: B batch, S source length, T target length.
"""
from __future__ import annotations

import csv
import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch
from torch import Tensor

from attnpred.data.encoding import pad
from attnpred.data.text import decode_bytes, json_records
from attnpred.errors import AttnpredError

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]


@dataclass(frozen=True)
class ParallelExample:
    """One sentence pair and the 1-based line it came from."""

    src: str
    tgt: str
    line: int


# ---- readers ----------------------------------------------------------------------------
def read_lines(path: str | Path) -> list[str]:
    """Lines of a text file (``.gz`` read) without their line endings.

    Decoded by ``attnpred.data.text.decode_bytes``: UTF-8, an error naming the line for
    damaged or binary files, a warning for a legacy 8-bit file read as Latin-1.
    """
    path = Path(path)
    if not path.is_file():
        raise AttnpredError("file not found" if not path.exists() else "not a regular file",
                            file=path)
    data = path.read_bytes()
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise AttnpredError(f"not a valid gzip file ({exc})", file=path) from None
    lines = decode_bytes(data, None, path).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def check_pairs(pairs: list[ParallelExample], src_path: str | Path,
                tgt_path: str | Path | None = None) -> list[ParallelExample]:
    """Refuse an empty corpus and empty source or target sides (naming file and line)."""
    if not pairs:
        raise AttnpredError("no sentence pairs in file", file=src_path)
    for p in pairs:
        if not p.src.strip():
            raise AttnpredError("empty source text; every pair needs words on both sides",
                                file=src_path, line=p.line)
        if not p.tgt.strip():
            raise AttnpredError("empty target text; every pair needs words on both sides",
                                file=tgt_path or src_path, line=p.line)
    return pairs


def read_line_pairs(src_path: str | Path, tgt_path: str | Path) -> list[ParallelExample]:
    """Two line-aligned files; their line counts must match."""
    src, tgt = read_lines(src_path), read_lines(tgt_path)
    if len(src) != len(tgt):
        raise AttnpredError(f"{len(src)} source lines but {len(tgt)} target lines in {tgt_path}",
                            file=src_path, line=min(len(src), len(tgt)) + 1)
    return [ParallelExample(s, t, i + 1) for i, (s, t) in enumerate(zip(src, tgt))]


def read_bitext(path: str | Path) -> list[ParallelExample]:
    """``source ||| target`` per line (fast_align / awesome-align format)."""
    out = []
    for i, line in enumerate(read_lines(path), start=1):
        parts = line.split("|||")
        if len(parts) != 2:
            raise AttnpredError("expected 'source ||| target'", file=path, line=i)
        out.append(ParallelExample(parts[0].strip(), parts[1].strip(), i))
    return out


def read_tsv(path: str | Path, src_field: str, tgt_field: str) -> list[ParallelExample]:
    """A TSV file whose header row names the source and target columns."""
    rows = [r for r in csv.reader(read_lines(path), delimiter="\t", quoting=csv.QUOTE_NONE)]
    if not rows:
        raise AttnpredError("empty file", file=path)
    header = rows[0]
    for name in (src_field, tgt_field):
        if name not in header:
            raise AttnpredError(f"no column {name!r}; header has {header}", file=path, line=1,
                                field=name)
    si, ti = header.index(src_field), header.index(tgt_field)
    out = []
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise AttnpredError(f"{len(row)} columns, header has {len(header)}", file=path,
                                line=i)
        out.append(ParallelExample(row[si], row[ti], i))
    return out


def read_jsonl(path: str | Path, src_field: str, tgt_field: str) -> list[ParallelExample]:
    """One JSON object per line with string ``src_field`` and ``tgt_field`` values."""
    out = []
    for i, obj in json_records("\n".join(read_lines(path)), str(path)):
        for name in (src_field, tgt_field):
            if not isinstance(obj.get(name), str):
                raise AttnpredError(f"missing string field {name!r}", file=path, line=i,
                                    field=name)
        out.append(ParallelExample(obj[src_field], obj[tgt_field], i))
    return out


def read_parallel(src: str | Path, tgt: str | Path | None = None, *, src_field: str = "src",
                  tgt_field: str = "tgt") -> list[ParallelExample]:
    """Read a parallel corpus in any supported format.

    Args:
        src: the source file, or the single TSV / JSONL / ``|||`` file.
        tgt: the line-aligned target file (None for single-file formats).
        src_field, tgt_field: column or key names in TSV / JSONL files.
    Returns:
        The sentence pairs, with the line each came from.
    Raises:
        AttnpredError: naming the file and line of the first malformed entry.
    """
    if tgt is not None:
        return check_pairs(read_line_pairs(src, tgt), src, tgt)
    name = Path(src).name.removesuffix(".gz")
    if name.endswith(".tsv"):
        return check_pairs(read_tsv(src, src_field, tgt_field), src)
    if name.endswith((".jsonl", ".json")):
        return check_pairs(read_jsonl(src, src_field, tgt_field), src)
    return check_pairs(read_bitext(src), src)


# ---- tokenizers -------------------------------------------------------------------------
def train_bpe(texts: Iterable[str], vocab_size: int, min_frequency: int = 2):
    """A byte-pair-encoding ``tokenizers.Tokenizer`` trained on ``texts``.

    Words are split on whitespace and marked with a leading "▁" (Metaspace), so decoding
    restores the original spacing and every sub-word knows its whitespace word.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                  special_tokens=SPECIALS, show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return tok


class Seq2SeqTokenizer:
    """Source and target BPE tokenizers (the same object when the vocabulary is joint).

    Special ids are fixed: <pad>=0, <s>=1, </s>=2, <unk>=3. Source ids end with </s>;
    target ids are wrapped by ``collate`` into decoder input (<s> y) and output (y </s>).
    """

    def __init__(self, src, tgt=None) -> None:
        self.src, self.tgt = src, tgt or src
        for tok in {id(self.src): self.src, id(self.tgt): self.tgt}.values():
            if [tok.token_to_id(s) for s in SPECIALS] != [PAD, BOS, EOS, UNK]:
                raise AttnpredError(f"tokenizer lacks the special tokens {SPECIALS}")

    @property
    def joint(self) -> bool:
        return self.src is self.tgt

    @classmethod
    def train(cls, examples: Sequence[ParallelExample], vocab_size: int,
              joint: bool = True) -> "Seq2SeqTokenizer":
        if joint:
            texts = [e.src for e in examples] + [e.tgt for e in examples]
            return cls(train_bpe(texts, vocab_size))
        return cls(train_bpe([e.src for e in examples], vocab_size),
                   train_bpe([e.tgt for e in examples], vocab_size))

    def save(self, folder: str | Path) -> None:
        from attnpred.io import atomic_write_text
        folder = Path(folder)
        atomic_write_text(folder / "tokenizer.src.json", self.src.to_str())
        if not self.joint:
            atomic_write_text(folder / "tokenizer.tgt.json", self.tgt.to_str())

    @classmethod
    def load(cls, folder: str | Path) -> "Seq2SeqTokenizer":
        from tokenizers import Tokenizer
        folder = Path(folder)
        src = _load_tokenizer(folder / "tokenizer.src.json", Tokenizer)
        tgt_path = folder / "tokenizer.tgt.json"
        return cls(src, _load_tokenizer(tgt_path, Tokenizer) if tgt_path.is_file() else None)

    def encode_src(self, text: str, max_len: int) -> list[int]:
        """Source ids ending with </s>, truncated to ``max_len`` ids in all."""
        return self.src.encode(normalize_space(text)).ids[: max_len - 1] + [EOS]

    def encode_tgt(self, text: str, max_len: int) -> list[int]:
        """Target ids without specials, truncated to ``max_len - 1``."""
        return self.tgt.encode(normalize_space(text)).ids[: max_len - 1]

    def decode_tgt(self, ids: Sequence[int]) -> str:
        return self.tgt.decode(list(ids), skip_special_tokens=True)

    def src_words(self, text: str, max_len: int) -> list[int]:
        """Whitespace-word index of every source id (</s> gets -1)."""
        return word_ids(self.src, text)[: max_len - 1] + [-1]

    def tgt_words(self, text: str, max_len: int) -> list[int]:
        """Whitespace-word index of every target id (no specials)."""
        return word_ids(self.tgt, text)[: max_len - 1]


def _load_tokenizer(path: Path, tokenizer_cls):
    """A saved ``tokenizers`` tokenizer; a missing or damaged file is one clear error."""
    if not path.is_file():
        raise AttnpredError("tokenizer file not found (the run is incomplete)", file=path)
    try:
        return tokenizer_cls.from_file(str(path))
    except Exception as exc:  # noqa: BLE001 - tokenizers raises a bare Exception on bad JSON
        raise AttnpredError(f"damaged tokenizer file ({str(exc)[:120]})", file=path) from None


def normalize_space(text: str) -> str:
    """Single spaces between words, none at the ends (so word i is ``text.split()[i]``)."""
    return " ".join(text.split())


def word_ids(tokenizer, text: str) -> list[int]:
    """Index of the whitespace word each sub-word of ``text`` belongs to."""
    return [-1 if w is None else w for w in tokenizer.encode(normalize_space(text)).word_ids]


# ---- batching ---------------------------------------------------------------------------
def token_batches(lengths: Sequence[int], max_tokens: int, *, shuffle: bool = False,
                  generator: torch.Generator | None = None,
                  bucket_factor: int = 100) -> list[list[int]]:
    """Group example indices into batches of at most ``max_tokens`` padded tokens.

    Examples are sorted by length inside buckets of ``bucket_factor`` x (typical batch)
    examples, so a batch holds similar lengths and little padding; with ``shuffle`` the order
    inside buckets' ties and of the batches is drawn from ``generator`` (deterministic).

    Args:
        lengths: the padded length of each example (e.g. max of source and target).
        max_tokens: the budget for batch_size x longest example.
    Returns:
        Lists of example indices; every index appears exactly once.
    """
    n = len(lengths)
    order = torch.randperm(n, generator=generator).tolist() if shuffle else list(range(n))
    bucket = max(1, bucket_factor * max(1, max_tokens // max(1, max(lengths, default=1))))
    batches: list[list[int]] = []
    for start in range(0, n, bucket):
        chunk = sorted(order[start: start + bucket], key=lambda i: lengths[i])
        current: list[int] = []
        longest = 0
        for i in chunk:
            new_longest = max(longest, lengths[i])
            if current and new_longest * (len(current) + 1) > max_tokens:
                batches.append(current)
                current, new_longest = [], lengths[i]
            current.append(i)
            longest = new_longest
        if current:
            batches.append(current)
    if shuffle:
        perm = torch.randperm(len(batches), generator=generator).tolist()
        batches = [batches[i] for i in perm]
    return batches


def collate(src_ids: Sequence[Sequence[int]],
            tgt_ids: Sequence[Sequence[int]] | None = None) -> dict[str, Tensor]:
    """Model inputs: src_ids (B, S), src_mask (B, S) and, with targets, tgt_in / tgt_out (B, T).

    tgt_in = <s> y, tgt_out = y </s>; padding is PAD in both (the loss ignores it).
    """
    src, mask = pad(src_ids, PAD)
    batch = {"src_ids": src, "src_mask": mask}
    if tgt_ids is not None:
        batch["tgt_in"] = pad([[BOS, *t] for t in tgt_ids], PAD)[0]
        batch["tgt_out"] = pad([[*t, EOS] for t in tgt_ids], PAD)[0]
    return batch


