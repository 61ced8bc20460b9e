"""Classification report against hand-computed values, beside the majority baseline."""
import pytest

from attnpred.evaluation.classification import (evaluate_with_baseline, format_report,
                                                majority_label)

GOLD = ["pos", "pos", "neg", "neu", "neu", "neu"]
PRED = ["pos", "neg", "neg", "neu", "neu", "pos"]
LABELS = ["neg", "neu", "pos"]


def test_report_values_and_baseline():
    res = evaluate_with_baseline(GOLD, PRED, LABELS, majority_label(GOLD))
    m, b = res["model"], res["majority"]
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["per_class"]["pos"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert m["per_class"]["neg"]["precision"] == pytest.approx(0.5)
    assert m["per_class"]["neu"]["recall"] == pytest.approx(2 / 3)
    macro = (2 / 3 + 0.8 + 0.5) / 3  # f1 of neg, neu, pos
    assert m["macro_f1"] == pytest.approx(macro)
    assert m["averages"]["micro"]["f1"] == pytest.approx(4 / 6)
    assert m["confusion_matrix"] == [[1, 0, 0], [0, 2, 1], [1, 0, 1]]
    assert b["label"] == "neu" and b["accuracy"] == pytest.approx(0.5)
    text = format_report(res)
    assert "majority baseline 'neu'" in text and "confusion matrix" in text


def test_majority_ties_are_deterministic():
    assert majority_label(["b", "a", "b", "a"]) == "a"
