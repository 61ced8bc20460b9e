"""make_optimizer: the fused AdamW kernel where torch has one, with the same updates."""
import pytest
import torch

from attnpred.training.trainer import TrainerConfig, make_optimizer
from test_trainer import tiny_model

CPU_FUSED = tuple(int(x) for x in torch.__version__.split(".")[:2]) >= (2, 4)


def steps(model, opt, n=1):
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(5, 50, (4, 7), generator=g)
    batch = {"input_ids": ids, "attention_mask": torch.ones(4, 7, dtype=torch.bool),
             "labels": ids[:, 0] % 2}
    model.eval()  # no dropout: the two runs must see the same gradients
    for _ in range(n):
        model(**batch).loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)


@pytest.mark.skipif(not CPU_FUSED, reason="torch < 2.4 has no fused AdamW on CPU")
def test_cpu_optimizer_is_fused():
    opt = make_optimizer(tiny_model(), TrainerConfig(lr=1e-3))
    assert all(group["fused"] for group in opt.param_groups)


def test_same_updates_and_decay_groups_as_plain_adamw():
    cfg = TrainerConfig(lr=1e-2, weight_decay=0.1)
    ours, ref = tiny_model(), tiny_model()
    opt = make_optimizer(ours, cfg)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]
    assert all(p.dim() >= 2 for p in opt.param_groups[0]["params"])
    assert all(p.dim() < 2 for p in opt.param_groups[1]["params"])
    plain = torch.optim.AdamW(
        [{"params": [p for p in ref.parameters() if p.dim() >= 2], "weight_decay": 0.1},
         {"params": [p for p in ref.parameters() if p.dim() < 2], "weight_decay": 0.0}],
        lr=1e-2, foreach=False, fused=False)
    before = [p.detach().clone() for p in ours.parameters()]
    steps(ours, opt)  # one step: later ones amplify rounding where gradients are ~0
    steps(ref, plain)
    for a, b, p0 in zip(ours.parameters(), ref.parameters(), before):
        assert not torch.equal(a, p0)  # the step moved the weights (decay at least)
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
