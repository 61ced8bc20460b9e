"""Tokenizers (trained on the user's data or taken from a pretrained directory), encoding with
word ids, and length-bucketed batching with dynamic padding.

Words are whitespace tokens: texts are split on whitespace and encoded with
``is_split_into_words=True``, so every sub-word token knows the word it came from and attention
can be summed back to the words a person sees.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from tokenizers.processors import TemplateProcessing
from torch import Tensor
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from attnpred.errors import AttnpredError

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
TOKENIZER_KINDS = ("wordpiece", "bpe")
MARK = "\u2581"  # "▁", marks the start of a word (as in SentencePiece)


def train_tokenizer(texts: Iterable[str], kind: str = "wordpiece", vocab_size: int = 8000,
                    lowercase: bool = True, min_frequency: int = 2) -> PreTrainedTokenizerFast:
    """Train a WordPiece or BPE tokenizer on ``texts`` with Hugging Face ``tokenizers``.

    The result behaves like a BERT tokenizer: [CLS] text [SEP], [PAD] id 0, [MASK] for MLM.
    Training is deterministic: the same texts give the same vocabulary and ids in every run
    (see ``_train_marked_bpe``), so a seeded run is reproducible.
    """
    if kind not in TOKENIZER_KINDS:
        raise AttnpredError(f"unknown tokenizer {kind!r}; expected one of {TOKENIZER_KINDS}",
                            field="tokenizer")
    texts = list(texts)
    normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    bpe = _train_marked_bpe(texts, normalizer, vocab_size, min_frequency)
    if kind == "wordpiece":
        pre = pre_tokenizers.BertPreTokenizer()
        words = _words(texts, normalizer, pre)
        tok = Tokenizer(models.WordPiece(_wordpiece_vocab(bpe, words, vocab_size),
                                         unk_token="[UNK]"))
        tok.pre_tokenizer = pre
        tok.decoder = decoders.WordPiece()
    else:
        tok = bpe
        tok.decoder = decoders.Metaspace(replacement=MARK, prepend_scheme="always")
    tok.normalizer = normalizer
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def _train_marked_bpe(texts: Iterable[str], normalizer, vocab_size: int,
                      min_frequency: int) -> Tokenizer:
    """BPE over words that carry a start-of-word mark, with no continuing-sub-word prefix.

    The trainers' ``continuing_subword_prefix`` path ("##") numbers its pieces in hash-map
    order, so ids, and on ties even merges, change from run to run (huggingface/tokenizers
    issue 1794). Marking word starts instead keeps training deterministic; a WordPiece
    vocabulary is read off the result by ``_wordpiece_vocab``.
    """
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.BertPreTokenizer(),
        pre_tokenizers.Metaspace(replacement=MARK, prepend_scheme="always")])
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                  special_tokens=SPECIALS, show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return tok


def _words(texts: Sequence[str], normalizer, pre_tokenizer) -> set[str]:
    """The distinct words of ``texts`` as the tokenizer sees them (normalised, pre-split)."""
    words: set[str] = set()
    for text in texts:
        words.update(w for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    return words


def _wordpiece_vocab(bpe: Tokenizer, words: set[str], vocab_size: int) -> dict[str, int]:
    """WordPiece vocabulary from a word-start-marked BPE: "▁ab" -> "ab", "ab" -> "##ab".

    Specials come first, then every character that starts a word and, as "##c", every one
    that continues a word (so no training word becomes [UNK]), then the merged pieces in
    merge order, cut at ``vocab_size`` (the characters are always kept, as in BERT's).
    """
    pieces = [t for t, _ in sorted(bpe.get_vocab().items(), key=lambda kv: kv[1])]
    merged = [t[1:] if t.startswith(MARK) else "##" + t for t in pieces
              if t not in SPECIALS and len(t.lstrip(MARK)) > 1]
    chars = [*sorted({w[0] for w in words}), *sorted({"##" + c for w in words for c in w[1:]})]
    base = [*SPECIALS, *chars]
    merged = [p for p in dict.fromkeys(merged) if p not in base][:max(vocab_size - len(base), 0)]
    return {piece: i for i, piece in enumerate(base + merged)}


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    """A fast tokenizer from a run's ``tokenizer/`` folder or a pretrained model directory."""
    try:
        tok = AutoTokenizer.from_pretrained(str(path), use_fast=True)
    except (OSError, ValueError) as exc:
        raise AttnpredError(f"cannot load a tokenizer: {exc}", file=path) from None
    if not tok.is_fast:
        raise AttnpredError("a fast (Rust) tokenizer is needed for word ids", file=path)
    return tok


@dataclass
class Encoded:
    """One encoded text.

    Attributes:
        input_ids: token ids, [CLS] first.
        word_ids: for each token the index of its whitespace word, None for special tokens.
        words: the whitespace words of the text.
    """

    input_ids: list[int]
    word_ids: list[int | None]
    words: list[str]


def encode_texts(tokenizer: PreTrainedTokenizerFast, texts: Sequence[str],
                 max_len: int) -> list[Encoded]:
    """Tokenize whitespace words with truncation to ``max_len`` tokens."""
    words = [t.split() or [t] for t in texts]
    enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_len)
    return [Encoded(ids, enc.word_ids(i), w) for i, (ids, w) in enumerate(zip(enc["input_ids"],
                                                                              words))]


def pad(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[Tensor, Tensor]:
    """Right-pad to the longest sequence: ids (B, T) long and mask (B, T) bool."""
    t = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), t), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), t), dtype=torch.bool)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
        mask[i, : len(s)] = True
    return ids, mask


def bucket_batches(lengths: Sequence[int], batch_size: int,
                   generator: torch.Generator | None = None, pool: int = 50) -> list[list[int]]:
    """Group indices into batches of similar length.

    With a generator: shuffle, sort within pools of ``batch_size * pool`` by length, cut into
    batches and shuffle the batch order (random yet little padding). Without one: sort all by
    length (deterministic, for evaluation).
    """
    n = len(lengths)
    if generator is None:
        order = sorted(range(n), key=lambda i: lengths[i])
        return [order[i: i + batch_size] for i in range(0, n, batch_size)]
    perm = torch.randperm(n, generator=generator).tolist()
    size = batch_size * pool
    batches = []
    for start in range(0, n, size):
        chunk = sorted(perm[start: start + size], key=lambda i: lengths[i])
        batches += [chunk[i: i + batch_size] for i in range(0, len(chunk), batch_size)]
    order = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in order]


def word_attention(token_attention: Sequence[float], word_ids: Sequence[int | None],
                   n_words: int) -> list[float]:
    """Sum sub-word attention to words (special tokens dropped; truncated words get 0)."""
    out = [0.0] * n_words
    for a, w in zip(token_attention, word_ids):
        if w is not None:
            out[w] += float(a)
    return out
