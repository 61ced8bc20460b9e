"""Learning-rate schedules: linear warmup, then linear, cosine or constant decay."""
from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

SCHEDULES = ("linear", "cosine", "constant")


def warmup_decay(optimizer: Optimizer, warmup_steps: int, total_steps: int,
                 kind: str = "linear") -> LambdaLR:
    """LambdaLR rising linearly for ``warmup_steps`` then decaying to 0 at ``total_steps``."""
    if kind not in SCHEDULES:
        raise ValueError(f"unknown schedule {kind!r}; choose from {SCHEDULES}")

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        if kind == "constant":
            return 1.0
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        if kind == "linear":
            return 1.0 - progress
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, factor)
