"""AER against an independent computation (issue 13): the alignment-scripts / awesome-align
recipe, re-implemented here from its description on raw gold strings, and a hand count."""
from __future__ import annotations

import pytest

from attnpred.alignment.metrics import alignment_scores
from attnpred.data.alignment import parse_gold, parse_pharaoh

# gold in the 1-indexed 'i-j' sure / 'ipj' possible format; hypotheses 0-indexed Pharaoh
GOLD = ["1-1 2-2 3p3 3p4", "1-2 2-1 2p2", "1p1 2-3 3-3 4-4"]
HYPS = ["0-0 1-1 2-2 1-2", "0-1 1-1", "0-0 1-2 3-3 2-0"]


def reference_aer(gold_lines: list[str], hyp_lines: list[str]) -> tuple[float, float, float]:
    """As alignment-scripts' aer.py counts it: per corpus, sure links are the '-' ones, possible
    links are all gold links; hypotheses are shifted to 1-indexed before matching."""
    sure_total = hyp_total = hit_sure = hit_possible = 0
    for g, h in zip(gold_lines, hyp_lines):
        sure, possible = set(), set()
        for tok in g.split():
            sep = "p" if "p" in tok else "-"
            i, j = tok.split(sep)
            possible.add((int(i), int(j)))
            if sep == "-":
                sure.add((int(i), int(j)))
        hyp = {(int(a) + 1, int(b) + 1) for a, b in (t.split("-") for t in h.split())}
        sure_total += len(sure)
        hyp_total += len(hyp)
        hit_sure += len(hyp & sure)
        hit_possible += len(hyp & possible)
    precision = hit_possible / hyp_total
    recall = hit_sure / sure_total
    return 1 - (hit_sure + hit_possible) / (hyp_total + sure_total), precision, recall


def test_aer_equals_the_independent_recipe_and_a_hand_count():
    ours = alignment_scores([parse_pharaoh(h) for h in HYPS], [parse_gold(g) for g in GOLD])
    aer, precision, recall = reference_aer(GOLD, HYPS)
    assert ours.aer == pytest.approx(aer)
    assert ours.precision == pytest.approx(precision)
    assert ours.recall == pytest.approx(recall)
    # by hand: |A| = 4 + 2 + 4 = 10, |S| = 2 + 2 + 3 = 7,
    # A∩S = {0-0,1-1} + {0-1} + {1-2,3-3} = 5, A∩P = 5 + {2-2 is 3p3} + {1-1 is 2p2} + {0-0} = 8
    assert ours.aer == pytest.approx(1 - (5 + 8) / (10 + 7))
    assert ours.links == 10
