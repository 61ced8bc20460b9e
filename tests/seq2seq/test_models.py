"""Output types, attention shapes, masking, and batched = one-at-a-time for both model families."""
import pytest
import torch

from attnpred.data.parallel import collate
from attnpred.models.seq2seq import TransformerSeq2SeqConfig
from attnpred.errors import ConfigError

SRC = [[5, 6, 7, 8, 2], [9, 10, 2]]
TGT = [[11, 12, 13], [14, 15, 16, 17, 18]]


def test_output_shapes_and_rows_sum_to_one(model):
    batch = collate(SRC, TGT)
    out = model(**batch, need_weights=True)
    b, s = batch["src_ids"].shape
    t = batch["tgt_in"].shape[1]
    assert out.logits.shape == (b, t, 24)
    assert out.loss.ndim == 0 and torch.isfinite(out.loss)
    assert len(out.cross_attentions) >= 1
    for cross in out.cross_attentions:
        assert cross.shape[0] == b and cross.shape[2:] == (t, s)
        torch.testing.assert_close(cross.sum(-1), torch.ones(cross.shape[:-1]))
        assert (cross[1, :, :, 3:] == 0).all()  # padding keys of the short source get exactly 0
    for self_attn in out.decoder_attentions:
        assert self_attn.shape[2:] == (t, t)
        assert (self_attn.triu(1) == 0).all()  # causal
    for enc in out.encoder_attentions:
        assert enc.shape[2:] == (s, s)


def test_no_weights_unless_asked(model):
    out = model(**collate(SRC, TGT))
    assert out.cross_attentions == () and out.encoder_attentions == ()


def test_batched_equals_one_at_a_time(model):
    batched = model(**collate(SRC, TGT)).logits
    for i in range(2):
        single = model(**collate(SRC[i:i + 1], TGT[i:i + 1])).logits[0]
        torch.testing.assert_close(batched[i, : len(TGT[i]) + 1], single, atol=1e-5, rtol=1e-4)


def test_tied_and_shared_embeddings():
    from tests.seq2seq.conftest import tiny_transformer
    m = tiny_transformer()
    assert m.src_embed is m.tgt_embed and m.out.weight is m.tgt_embed.weight
    m2 = tiny_transformer(share_embeddings=False, tie_output=False, tgt_vocab=30)
    assert m2.src_embed is not m2.tgt_embed and m2.out.weight.shape[0] == 30


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="share_embeddings"):
        TransformerSeq2SeqConfig(src_vocab=10, tgt_vocab=12)
    with pytest.raises(ConfigError, match="heads"):
        TransformerSeq2SeqConfig(dim=30, heads=4)
