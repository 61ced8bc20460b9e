"""One self-contained, offline HTML report of explanations.

The file holds its CSS and JS inline (package resources ``attnpred/resources/explain``) under
a Content-Security-Policy that allows exactly those two blocks (by SHA-256 hash) and nothing
else: no network request of any kind, no other script. The data sit in a
``<script type="application/json">`` block with ``<``, ``>`` and ``&`` written as JSON escapes,
so no input text can close the block; the page puts text on screen with ``textContent`` only.
Maps are quantised to 8 bits (relative to each map's maximum) and base64-encoded; the page
decodes one example's map when it draws it and draws only the selected layer and head.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from attnpred.io import atomic_write_text

# maps drawn by the page, with the selector label; rank = number of axes before the words
LABELS = {
    "attention": "attention: one layer, one head ([CLS] row)",
    "head_mean": "mean over heads (one layer)",
    "head_max": "max over heads (one layer)",
    "mean": "mean over layers and heads",
    "rollout": "attention rollout",
    "gradient_layers": "gradient × attention (one layer)",
    "gradient": "gradient × attention, propagated (Chefer)",
    "pooling": "pooling attention",
    "supervised": "supervised attention",
    "cross": "cross-attention: one layer, one head",
    "cross_mean": "cross-attention used for the links",
    "history": "attention over the history",
}
# the map shown first: the one that agreed best with people on Yelp-HAT
# (benchmarks/results/explain.json), then the others
PREFERRED = ("supervised", "gradient", "pooling", "rollout", "attention", "cross_mean",
             "history")
PAGE_SIZE = 20


def quantise(values: np.ndarray) -> dict[str, Any]:
    """8-bit map relative to its maximum: shape ``s``, maximum ``m``, base64 bytes ``q``."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0).clip(min=0.0)
    m = float(v.max()) if v.size else 0.0
    q = np.zeros(v.shape, np.uint8) if m <= 0 else np.round(v / m * 255).astype(np.uint8)
    return {"s": list(v.shape), "m": m, "q": base64.b64encode(q.tobytes()).decode("ascii")}


def _num(x: Any) -> Any:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else round(x, 5)


def _maps(ex: Any) -> dict[str, Any]:
    return {k: quantise(v) for k, v in ex.maps.items() if k in LABELS}


def _classify(ex: Any) -> dict[str, Any]:
    error = None if ex.gold_label is None else float(ex.gold_label != ex.label)
    return {"family": "classify", "text": ex.text, "words": ex.words, "label": ex.label,
            "probabilities": {k: _num(v) for k, v in ex.probabilities.items()},
            "confidence": _num(ex.confidence), "gold_label": ex.gold_label, "gold": ex.gold,
            "error": error, "maps": _maps(ex),
            "plausibility": {m: {k: _num(v) for k, v in p.items()}
                             for m, p in ex.plausibility.items()},
            "faithfulness": {m: {"method": f.method, "bins": f.bins,
                                 "drop": [_num(x) for x in f.drop],
                                 "random_drop": [_num(x) for x in f.random_drop]}
                             for m, f in ex.faithfulness.items()}}


def _seq2seq(ex: Any) -> dict[str, Any]:
    return {"family": "seq2seq", "text": ex.text, "output": ex.output,
            "reference": ex.reference, "src_words": ex.src_words, "tgt_words": ex.tgt_words,
            "score": _num(ex.score), "confidence": _num(math.exp(min(ex.score, 0.0))),
            "error": None, "maps": _maps(ex), "links": [list(x) for x in ex.links],
            "gold_links": None if ex.gold_links is None else [list(x) for x in ex.gold_links]}


def _forecast(ex: Any) -> dict[str, Any]:
    rnd = lambda a: [[_num(x) for x in row] for row in np.asarray(a)]  # noqa: E731
    return {"family": "forecast", "name": ex.name, "columns": ex.columns, "dates": ex.dates,
            "history_dates": ex.history_dates, "values": rnd(ex.values),
            "history": rnd(ex.history), "truth": None if ex.truth is None else rnd(ex.truth),
            "error": _num(ex.error), "confidence": None, "maps": _maps(ex)}


CONVERT = {"classify": _classify, "seq2seq": _seq2seq, "forecast": _forecast}


def payload(explanations: Sequence[Any], title: str, method: str | None = None) -> dict:
    """The report's data: examples with quantised maps, and what the selectors offer."""
    examples = [CONVERT[ex.family](ex) for ex in explanations]
    names: dict[str, int] = {}
    layers = heads = 1
    for ex in explanations:
        for k, v in ex.maps.items():
            if k in LABELS:
                rank = v.ndim if ex.family == "classify" else max(v.ndim - 1, 1)
                names.setdefault(k, rank)
                if rank >= 2:
                    layers = max(layers, v.shape[0])
                if rank >= 3:
                    heads = max(heads, v.shape[1])
    order = [k for k in LABELS if k in names]
    default = method if method in names else next((m for m in PREFERRED if m in names),
                                                  order[0] if order else "")
    channels = next((ex.columns for ex in explanations if ex.family == "forecast"), [])
    return {"title": title, "summary": summary(explanations), "default_method": default,
            "methods": [{"name": k, "label": LABELS[k], "rank": names[k]} for k in order],
            "layers": layers, "heads": heads, "channels": channels, "page_size": PAGE_SIZE,
            "examples": examples}


def summary(explanations: Sequence[Any]) -> str:
    """One line: how many examples, and accuracy where gold labels exist."""
    n = len(explanations)
    parts = [f"{n} example{'s' if n != 1 else ''}"]
    gold = [ex for ex in explanations if getattr(ex, "gold_label", None) is not None]
    if gold:
        acc = sum(ex.gold_label == ex.label for ex in gold) / len(gold)
        parts.append(f"accuracy {acc:.3f} on {len(gold)} labelled")
    rated = [ex for ex in explanations if getattr(ex, "plausibility", None)]
    if rated:
        means = {m: np.mean([ex.plausibility[m]["auprc"] for ex in rated if m in ex.plausibility])
                 for m in rated[0].plausibility}
        best = sorted(means.items(), key=lambda kv: -kv[1])
        parts.append(f"{len(rated)} with a human rationale; mean AUPRC " +
                     ", ".join(f"{m} {v:.3f}" for m, v in best))
    return " · ".join(parts)


def _json_block(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _asset(name: str) -> str:
    return resources.files("attnpred.resources").joinpath("explain", name).read_text("utf-8")


def render(explanations: Sequence[Any], title: str = "attnpred explain",
           method: str | None = None) -> str:
    """The report as one HTML string."""
    css, js = _asset("report.css"), _asset("report.js")
    data = _json_block(payload(explanations, title, method))
    csp = (f"default-src 'none'; script-src {_sha256(js)}; style-src {_sha256(css)}; "
           "img-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{css}</style>
</head>
<body>
<header><h1 id="title"></h1><p id="summary"></p></header>
<div id="controls">
<label>map <select id="method"></select></label>
<label>layer <select id="layer"></select></label>
<label>head <select id="head"></select></label>
<label>channel <select id="channel"></select></label>
<label>search <input id="search" type="search" placeholder="words, labels"></label>
<label>sort <select id="sort">
<option value="index">input order</option>
<option value="confidence-desc">confidence, high first</option>
<option value="confidence-asc">confidence, low first</option>
<option value="error">errors first</option>
<option value="plausibility-desc">plausibility, high first</option>
<option value="plausibility-asc">plausibility, low first</option>
</select></label>
<span id="pager"><button id="prev" type="button">◀</button><span id="page"></span>
<button id="next" type="button">▶</button></span>
</div>
<main id="list"></main>
<script type="application/json" id="report-data">{data}</script>
<script>{js}</script>
</body>
</html>
"""


def write_report(explanations: Sequence[Any], path: str | Path, title: str = "attnpred explain",
                 method: str | None = None) -> Path:
    """Write the report to ``path`` (atomically) and return it.

    Args:
        explanations: from ``attnpred.explain.explain`` (any family, mixed allowed).
        path: the .html file to write.
        title: shown at the top (escaped).
        method: the map selected when the page opens (default: rollout, pooling, ...).
    """
    path = Path(path)
    atomic_write_text(path, render(explanations, title, method))
    return path
