"""Tokenizers trained on the data, word ids, padding and length bucketing."""
import pytest
import torch

from attnpred.data.encoding import (bucket_batches, encode_texts, load_tokenizer, pad,
                                    train_tokenizer, word_attention)
from attnpred.errors import AttnpredError

TEXTS = ["Operating profit rose sharply", "Net sales decreased to EUR 10 mn",
         "The company cut 300 jobs"] * 10


@pytest.mark.parametrize("kind", ["wordpiece", "bpe"])
def test_trained_tokenizer_round_trip_and_word_ids(kind, tmp_path):
    tok = train_tokenizer(TEXTS, kind, vocab_size=120, min_frequency=1)
    tok.save_pretrained(str(tmp_path))
    again = load_tokenizer(tmp_path)
    enc = encode_texts(again, ["Profitability decreased, unexpectedly"], max_len=32)[0]
    assert enc.input_ids[0] == again.cls_token_id and enc.input_ids[-1] == again.sep_token_id
    assert enc.words == ["Profitability", "decreased,", "unexpectedly"]
    assert enc.word_ids[0] is None and enc.word_ids[-1] is None
    assert sorted({w for w in enc.word_ids if w is not None}) == [0, 1, 2]
    assert len(enc.input_ids) > 5  # unseen words split into several pieces
    assert again.pad_token_id == 0 and again.mask_token == "[MASK]"


def test_truncation_and_word_attention_sum():
    tok = train_tokenizer(TEXTS, "wordpiece", vocab_size=120, min_frequency=1)
    enc = encode_texts(tok, ["profit " * 50], max_len=8)[0]
    assert len(enc.input_ids) == 8 and len(enc.words) == 50
    att = word_attention([0.1] * 8, enc.word_ids, len(enc.words))
    assert sum(att) == pytest.approx(0.6) and att[6:] == [0.0] * 44


def test_unknown_tokenizer_kind():
    with pytest.raises(AttnpredError, match="tokenizer"):
        train_tokenizer(TEXTS, "sentencepiece")


def test_pad_and_mask():
    ids, mask = pad([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert mask.tolist() == [[True, True, True], [True, False, False]]


def test_bucketing_covers_everything_groups_lengths_and_is_seeded():
    lengths = [((i * 37) % 50) + 1 for i in range(200)]
    a = bucket_batches(lengths, 8, torch.Generator().manual_seed(1), pool=5)
    b = bucket_batches(lengths, 8, torch.Generator().manual_seed(1), pool=5)
    c = bucket_batches(lengths, 8, torch.Generator().manual_seed(2), pool=5)
    assert a == b and a != c
    assert sorted(i for batch in a for i in batch) == list(range(200))
    spread = sum(max(lengths[i] for i in bt) - min(lengths[i] for i in bt) for bt in a) / len(a)
    assert spread < 10  # random batches would spread over ~40
    ordered = bucket_batches(lengths, 8)
    assert [lengths[i] for bt in ordered for i in bt] == sorted(lengths)


@pytest.mark.parametrize("kind", ["wordpiece", "bpe"])
def test_training_is_deterministic(kind):
    """The same texts give the same ids every time (the "##" trainers of `tokenizers` number
    pieces in hash-map order, which made seeded runs differ from one another)."""
    texts = [f"{a} {b}ing {c}ed re{a}s" for a in ("walk", "talk", "jump", "play")
             for b in ("sing", "ring", "bring") for c in ("want", "need", "look")]
    vocabs = {tuple(sorted(train_tokenizer(texts, kind, vocab_size=80,
                                           min_frequency=1).get_vocab().items()))
              for _ in range(6)}
    assert len(vocabs) == 1


def test_wordpiece_vocabulary_keeps_every_character_where_it_occurs():
    tok = train_tokenizer(TEXTS, "wordpiece", vocab_size=60, min_frequency=1)
    vocab = tok.get_vocab()
    assert len(vocab) <= 60 and all(vocab[s] == i for i, s in enumerate(
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    assert {"o", "p", "n", "##o", "##p", "##n"} <= set(vocab) and "##3" not in vocab
    assert "[UNK]" not in tok.tokenize("roses cropped onto pots")  # unseen words
