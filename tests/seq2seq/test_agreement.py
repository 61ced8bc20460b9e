"""Agreement symmetrisation: the product of two directions' word maps, hand-checked; the
threshold chosen against reference links; word maps from sub-word maps."""
import pytest
import torch

from attnpred.errors import ConfigError
from attnpred.alignment import (AlignConfig, agreement_links, choose_agreement, pair_agreement,
                                word_map)

# source 3 words, target 2 words; fwd rows (target words) and rev rows (source words) sum to 1
FWD = torch.tensor([[0.8, 0.1, 0.1],
                    [0.1, 0.5, 0.4]])
REV = torch.tensor([[0.9, 0.1],
                    [0.3, 0.7],
                    [0.4, 0.6]])
# products F[t, s] * R[s, t]: t=0: 0.72, 0.03, 0.04; t=1: 0.01, 0.35, 0.24


def test_agreement_links_by_hand():
    assert agreement_links(FWD, REV, 0.3) == {(0, 0), (1, 1)}
    assert agreement_links(FWD, REV, 0.2) == {(0, 0), (1, 1), (2, 1)}
    assert agreement_links(FWD, REV, 0.04) == {(0, 0), (1, 1), (2, 1), (2, 0)}
    # one side truncated (the reverse model read only 2 source words): the common part
    assert agreement_links(FWD, REV[:2], 0.2) == {(0, 0), (1, 1)}


def test_agreement_is_symmetric_in_the_two_directions():
    forward = agreement_links(FWD, REV, 0.2)
    backward = agreement_links(REV, FWD, 0.2)  # the same pair read target->source
    assert {(s, t) for t, s in backward} == forward


def test_choose_agreement_picks_the_threshold_matching_the_reference():
    reference = [{(0, 0), (1, 1), (2, 1)}]
    choice = choose_agreement([FWD], [REV], reference, thresholds=(0.02, 0.2, 0.3, 0.5))
    assert choice.threshold == 0.2
    rows = {r["threshold"]: r for r in choice.table}
    assert rows[0.2]["aer"] == 0.0 and rows[0.3]["aer"] > 0 and rows[0.02]["aer"] > 0
    assert rows[0.3]["precision"] == 1.0 and rows[0.3]["recall"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="references"):
        choose_agreement([FWD], [REV], reference * 2)
    assert pair_agreement([FWD, FWD], [REV, REV], 0.3) == [{(0, 0), (1, 1)}] * 2


def test_word_map_pools_subwords_and_renormalises_rows():
    # source "un@@ believ@@ able dog </s>" -> words 0 0 0 1 (-1); target "Hun@@ de bell@@ t"
    src_words, tgt_words = [0, 0, 0, 1, -1], [0, 0, 1, 1]
    m = torch.tensor([[0.1, 0.1, 0.1, 0.6, 0.1],
                      [0.0, 0.0, 0.0, 0.9, 0.1],
                      [0.3, 0.3, 0.3, 0.0, 0.1],
                      [0.2, 0.5, 0.2, 0.0, 0.1]])
    # mean over sub-words: [[0.05, 0.75], [0.3, 0.0]], then rows to 1
    torch.testing.assert_close(word_map(m, src_words, tgt_words),
                               torch.tensor([[0.05 / 0.8, 0.75 / 0.8], [1.0, 0.0]]))


def test_config_checks_agreement_settings():
    AlignConfig(symmetrize="agreement", agreement_threshold=0.3)
    with pytest.raises(ConfigError, match="agreement_threshold"):
        AlignConfig(symmetrize="agreement", agreement_threshold=0.0)
