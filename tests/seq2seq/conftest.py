"""Tiny seq2seq models shared by the tests (CPU, a few thousand parameters)."""
import pytest
import torch

from attnpred.models.rnn_seq2seq import GRUSeq2Seq, GRUSeq2SeqConfig
from attnpred.models.seq2seq import TransformerSeq2Seq, TransformerSeq2SeqConfig

V = 24


def tiny_transformer(**kw) -> TransformerSeq2Seq:
    cfg = dict(src_vocab=V, tgt_vocab=V, dim=16, heads=2, ff_dim=32, encoder_layers=2,
               decoder_layers=2, dropout=0.0, max_len=32)
    cfg.update(kw)
    torch.manual_seed(0)
    return TransformerSeq2Seq(TransformerSeq2SeqConfig(**cfg)).eval()


def tiny_gru(attention: str = "bahdanau", **kw) -> GRUSeq2Seq:
    cfg = dict(src_vocab=V, tgt_vocab=V, embed_dim=8, hidden_dim=16, dropout=0.0,
               attention=attention, max_len=32)
    cfg.update(kw)
    torch.manual_seed(0)
    return GRUSeq2Seq(GRUSeq2SeqConfig(**cfg)).eval()


MODELS = {"transformer": tiny_transformer, "gru-bahdanau": lambda: tiny_gru("bahdanau"),
          "gru-luong": lambda: tiny_gru("luong")}


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: the tiny models are slower with more on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(params=sorted(MODELS))
def model(request):
    return MODELS[request.param]()
