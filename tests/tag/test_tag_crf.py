"""The CRF against brute force over every tag path, and its scheme constraints."""
from __future__ import annotations

import itertools

import torch

from attnpred.models.crf import CRF


def path_score(crf: CRF, em: torch.Tensor, tags: tuple[int, ...]) -> torch.Tensor:
    s = crf.start_transitions[tags[0]] + em[0, tags[0]]
    for i in range(1, len(tags)):
        s = s + crf.transitions[tags[i - 1], tags[i]] + em[i, tags[i]]
    return s + crf.end_transitions[tags[-1]]


def tiny(seed: int = 0, c: int = 3, w: int = 4):
    torch.manual_seed(seed)
    crf = CRF(c)
    with torch.no_grad():  # away from the near-zero init, so transitions matter
        for p in crf.parameters():
            p.normal_(0, 1.0)
    return crf, torch.randn(2, w, c)


@torch.no_grad()
def test_viterbi_equals_brute_force():
    crf, em = tiny()
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    decoded = crf.viterbi(em, mask)
    for b in range(2):
        n = int(mask[b].sum())
        best = max(itertools.product(range(3), repeat=n),
                   key=lambda t: float(path_score(crf, em[b, :n], t)))
        assert decoded[b] == list(best)


def test_log_likelihood_equals_brute_force_partition():
    crf, em = tiny(1)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.bool)
    tags = torch.tensor([[0, 2, 1, 1], [2, 2, 0, 0]])
    ll = crf.log_likelihood(em, tags, mask)
    for b in range(2):
        n = int(mask[b].sum())
        scores = torch.stack([path_score(crf, em[b, :n], t)
                              for t in itertools.product(range(3), repeat=n)])
        expected = path_score(crf, em[b, :n], tuple(tags[b, :n].tolist())) \
            - torch.logsumexp(scores, 0)
        assert torch.allclose(ll[b], expected, atol=1e-5)
    assert torch.allclose(crf.nll(em, tags, mask), -ll.sum() / 7)


def test_forbidden_transitions_are_never_decoded():
    crf, em = tiny(2)
    start = torch.tensor([False, False, True])  # tag 2 cannot start
    pairs = torch.zeros(3, 3, dtype=torch.bool)
    pairs[0, 1] = True  # 1 cannot follow 0
    crf.forbid(start, pairs, torch.zeros(3, dtype=torch.bool))
    em = torch.zeros(1, 4, 3)
    em[0, 0, 2] = em[0, 1, 0] = em[0, 2, 1] = 5.0  # the emissions alone want 2, 0, 1, *
    path = crf.viterbi(em, torch.ones(1, 4, dtype=torch.bool))[0]
    assert path[0] != 2 and all((a, b) != (0, 1) for a, b in zip(path, path[1:]))
