"""Guided alignment: the supervised head learns the gold alignment; unsupervised ones do not."""
import torch

from attnpred.data.parallel import collate
from attnpred.supervision.guided_alignment import (GuidedAlignment, GuidedAlignmentConfig,
                                                   alignment_targets, guided_alignment_loss)

from tests.seq2seq.conftest import tiny_transformer


def test_alignment_targets_spread_over_subwords():
    # source words: w0 = sub-words 0,1; w1 = 2; </s> = -1. target: word 0 = rows 0,1; word 1 = 2
    gold = alignment_targets({(0, 1), (1, 0)}, [0, 0, 1, -1], [0, 0, 1], src_len=5, tgt_len=4)
    expected = torch.zeros(4, 5)
    expected[0, 2] = expected[1, 2] = 1.0
    expected[2, 0] = expected[2, 1] = 0.5
    torch.testing.assert_close(gold, expected)


def test_loss_is_cross_entropy_of_chosen_heads():
    cross = torch.tensor([[[[0.5, 0.5]], [[1.0, 0.0]]]])  # (B=1, H=2, T=1, S=2)
    gold = torch.tensor([[[1.0, 0.0]]])
    assert guided_alignment_loss(cross, gold, heads=(0,)).item() == torch.tensor(0.5).log().neg().item()
    assert guided_alignment_loss(cross, gold, heads=(1,)).item() < 1e-6
    assert guided_alignment_loss(cross, torch.zeros(1, 1, 2)).item() == 0.0


def test_shifted_loss_reads_the_next_row():
    gold = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]])  # rows in tgt_out order
    shifted = torch.tensor([[[[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]]]])  # row t+1 aligns target t
    assert guided_alignment_loss(shifted, gold, shift=True).item() < 1e-6
    assert guided_alignment_loss(shifted, gold, shift=False).item() > 1.0


def reverse_task(n: int, g: torch.Generator):
    """Target = reversed source; gold alignment: target word j <-> source word len-1-j."""
    src, tgt, links = [], [], []
    for _ in range(n):
        length = int(torch.randint(3, 7, (1,), generator=g))
        words = torch.randint(4, 24, (length,), generator=g).tolist()
        src.append(words + [2])
        tgt.append(words[::-1])
        links.append({(length - 1 - j, j) for j in range(length)})
    batch = collate(src, tgt)
    s, t = batch["src_ids"].shape[1], batch["tgt_out"].shape[1]
    batch["align"] = torch.stack([
        alignment_targets(l, list(range(len(x) - 1)) + [-1], list(range(len(y))), s, t)
        for l, x, y in zip(links, src, tgt)])
    return batch


def divergence(model, batch, shift: bool = False) -> float:
    batch = {k: v for k, v in batch.items() if k != "align"} | {"align": batch["align"]}
    with torch.no_grad():
        out = model(**batch, need_weights=True)
    return float(guided_alignment_loss(out.cross_attentions[-1], batch["align"], (0,), shift))


def train(weight: float, steps: int = 120, shift: bool = False) -> tuple[float, float]:
    model = GuidedAlignment(tiny_transformer(), GuidedAlignmentConfig(
        weight=weight, layer=-1, heads=(0,), shift=shift), 2)
    g = torch.Generator().manual_seed(0)
    held_out = reverse_task(32, torch.Generator().manual_seed(99))
    before = divergence(model, held_out, shift)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        loss = model(**reverse_task(32, g)).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return before, divergence(model, held_out, shift)


def test_guided_loss_reduces_divergence_from_gold():
    before, guided = train(weight=1.0)
    _, unguided = train(weight=0.0)
    assert guided < 0.6 * before
    assert guided < 0.6 * unguided


def test_shifted_guidance_is_learnt_where_it_is_read():
    before, guided = train(weight=1.0, shift=True)
    assert guided < 0.6 * before
