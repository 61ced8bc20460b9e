"""Classification report (per class, micro/macro/weighted) and confusion matrix, always beside
the majority-class baseline. Metrics come from scikit-learn."""
from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def classification_metrics(gold: Sequence[str], pred: Sequence[str],
                           labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class P/R/F1/support, micro/macro/weighted averages, confusion.

    Args:
        gold, pred: label strings, aligned.
        labels: every class in a fixed order (rows/columns of the confusion matrix).
    """
    labels = list(labels)
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    per_class = {lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                       "support": int(s[i])} for i, lab in enumerate(labels)}
    averages = {}
    for avg in ("micro", "macro", "weighted"):
        ap, ar, af, _ = precision_recall_fscore_support(gold, pred, labels=labels, average=avg,
                                                        zero_division=0)
        averages[avg] = {"precision": float(ap), "recall": float(ar), "f1": float(af)}
    return {
        "accuracy": float(accuracy_score(gold, pred)),
        "macro_f1": float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)),
        "n": len(gold),
        "per_class": per_class,
        "averages": averages,
        "labels": labels,
        "confusion_matrix": confusion_matrix(gold, pred, labels=labels).tolist(),
    }


def majority_label(train_labels: Sequence[str]) -> str:
    """The most frequent training label (ties broken by label order for determinism)."""
    counts = Counter(train_labels)
    return min(counts, key=lambda lab: (-counts[lab], lab))


def evaluate_with_baseline(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str],
                           majority: str) -> dict[str, Any]:
    """The model's metrics and the majority baseline's, side by side."""
    return {"model": classification_metrics(gold, pred, labels),
            "majority": classification_metrics(gold, [majority] * len(gold), labels) |
            {"label": majority}}


def format_report(result: dict[str, Any]) -> str:
    """A readable report: per-class table, averages, confusion matrix, baseline line."""
    m, b = result["model"], result["majority"]
    labels = m["labels"]
    width = max(12, *(len(x) for x in labels)) + 2
    lines = [f"{'':{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for lab in labels:
        c = m["per_class"][lab]
        lines.append(f"{lab:{width}}{c['precision']:10.4f}{c['recall']:10.4f}{c['f1']:10.4f}"
                     f"{c['support']:10d}")
    lines.append("")
    for avg, v in m["averages"].items():
        lines.append(f"{avg + ' avg':{width}}{v['precision']:10.4f}{v['recall']:10.4f}"
                     f"{v['f1']:10.4f}{m['n']:10d}")
    lines += ["", f"accuracy {m['accuracy']:.4f}   macro-F1 {m['macro_f1']:.4f}   "
              f"(majority baseline '{b['label']}': accuracy {b['accuracy']:.4f}, "
              f"macro-F1 {b['macro_f1']:.4f})", "", "confusion matrix (rows gold, cols pred):"]
    lines.append(" " * width + "".join(f"{lab[:9]:>10}" for lab in labels))
    for lab, row in zip(labels, m["confusion_matrix"]):
        lines.append(f"{lab:{width}}" + "".join(f"{v:10d}" for v in row))
    return "\n".join(lines)
