"""Faithfulness of one importance map per example: delete the most-attended words and see how
much the predicted class's probability drops, beside deleting random words.

The measurement is ERASER's comprehensiveness and sufficiency
(``attnpred.evaluation.rationales.faithfulness``), kept per example; the random baseline is
``rationales.random_scores`` through the same function.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

from attnpred.evaluation.rationales import BINS, PredictProba, faithfulness, random_scores


@dataclass
class Faithfulness:
    """Faithfulness of one example's map.

    Attributes:
        method: the map scored (e.g. 'rollout').
        bins: fractions of the words deleted (1, 5, 10, 20, 50% by default; at least one word).
        drop: per bin, p(y|x) - p(y|x without the top words), y the predicted class.
        random_drop: the same when deleting as many random words.
        sufficiency: per bin, p(y|x) - p(y|only the top words).
        comprehensiveness: mean of ``drop`` (AOPC); random_comprehensiveness: of random_drop.
    """

    method: str
    bins: list[float]
    drop: list[float]
    random_drop: list[float]
    sufficiency: list[float]

    @property
    def comprehensiveness(self) -> float:
        return sum(self.drop) / len(self.drop)

    @property
    def random_comprehensiveness(self) -> float:
        return sum(self.random_drop) / len(self.random_drop)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"comprehensiveness": self.comprehensiveness,
                               "random_comprehensiveness": self.random_comprehensiveness,
                               "aopc_sufficiency": sum(self.sufficiency) / len(self.sufficiency)}


def per_example(words: Sequence[Sequence[str]], scores: Sequence[Sequence[float]],
                predict_proba: PredictProba, method: str, bins: Sequence[float] = BINS,
                seed: int = 13) -> list[Faithfulness]:
    """Faithfulness of ``scores`` for every example, with the random-deletion baseline.

    Args:
        words: per example, its words (as the model's pre-tokenizer splits them).
        scores: per example, one importance score per word.
        predict_proba: (N, C) class probabilities for N word lists.
        method: the name recorded with each result.
        bins: fractions of the words deleted.
        seed: of the random baseline.
    Returns:
        One Faithfulness per example (two batched calls of ``predict_proba``).
    """
    if not words:
        return []
    ours = faithfulness(words, scores, predict_proba, bins, per_text=True)
    rand = faithfulness(words, random_scores([len(w) for w in words], seed), predict_proba,
                        bins, per_text=True)
    return [Faithfulness(method, list(bins), c, r, s) for c, r, s in
            zip(ours["comprehensiveness_per_text"], rand["comprehensiveness_per_text"],
                ours["sufficiency_per_text"])]
