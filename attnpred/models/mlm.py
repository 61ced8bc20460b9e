"""Masked-token language model on the from-scratch encoder (BERT-style head, tied embeddings).

The pretraining recipe that trains it is ``attnpred.tasks.pretrain``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnpred.models.classifier import ClassifierConfig, TransformerClassifier


@dataclass
class MaskedLMOutput:
    """Attributes:
        logits: (N, V) scores of the masked tokens only (saves the (B, T, V) product).
        loss: scalar cross-entropy over the masked tokens, or None without labels.
    """

    logits: Tensor
    loss: Tensor | None = None


class MaskedLM(nn.Module):
    """A ``TransformerClassifier``'s encoder with a BERT-style LM head tied to its embeddings."""

    def __init__(self, cfg: ClassifierConfig) -> None:
        super().__init__()
        self.backbone = TransformerClassifier(cfg)
        self.transform = nn.Sequential(nn.Linear(cfg.dim, cfg.dim), nn.GELU(),
                                       nn.LayerNorm(cfg.dim))
        self.bias = nn.Parameter(torch.zeros(cfg.vocab_size))

    def forward(self, input_ids: Tensor, attention_mask: Tensor, mlm_labels: Tensor | None = None,
                **unused: Tensor) -> MaskedLMOutput:
        """mlm_labels: (B, T) original ids at the chosen positions, -100 elsewhere."""
        hidden = self.backbone.encode(input_ids, attention_mask).hidden  # (B, T, E)
        chosen = (mlm_labels != -100) if mlm_labels is not None else attention_mask.bool()
        h = self.transform(hidden[chosen])  # (N, E)
        logits = h @ self.backbone.embed.weight.T + self.bias  # (N, V)
        loss = None if mlm_labels is None else F.cross_entropy(logits, mlm_labels[chosen])
        return MaskedLMOutput(logits, loss)
