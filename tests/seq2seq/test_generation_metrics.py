"""sacreBLEU, chrF and ROUGE wrappers: perfect output scores 100, mismatch is a user error."""
import pytest

from attnpred.errors import AttnpredError
from attnpred.evaluation.generation import bleu, chrf, generation_metrics, rouge


def test_perfect_and_partial_scores():
    refs = [["the cat sat on the mat", "a dog runs in the park"]]
    assert bleu(refs[0], refs) == pytest.approx(100.0)
    assert chrf(refs[0], refs) == pytest.approx(100.0)
    partial = ["the cat sat on a mat", "a dog walks in the park"]
    assert 0 < bleu(partial, refs) < 100
    assert bleu(["THE CAT SAT ON THE MAT", "a dog runs in the park"], refs, lowercase=True) \
        == pytest.approx(100.0)


def test_rouge_averages_over_reference_streams():
    hyps = ["meeting moved to friday"]
    same = rouge(hyps, [["meeting moved to friday"]])
    assert same == pytest.approx({"rouge1": 100.0, "rouge2": 100.0, "rougeL": 100.0})
    two = rouge(hyps, [["meeting moved to friday"], ["lunch on monday"]])
    assert two["rouge1"] == pytest.approx(50.0)  # mean of 100 and 0


def test_errors():
    with pytest.raises(AttnpredError, match="2 outputs but 1 references"):
        bleu(["a", "b"], [["a"]])
    with pytest.raises(AttnpredError, match="unknown metric"):
        generation_metrics(["a"], [["a"]], ["meteor"])
