"""From-scratch classifier: shapes, attention invariants, batched equals one-at-a-time."""
import pytest
import torch

from attnpred.data.encoding import pad
from attnpred.errors import ConfigError
from attnpred.models.classifier import ClassifierConfig, TransformerClassifier


def model(pooling="attention", positional="learned"):
    torch.manual_seed(0)
    m = TransformerClassifier(ClassifierConfig(vocab_size=40, num_labels=3, dim=16, heads=2,
                                               layers=2, ff_dim=32, max_len=16, pooling=pooling,
                                               positional=positional))
    return m.eval()


SEQS = [[2, 7, 8, 9, 3], [2, 11, 3], [2, 5, 6, 7, 8, 9, 10, 3]]


@pytest.mark.parametrize("pooling", ["cls", "mean", "attention"])
def test_batched_equals_single(pooling):
    m = model(pooling)
    ids, mask = pad(SEQS, 0)
    batched = m(ids, mask, need_weights=True)
    for i, s in enumerate(SEQS):
        single = m(torch.tensor([s]), torch.ones(1, len(s), dtype=torch.bool), need_weights=True)
        torch.testing.assert_close(batched.logits[i], single.logits[0], atol=1e-5, rtol=1e-5)
        n = len(s)
        torch.testing.assert_close(batched.attentions[-1][i, :, :n, :n],
                                   single.attentions[-1][0], atol=1e-5, rtol=1e-5)


def test_output_shapes_and_attention_invariants():
    m = model("attention", "sinusoidal")
    ids, mask = pad(SEQS, 0)
    labels = torch.tensor([0, 1, 2])
    out = m(ids, mask, labels=labels, need_weights=True)
    b, t = ids.shape
    assert out.logits.shape == (b, 3) and out.loss.ndim == 0
    assert len(out.attentions) == 2 and out.attentions[0].shape == (b, 2, t, t)
    assert out.pooling_attention.shape == (b, t) and out.hidden.shape == (b, t, 16)
    torch.testing.assert_close(out.pooling_attention.sum(-1), torch.ones(b))
    assert (out.pooling_attention[~mask] == 0).all()
    for a in out.attentions:
        assert (a.masked_select(~mask[:, None, None, :].expand_as(a)) == 0).all()
        torch.testing.assert_close(a.sum(-1), torch.ones(a.shape[:-1]))


def test_weights_flag_does_not_change_logits():
    m = model("cls")
    ids, mask = pad(SEQS, 0)
    fast, explicit = m(ids, mask), m(ids, mask, need_weights=True)
    assert fast.attentions == ()
    torch.testing.assert_close(fast.logits, explicit.logits, atol=1e-5, rtol=1e-5)


def test_bad_config_values_name_the_field():
    with pytest.raises(ConfigError, match="pooling"):
        ClassifierConfig(pooling="max")
    with pytest.raises(ConfigError, match="heads"):
        ClassifierConfig(dim=10, heads=3)
