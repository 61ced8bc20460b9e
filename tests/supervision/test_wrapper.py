"""AttentionSupervised: loss bookkeeping, state dict, and attention that moves toward gold."""
import pytest
import torch

from attnpred.evaluation.rationales import auprc
from attnpred.models.classifier import ClassifierConfig, TransformerClassifier
from attnpred.supervision.config import SupervisionConfig
from attnpred.supervision.losses import select_attention
from attnpred.supervision.wrapper import AttentionSupervised, unwrap

V, T = 12, 8  # ids 0 pad, 1 cls, 2/3 the label tokens, 4 the "rationale" token, 5.. filler


def synthetic(n, seed):
    """Label = which of tokens 2/3 occurs; gold marks token 4, which the label ignores."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, V, (n, T), generator=g)
    ids[:, 0] = 1
    labels = torch.randint(0, 2, (n,), generator=g)
    pos = torch.randint(1, T, (n, 2), generator=g)
    pos[:, 1] = torch.where(pos[:, 1] == pos[:, 0], (pos[:, 0] % (T - 1)) + 1, pos[:, 1])
    rows = torch.arange(n)
    ids[rows, pos[:, 0]] = 2 + labels
    ids[rows, pos[:, 1]] = 4
    gold = torch.zeros(n, T)
    gold[rows, pos[:, 1]] = 1.0
    word_mask = torch.ones(n, T, dtype=torch.bool)
    word_mask[:, 0] = False
    return {"input_ids": ids, "attention_mask": torch.ones(n, T, dtype=torch.bool),
            "labels": labels, "gold_attention": gold, "has_gold": torch.ones(n, dtype=torch.bool),
            "word_mask": word_mask}


def tiny(pooling="attention"):
    torch.manual_seed(0)
    return TransformerClassifier(ClassifierConfig(vocab_size=V, dim=16, heads=2, layers=1,
                                                  ff_dim=32, dropout=0.0, max_len=T,
                                                  pooling=pooling))


def mean_auprc(model, batch, cfg):
    model.eval()
    with torch.no_grad():
        att = select_attention(model(**{k: batch[k] for k in ("input_ids", "attention_mask")},
                                     need_weights=cfg.target == "cls"), cfg)
    return sum(auprc(a[1:].tolist(), g[1:].int().tolist())
               for a, g in zip(att, batch["gold_attention"])) / len(att)


def train(cfg, steps=60):
    model = AttentionSupervised(tiny("attention" if cfg.target == "pooling" else "cls"), cfg)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    data = synthetic(64, 0)
    for _ in range(steps):
        loss = model(**data).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, synthetic(64, 1)


@pytest.mark.parametrize("target", ["pooling", "cls"])
def test_supervision_moves_attention_toward_gold(target):
    base, test = train(SupervisionConfig(weight=0.0, target=target))
    sup, _ = train(SupervisionConfig(weight=5.0, target=target))
    before = mean_auprc(unwrap(base), test, sup.cfg)
    after = mean_auprc(unwrap(sup), test, sup.cfg)
    assert after > before + 0.3, (before, after)
    assert after > 0.8


def test_loss_is_task_loss_plus_weighted_attention_loss():
    data = synthetic(6, 3)
    model = tiny()
    model.eval()
    wrapped = AttentionSupervised(model, SupervisionConfig(weight=2.0))
    plain = model(data["input_ids"], data["attention_mask"], labels=data["labels"]).loss
    total = wrapped(**data).loss
    assert total.item() == pytest.approx(plain.item() + 2.0 * wrapped.last_attention_loss)
    assert wrapped.last_attention_loss > 0
    no_gold = dict(data, has_gold=torch.zeros(6, dtype=torch.bool))
    assert wrapped(**no_gold).loss.item() == pytest.approx(plain.item())
    without_keys = {k: data[k] for k in ("input_ids", "attention_mask", "labels")}
    assert wrapped(**without_keys).loss.item() == pytest.approx(plain.item())


def test_state_dict_is_the_bare_models():
    model = tiny()
    wrapped = AttentionSupervised(model, SupervisionConfig(weight=1.0))
    assert wrapped.state_dict().keys() == model.state_dict().keys()
    fresh = tiny()
    with torch.no_grad():
        for p in fresh.parameters():
            p.add_(1.0)
    AttentionSupervised(fresh, SupervisionConfig()).load_state_dict(wrapped.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(),
                                                  model.state_dict().values()))
