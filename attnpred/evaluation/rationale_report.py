"""Score a predictor's attention against human rationales, beside uniform, random and human.

Works with any predictor that has ``predict(texts, return_attention=True, attention=...)``
returning objects with ``probabilities`` (label -> p) and ``word_attention`` (one weight per
whitespace word), such as ``ClassifierPredictor``.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from attnpred.evaluation.rationales import (faithfulness, human_agreement, plausibility,
                                            random_scores, uniform_scores)


def proba_fn(predictor: Any, batch_size: int | None = None):
    """The predictor as ``PredictProba``: word lists -> (N, C) probabilities."""
    def predict_proba(word_lists: list[list[str]]) -> np.ndarray:
        preds = predictor.predict([" ".join(w) for w in word_lists], batch_size=batch_size)
        labels = list(preds[0].probabilities) if preds else []
        return np.asarray([[p.probabilities[lab] for lab in labels] for p in preds])
    return predict_proba


def rationale_report(predictor: Any, texts: Sequence[str], human: Sequence[Sequence[int]], *,
                     annotators: Sequence[Sequence[Sequence[int]]] | None = None,
                     union: Sequence[Sequence[int]] | None = None, attention: str = "auto",
                     with_faithfulness: bool = True, min_votes: float = 0.5,
                     seed: int = 13) -> dict[str, Any]:
    """Plausibility (and faithfulness) of the model's word attention and of the baselines.

    Args:
        predictor: see the module docstring.
        texts: the texts; their words are ``text.split()``.
        human: per text, the reference human mask over its words.
        annotators: per text, every annotator's mask (adds the ``human`` ceiling).
        union: per text, the union of the annotators' masks (adds ``*_union`` plausibility).
        attention: which attention the predictor returns ('auto', 'pooling', 'cls').
        with_faithfulness: also compute comprehensiveness and sufficiency (2 x 5 extra
            predictions per text).
        min_votes: share of the other annotators that makes a word gold (human ceiling).
        seed: seed of the random baseline.
    Returns:
        ``{"model": {...}, "uniform": {...}, "random": {...}, "human": {...}}``: each holds
        ``auprc``, ``token_f1``, ``iou_f1``, ... (faithfulness for model and random).
    """
    preds = predictor.predict(list(texts), return_attention=True, attention=attention)
    words = [t.split() for t in texts]
    maps = {"model": [p.word_attention for p in preds],
            "uniform": uniform_scores([len(w) for w in words]),
            "random": random_scores([len(w) for w in words], seed)}
    report: dict[str, Any] = {name: plausibility(scores, human) for name, scores in maps.items()}
    if union is not None:
        for name, scores in maps.items():
            report[name] |= {f"{k}_union": v for k, v in plausibility(scores, union).items()
                             if k in ("auprc", "token_f1", "iou_f1")}
    if with_faithfulness:
        proba = proba_fn(predictor)
        for name in ("model", "random"):
            report[name] |= faithfulness(words, maps[name], proba)
    if annotators is not None:
        report["human"] = human_agreement(annotators, min_votes)
    report["attention"] = preds[0].attention_source if preds else None
    return report


def evaluate_rationales(predictor: Any, examples: Sequence[Any], cfg: Any,
                        with_faithfulness: bool = True) -> dict[str, Any] | None:
    """``rationale_report`` on the examples that carry rationales (None when none does).

    Args:
        predictor: see the module docstring.
        examples: ``TextExample`` records (rationales in ``extra`` or in ``cfg.rationales``).
        cfg: the run's ``SupervisionConfig`` (keys, rationale file, ``min_votes``).
        with_faithfulness: also compute comprehensiveness and sufficiency.
    """
    from attnpred.supervision.gold import example_rationales
    pairs = [(e, r) for e, r in zip(examples, example_rationales(examples, cfg)) if r is not None]
    if not pairs:
        return None
    rats = [r for _, r in pairs]
    several = any(len(r.masks) > 1 for r in rats)
    report = rationale_report(
        predictor, [e.text for e, _ in pairs], [r.reference(cfg.min_votes) for r in rats],
        annotators=[r.masks for r in rats] if several else None,
        union=[r.union() for r in rats] if several else None,
        with_faithfulness=with_faithfulness, min_votes=cfg.min_votes)
    return report | {"n_with_rationales": len(pairs), "n_examples": len(examples)}


def format_rationales(report: dict[str, Any]) -> str:
    """A small table: plausibility and faithfulness of the model beside the baselines."""
    cols = ("auprc", "token_f1", "iou_f1", "comprehensiveness", "sufficiency")
    lines = [f"rationales ({report.get('n_with_rationales', '?')} texts, attention "
             f"{report.get('attention')})", f"{'':10}" + "".join(f"{c:>18}" for c in cols)]
    for name in ("model", "uniform", "random", "human"):
        if name in report:
            row = report[name]
            cells = "".join(f"{row[c]:>18.4f}" if c in row else f"{'-':>18}" for c in cols)
            lines.append(f"{name:10}{cells}")
    return "\n".join(lines)
