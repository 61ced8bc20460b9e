"""Word-level encoding and batching for taggers.

Sentences arrive as word lists; the tokenizer splits words into sub-words (``is_split_into_words``)
and each word is represented by its first sub-word. A word the tokenizer turns into nothing
(a lone control or zero-width character) is encoded as the unknown token, so every word that
fits in ``max_len`` has a position; words past ``max_len`` are marked as not fitting.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import torch

from attnpred.data.encoding import bucket_batches


@dataclass
class EncodedSentence:
    """One sentence, encoded.

    Attributes:
        input_ids: sub-word ids, [CLS] first.
        word_index: position of the first sub-word of each word that fits.
        token_words: for each token its word, -1 for special tokens.
        n_words: words in the sentence (``len(word_index)`` unless it was truncated).
        tags: tag id of every word (empty for unlabelled sentences).
    """

    input_ids: list[int]
    word_index: list[int]
    token_words: list[int]
    n_words: int
    tags: list[int] = field(default_factory=list)


def _unk_empty_words(tokenizer, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
    """The sentences with every word that yields no sub-word replaced by the unknown token."""
    unique = sorted({w for s in sentences for w in s})
    if not unique:
        return [list(s) for s in sentences]
    ids = tokenizer(unique, add_special_tokens=False)["input_ids"]
    empty = {w for w, i in zip(unique, ids) if not i}
    if not empty:
        return [list(s) for s in sentences]
    return [[tokenizer.unk_token if w in empty else w for w in s] for s in sentences]


def encode_sentences(tokenizer, sentences: Sequence[Sequence[str]], max_len: int,
                     tags: Sequence[Sequence[int]] | None = None) -> list[EncodedSentence]:
    """Encode word lists (with truncation to ``max_len`` sub-words)."""
    words = _unk_empty_words(tokenizer, sentences)
    out = []
    for start in range(0, len(words), 1024):  # bounded memory for large files
        chunk = words[start:start + 1024]
        enc = tokenizer(chunk, is_split_into_words=True, truncation=True, max_length=max_len)
        for j, ws in enumerate(chunk):
            wid = enc.word_ids(j)
            first: dict[int, int] = {}
            for pos, w in enumerate(wid):
                if w is not None and w not in first:
                    first[w] = pos
            index = [first[w] for w in range(len(first))]
            t = list(tags[start + j]) if tags is not None else []
            out.append(EncodedSentence(enc["input_ids"][j], index,
                                       [-1 if w is None else w for w in wid], len(ws), t))
    return out


def collate(items: Sequence[EncodedSentence], pad_id: int,
            index: Sequence[int] | None = None) -> dict[str, Any]:
    """Pad a batch: ids/mask/token_words (B, T), word_index/word_mask/tags (B, W), index (B)."""
    b = len(items)
    t = max(len(e.input_ids) for e in items)
    w = max(max(len(e.word_index) for e in items), 1)
    ids = torch.full((b, t), pad_id, dtype=torch.long)
    mask = torch.zeros((b, t), dtype=torch.bool)
    token_words = torch.full((b, t), -1, dtype=torch.long)
    word_index = torch.zeros((b, w), dtype=torch.long)
    word_mask = torch.zeros((b, w), dtype=torch.bool)
    tags = torch.full((b, w), -100, dtype=torch.long)
    for i, e in enumerate(items):
        n, k = len(e.input_ids), len(e.word_index)
        ids[i, :n] = torch.as_tensor(e.input_ids)
        mask[i, :n] = True
        token_words[i, :n] = torch.as_tensor(e.token_words)
        word_index[i, :k] = torch.as_tensor(e.word_index, dtype=torch.long)
        word_mask[i, :k] = True
        if e.tags:
            tags[i, :k] = torch.as_tensor(e.tags[:k])
    batch = {"input_ids": ids, "attention_mask": mask, "word_index": word_index,
             "word_mask": word_mask, "token_words": token_words,
             "index": torch.as_tensor(list(index) if index is not None else range(b))}
    if all(e.tags for e in items):
        batch["tags"] = tags
    return batch


class TagTrainBatches:
    """BatchSource: shuffled, length-bucketed batches, the same for the same epoch.

    Args:
        word_dropout: replace every sub-word of a word by ``unk_id`` with this probability
            (word dropout: the model learns to tag from context, as it must for unseen words);
            drawn from its own generator seeded per epoch, so a resumed run sees the same.
    """

    def __init__(self, data: Sequence[EncodedSentence], batch_size: int, seed: int,
                 pad_id: int, word_dropout: float = 0.0, unk_id: int | None = None) -> None:
        self.data, self.batch_size, self.seed, self.pad_id = data, batch_size, seed, pad_id
        self.word_dropout, self.unk_id = word_dropout, unk_id
        self.lengths = [len(e.input_ids) for e in data]

    def __call__(self, epoch: int) -> list[dict[str, Any]]:
        gen = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        batches = [collate([self.data[i] for i in idx], self.pad_id, idx)
                   for idx in bucket_batches(self.lengths, self.batch_size, gen)]
        if self.word_dropout > 0 and self.unk_id is not None:
            drop_gen = torch.Generator().manual_seed(self.seed * 100_003 + epoch + 50_000)
            for batch in batches:
                drop_words(batch, self.word_dropout, self.unk_id, drop_gen)
        return batches


def drop_words(batch: dict[str, Any], rate: float, unk_id: int,
               generator: torch.Generator) -> None:
    """Replace the sub-words of randomly chosen words by ``unk_id``, in place."""
    words = batch["token_words"]  # (B, T), -1 on special and padding tokens
    b, w = batch["word_mask"].shape
    dropped = torch.rand(b, w + 1, generator=generator) < rate  # (B, W + 1)
    on_token = dropped.gather(1, words.clamp(min=0)) & (words >= 0)  # (B, T)
    batch["input_ids"] = batch["input_ids"].masked_fill(on_token, unk_id)


def eval_batches(data: Sequence[EncodedSentence], batch_size: int,
                 pad_id: int) -> list[dict[str, Any]]:
    """Length-sorted batches (little padding); the ``index`` key restores the order."""
    lengths = [len(e.input_ids) for e in data]
    return [collate([data[i] for i in idx], pad_id, idx)
            for idx in bucket_batches(lengths, batch_size)]
