"""Attention losses: exact values on small cases, gold masking, selection of the attention."""
import pytest
import torch

from attnpred.errors import AttnpredError
from attnpred.models.classifier import ClassifierOutput
from attnpred.supervision.config import SupervisionConfig
from attnpred.supervision.losses import attention_loss, select_attention, supervised_maps

GOLD = torch.tensor([[0.0, 0.5, 0.5, 0.0], [0.0, 0.0, 1.0, 0.0]])
WORDS = torch.tensor([[False, True, True, False], [False, True, True, True]])


def cfg(**kw):
    return SupervisionConfig(weight=1.0, renormalize=False, **kw)


def test_losses_at_the_gold_distribution():
    has = torch.tensor([True, True])
    ce = attention_loss(GOLD, GOLD, has, cfg(loss="ce"))
    assert ce.item() == pytest.approx((torch.log(torch.tensor(2.0)) / 2).item())  # entropies
    assert attention_loss(GOLD, GOLD, has, cfg(loss="kl")).item() == pytest.approx(0.0, abs=1e-6)
    assert attention_loss(GOLD, GOLD, has, cfg(loss="mse")).item() == pytest.approx(0.0)


def test_loss_values_by_hand():
    att = torch.tensor([[0.1, 0.2, 0.3, 0.4]])
    gold = torch.tensor([[0.0, 0.5, 0.5, 0.0]])
    has = torch.tensor([True])
    ce = -(0.5 * torch.log(torch.tensor(0.2)) + 0.5 * torch.log(torch.tensor(0.3)))
    assert attention_loss(att, gold, has, cfg(loss="ce")).item() == pytest.approx(ce.item())
    kl = ce + torch.log(torch.tensor(0.5))
    assert attention_loss(att, gold, has, cfg(loss="kl")).item() == pytest.approx(kl.item())
    mse = 0.1 ** 2 + 0.3 ** 2 + 0.2 ** 2 + 0.4 ** 2
    assert attention_loss(att, gold, has, cfg(loss="mse")).item() == pytest.approx(mse)


@pytest.mark.parametrize("kind", ["ce", "kl", "mse"])
def test_examples_without_gold_contribute_nothing(kind):
    att = torch.softmax(torch.randn(2, 4), -1)
    only_first = attention_loss(att[:1], GOLD[:1], torch.tensor([True]), cfg(loss=kind))
    garbage = GOLD.clone()
    garbage[1] = torch.tensor([9.0, -3.0, 7.0, 1.0])
    both = attention_loss(att, garbage, torch.tensor([True, False]), cfg(loss=kind))
    assert both.item() == pytest.approx(only_first.item())
    att.requires_grad_(True)
    none = attention_loss(att, GOLD, torch.tensor([False, False]), cfg(loss=kind))
    assert none.item() == 0.0
    none.backward()
    assert att.grad.abs().sum() == 0


def test_renormalize_ignores_special_tokens():
    # [CLS] and [SEP] (positions 0, 3) hold most attention; over words it equals the gold
    att = torch.tensor([[0.6, 0.1, 0.1, 0.2]])
    gold = torch.tensor([[0.0, 0.5, 0.5, 0.0]])
    c = SupervisionConfig(weight=1.0, loss="kl", renormalize=True)
    loss = attention_loss(att, gold, torch.tensor([True]), c, WORDS[:1])
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    assert attention_loss(att, gold, torch.tensor([True]), cfg(loss="kl")).item() > 0.5


def fake_output(pooling=None, layers=2, heads=3, t=4):
    torch.manual_seed(0)
    atts = tuple(torch.softmax(torch.randn(2, heads, t, t), -1) for _ in range(layers))
    return ClassifierOutput(torch.zeros(2, 2), None, atts, pooling, None)


def test_select_cls_rows_heads_and_layers():
    out = fake_output()
    avg = select_attention(out, cfg(target="cls", layers=(-1,), heads=(0, 2)))
    expect = out.attentions[1][:, [0, 2], 0, :].mean(1)
    assert torch.allclose(avg, expect)
    per_head = supervised_maps(out, cfg(target="cls", layers=(0, 1), per_head=True))
    assert per_head.shape == (2, 6, 4)
    assert torch.allclose(per_head[:, 3], out.attentions[1][:, 0, 0, :])


def test_select_errors_for_people():
    with pytest.raises(AttnpredError, match="pooling='attention'"):
        select_attention(fake_output(), cfg(target="pooling"))
    with pytest.raises(AttnpredError, match="out of range"):
        select_attention(fake_output(), cfg(target="cls", layers=(5,)))
    with pytest.raises(AttnpredError, match="need_weights"):
        select_attention(fake_output(layers=0), cfg(target="cls"))
    pooled = torch.softmax(torch.randn(2, 4), -1)
    assert torch.equal(select_attention(fake_output(pooled), cfg()), pooled)
