"""Explaining predictions: what any model attends to.

``explain(predictor, inputs)`` returns one typed explanation per input (``types``): every
layer and head at word level, derived maps (``maps``: head reductions, rollout,
gradient-weighted attention), plausibility against gold and per-example faithfulness
(``faithfulness``). ``html.write_report`` draws them as one offline HTML file; ``export``
writes JSON, ``.npz``, PNG and SVG.
"""
from __future__ import annotations

import importlib
from typing import Any, Sequence

from attnpred.errors import AttnpredError

# predictor class name -> "module:function" explaining its inputs; one entry per family
EXPLAINERS = {
    "ClassifierPredictor": "attnpred.explain.classify:explain_classifier",
    "Seq2SeqPredictor": "attnpred.explain.seq2seq:explain_seq2seq",
    "ForecastPredictor": "attnpred.explain.forecast:explain_forecasts",
}


def explain(predictor: Any, inputs: Sequence[Any], *, methods: Sequence[str] | None = None,
            faithfulness: Sequence[str] = (), matrices: bool = False,
            batch_size: int | None = None) -> list[Any]:
    """Explain ``inputs`` with a loaded predictor (``attnpred.load(run)``).

    Args:
        predictor: a classifier, seq2seq or forecast predictor.
        inputs: classify: texts or records (text, label, rationale); seq2seq: source texts or
            records (src, tgt reference, alignment); forecast: series (CSV paths or Series)
            or (series, end row) pairs.
        methods: classify only: which maps to compute (``classify.METHODS``); default
            ``classify.DEFAULT_METHODS``: all but 'gradient_layers' (leave 'gradient' out to
            save the backward pass).
        faithfulness: classify only: methods whose per-example faithfulness to compute.
        matrices: also keep word x word maps (for heatmaps and exports).
        batch_size: examples per forward pass (default: the run's eval batch size).
    Returns:
        One ``TextExplanation``, ``TranslationExplanation`` or ``ForecastExplanation`` per
        input, in order.
    Raises:
        AttnpredError: an unknown predictor, method or malformed input.
    """
    name = type(predictor).__name__
    if name not in EXPLAINERS:
        raise AttnpredError(f"cannot explain a {name}; expected one of {sorted(EXPLAINERS)}")
    module, func = EXPLAINERS[name].split(":")
    fn = getattr(importlib.import_module(module), func)
    return fn(predictor, list(inputs), methods=methods, faithfulness=faithfulness,
              matrices=matrices, batch_size=batch_size)
