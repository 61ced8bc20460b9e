"""``AttentionSupervised``: adds lambda * attention loss to any classifier's task loss.

The wrapped model only needs ``forward(input_ids, attention_mask, labels=None,
need_weights=False, **unused)`` returning an output with ``loss``, ``pooling_attention`` and
``attentions`` (both attnpred classifiers do). The wrapper adds no parameters: its state dict
is the wrapped model's, so saved weights load into the bare model for prediction.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from torch import Tensor, nn

from attnpred.supervision.config import SupervisionConfig
from attnpred.supervision.losses import attention_loss, supervised_maps


class SupervisionWrapper(nn.Module):
    """A wrapper that adds a loss on the wrapped model's attention and holds no state of its
    own: it saves and loads exactly the wrapped model's weights."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.model.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True,
                        assign: bool = False) -> Any:
        return self.model.load_state_dict(state_dict, strict=strict, assign=assign)


class AttentionSupervised(SupervisionWrapper):
    """Wrap ``model`` so that batches with ``gold_attention`` train its attention too.

    Batch keys it reads besides the model's own: ``gold_attention`` (B, T) gold distribution
    over sub-word tokens, ``has_gold`` (B,) bool, ``word_mask`` (B, T) True for word tokens.

    Attributes:
        last_attention_loss: the attention loss of the last forward (a float, for logging).
    """

    def __init__(self, model: nn.Module, cfg: SupervisionConfig) -> None:
        super().__init__(model)
        self.cfg = cfg
        self.last_attention_loss = 0.0

    def forward(self, input_ids: Tensor, attention_mask: Tensor, labels: Tensor | None = None,
                gold_attention: Tensor | None = None, has_gold: Tensor | None = None,
                word_mask: Tensor | None = None, need_weights: bool = False,
                **rest: Any) -> Any:
        """The model's output, with ``loss`` = task loss + weight * attention loss."""
        supervise = self.cfg.active and gold_attention is not None and has_gold is not None
        need = need_weights or (supervise and self.cfg.target == "cls")
        out = self.model(input_ids, attention_mask, labels=labels, need_weights=need, **rest)
        if not supervise or not bool(has_gold.any()):
            self.last_attention_loss = 0.0
            return out
        att = attention_loss(supervised_maps(out, self.cfg), gold_attention, has_gold,
                             self.cfg, word_mask)
        self.last_attention_loss = float(att.detach())
        total = self.cfg.weight * att if out.loss is None else out.loss + self.cfg.weight * att
        return dataclasses.replace(out, loss=total)


def unwrap(model: nn.Module) -> nn.Module:
    """The bare model inside a supervision wrapper (or the model itself)."""
    return model.model if isinstance(model, SupervisionWrapper) else model
