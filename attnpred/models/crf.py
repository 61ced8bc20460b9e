"""Linear-chain CRF over word tags, with Viterbi decoding.

The CRF itself is `pytorch-crf` (``torchcrf.CRF``: vectorised forward algorithm and Viterbi,
start/end/transition scores); this module only fixes the batch-first layout and the loss and
decoding calls the tagger uses. Shape legend: B batch, W words, C tags.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torchcrf import CRF as _TorchCRF


class CRF(_TorchCRF):
    """A batch-first CRF over C tags (parameters: ``start_transitions`` (C),
    ``end_transitions`` (C), ``transitions`` (C, C): score of tag i followed by tag j)."""

    def __init__(self, num_tags: int) -> None:
        super().__init__(num_tags, batch_first=True)

    def log_likelihood(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """(B,) log p(tags | emissions) of each sentence.

        Args:
            emissions: (B, W, C) scores; tags: (B, W) gold tag ids (any id where masked);
            mask: (B, W) bool, True on real words (a prefix of every row, first word on).
        """
        return self(emissions, tags, mask=mask.bool(), reduction="none")

    def nll(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Negative log-likelihood per real word (the scale of a token cross-entropy)."""
        return -self.log_likelihood(emissions, tags, mask).sum() / mask.sum().clamp_min(1)

    def viterbi(self, emissions: Tensor, mask: Tensor) -> list[list[int]]:
        """The highest-scoring tag sequence of each sentence (its real words only)."""
        return self.decode(emissions, mask=mask.bool())

    @torch.no_grad()
    def forbid(self, start: Tensor, pairs: Tensor, end: Tensor, score: float = -1e4) -> None:
        """Give forbidden transitions a large negative score (e.g. ``O -> I-loc`` in BIO), so
        Viterbi never outputs an ill-formed span; training only pushes them lower.

        Args:
            start: (C,) bool, tags that cannot start a sentence.
            pairs: (C, C) bool, [i, j] True when tag j cannot follow tag i.
            end: (C,) bool, tags that cannot end a sentence.
        """
        self.start_transitions[start] = score
        self.transitions[pairs] = score
        self.end_transitions[end] = score
