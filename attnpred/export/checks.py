"""What an export or a pruning is judged on: the run's own examples, accuracy, timing, and
the largest difference between two predictors' outputs."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from attnpred.errors import AttnpredError


def test_examples(run_dir: Path, predictor: Any, split: str = "test") -> tuple[list[str], list]:
    """The run's own test texts and labels (its saved split)."""
    from attnpred.tasks.classify_data import load_splits
    splits, _ = load_splits(predictor.config.data, run_dir / "split.json")
    examples = getattr(splits, split)
    if not examples:
        raise AttnpredError(f"the run has no {split} examples", file=run_dir)
    return [e.text for e in examples], [e.label for e in examples]


def max_differences(a: Sequence[Any], b: Sequence[Any]) -> dict[str, float]:
    """Max absolute difference of probabilities and of word attention between two runs."""
    prob = max(abs(x.probabilities[k] - y.probabilities[k])
               for x, y in zip(a, b) for k in x.probabilities)
    att = max((abs(p - q) for x, y in zip(a, b)
               for p, q in zip(x.word_attention or [], y.word_attention or [])), default=0.0)
    return {"probabilities": prob, "word_attention": att}


def accuracy(preds: Sequence[Any], labels: Sequence[str]) -> float:
    return sum(p.label == y for p, y in zip(preds, labels)) / len(labels)


def timed_predict(predictor: Any, texts: list[str], batch_size: int) -> tuple[list, float]:
    start = time.perf_counter()
    preds = predictor.predict(texts, return_attention=True, batch_size=batch_size)
    return preds, time.perf_counter() - start
