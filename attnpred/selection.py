"""Choosing among candidates on validation by the one-standard-error rule.

A validation split scores every candidate setting; the lowest mean error is a noisy estimate,
and on a drifting series the candidate that wins on the validation months often loses later.
The one-standard-error rule (Breiman et al. 1984; glmnet's ``lambda.1se``) keeps the simplest
candidate whose validation error is within one standard error of the best one's. The standard
error is that of the paired difference to the best candidate over contiguous blocks of the
validation windows: neighbouring windows overlap and their errors move together, so the blocks
(each as long as the horizon where the split allows), not the windows, are the independent-ish
units.

Candidates are given simplest first (e.g. the largest ridge penalty first, the linear skip
before the skip plus the attention path); with one block the rule is a plain minimum.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

BLOCKS = 10
"""At most this many contiguous blocks of validation windows for the standard error."""


def block_count(windows: int, horizon: int = 1) -> int:
    """How many blocks ``windows`` validation windows make: windows less than a horizon apart
    forecast some of the same rows, so a block spans at least ``horizon`` windows where it can
    (between 2 and BLOCKS blocks; 1 when there is a single window)."""
    if windows < 2:
        return 1
    return max(2, min(BLOCKS, windows // max(horizon, 1)))


def block_means(values: np.ndarray, blocks: int = BLOCKS) -> np.ndarray:
    """Mean of ``values`` (N,) over ``blocks`` contiguous, near-equal blocks (fewer if N is
    smaller)."""
    values = np.asarray(values, dtype=np.float64)
    parts = np.array_split(values, min(blocks, len(values)))
    return np.array([p.mean() for p in parts])


@dataclass
class Choice:
    """The outcome of ``one_standard_error``.

    Attributes:
        index: the chosen candidate (the first within one standard error of the best).
        best: the candidate with the lowest mean error.
        means: each candidate's mean error over the blocks.
        gaps: each candidate's mean paired difference to the best.
        standard_errors: the standard error of that difference.
    """

    index: int
    best: int
    means: list[float]
    gaps: list[float]
    standard_errors: list[float]


def one_standard_error(errors: Sequence[np.ndarray]) -> Choice:
    """The simplest candidate within one standard error of the best.

    Args:
        errors: per candidate (simplest first), its errors on the same validation blocks
            (K,) (e.g. ``block_means`` of per-window MSE); all of the same length.
    Returns:
        The Choice; with K = 1 block, the plain minimum.
    Raises:
        ValueError: no candidates, or blocks of different lengths.
    """
    if not errors:
        raise ValueError("one_standard_error needs at least one candidate")
    table = np.stack([np.asarray(e, dtype=np.float64) for e in errors])  # (N, K)
    means = table.mean(1)
    best = int(means.argmin())
    diff = table - table[best]  # (N, K) paired differences to the best
    k = table.shape[1]
    se = diff.std(1, ddof=1) / np.sqrt(k) if k > 1 else np.zeros(len(table))
    gaps = diff.mean(1)
    index = next(i for i in range(len(table)) if gaps[i] <= se[i])
    return Choice(index, best, means.tolist(), gaps.tolist(), se.tolist())
