"""Token-tagging metrics: seqeval strict entity P/R/F1 (per type, micro, macro) for BIO/BIOES
tags, token accuracy for every tag set, the two baselines (majority tag per training word; 'O'
everywhere for NER) and a readable report.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Iterable, Sequence

Tags = Sequence[Sequence[str]]


def token_accuracy(gold: Tags, pred: Tags) -> float:
    """Share of words whose predicted tag equals the gold tag."""
    pairs = [(g, p) for gs, ps in zip(gold, pred) for g, p in zip(gs, ps)]
    return sum(g == p for g, p in pairs) / max(1, len(pairs))


def entity_scores(gold: Tags, pred: Tags, scheme: str = "bio") -> dict[str, Any]:
    """Entity-level precision, recall and F1 with strict span matching (seqeval).

    An entity counts only when its type and both its boundaries match exactly; predicted
    sequences that break the scheme lose the ill-formed entities.

    Returns:
        ``{"per_type": {type: {precision, recall, f1, support}}, "micro": {...},
        "macro": {...}}`` (support = number of gold entities).
    """
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2, IOBES
    mode = IOBES if scheme == "bioes" else IOB2
    report = classification_report([list(g) for g in gold], [list(p) for p in pred],
                                   mode="strict", scheme=mode, output_dict=True,
                                   zero_division=0)
    rename = {"precision": "precision", "recall": "recall", "f1-score": "f1",
              "support": "support"}
    clean = {name: {rename[k]: (int(v) if k == "support" else float(v))
                    for k, v in row.items()} for name, row in report.items()}
    averages = {"micro avg": "micro", "macro avg": "macro", "weighted avg": "weighted"}
    out: dict[str, Any] = {"per_type": {k: v for k, v in clean.items() if k not in averages}}
    for key, name in averages.items():
        out[name] = clean.get(key, {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0})
    return out


def score_tags(gold: Tags, pred: Tags, scheme: str) -> dict[str, Any]:
    """Token accuracy, plus entity scores when ``scheme`` is 'bio' or 'bioes'."""
    out: dict[str, Any] = {"token_accuracy": token_accuracy(gold, pred),
                           "words": sum(len(g) for g in gold), "sentences": len(gold)}
    if scheme in ("bio", "bioes"):
        out["entities"] = entity_scores(gold, pred, scheme)
        out["entity_f1"] = out["entities"]["micro"]["f1"]
    return out


class MajorityTagger:
    """Baseline: each word's most frequent training tag (exact form, then lower-cased), and
    the most frequent tag overall for unseen words. Ties go to the tag seen first."""

    def __init__(self, by_word: dict[str, str], by_lower: dict[str, str], default: str) -> None:
        self.by_word, self.by_lower, self.default = by_word, by_lower, default

    @classmethod
    def fit(cls, words: Iterable[Sequence[str]], tags: Iterable[Sequence[str]]
            ) -> "MajorityTagger":
        exact: dict[str, Counter] = defaultdict(Counter)
        lower: dict[str, Counter] = defaultdict(Counter)
        overall: Counter = Counter()
        for ws, ts in zip(words, tags):
            for w, t in zip(ws, ts):
                exact[w][t] += 1
                lower[w.lower()][t] += 1
                overall[t] += 1
        top = lambda c: c.most_common(1)[0][0]  # noqa: E731  (most_common keeps first-seen order)
        return cls({w: top(c) for w, c in exact.items()},
                   {w: top(c) for w, c in lower.items()}, top(overall))

    def predict(self, words: Sequence[str]) -> list[str]:
        return [self.by_word.get(w) or self.by_lower.get(w.lower()) or self.default
                for w in words]

    def to_json(self) -> dict[str, Any]:
        return {"by_word": self.by_word, "by_lower": self.by_lower, "default": self.default}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "MajorityTagger":
        return cls(d["by_word"], d["by_lower"], d["default"])


def evaluate_with_baselines(words: Sequence[Sequence[str]], gold: Tags, pred: Tags,
                            scheme: str, majority: MajorityTagger) -> dict[str, Any]:
    """The model's scores beside the majority-per-word baseline (and all-'O' for NER)."""
    result = score_tags(gold, pred, scheme)
    baselines = {"majority": score_tags(gold, [majority.predict(w) for w in words], scheme)}
    if scheme in ("bio", "bioes"):
        baselines["all_o"] = score_tags(gold, [["O"] * len(g) for g in gold], scheme)
    result["baselines"] = baselines
    result["scheme"] = scheme
    return result


def format_report(result: dict[str, Any]) -> str:
    """A plain-text report: per-type entity table (NER) and the model beside the baselines."""
    lines = []
    if "entities" in result:
        ent = result["entities"]
        lines.append(f"{'entity type':<22}{'precision':>10}{'recall':>10}{'f1':>10}"
                     f"{'support':>9}")
        rows = list(ent["per_type"].items()) + [("micro avg", ent["micro"]),
                                                ("macro avg", ent["macro"])]
        for name, r in rows:
            lines.append(f"{name:<22}{r['precision']:>10.4f}{r['recall']:>10.4f}"
                         f"{r['f1']:>10.4f}{r['support']:>9d}")
        lines.append("")
    head = f"{'':<22}{'token acc':>10}" + (f"{'entity F1':>10}" if "entities" in result else "")
    lines.append(head)
    named = [("model", result)] + [(f"baseline: {k}", v)
                                   for k, v in result.get("baselines", {}).items()]
    for name, r in named:
        row = f"{name:<22}{r['token_accuracy']:>10.4f}"
        if "entity_f1" in r:
            row += f"{r['entity_f1']:>10.4f}"
        lines.append(row)
    lines.append(f"({result['sentences']} sentences, {result['words']} words)")
    return "\n".join(lines)
