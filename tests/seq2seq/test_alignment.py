"""AER, symmetrisation, extraction from attention and sub-word -> word merging, hand-checked."""
import pytest
import torch

from attnpred.alignment import (AlignConfig, alignment_scores, extract_links, merge_links,
                                pool_matrix, select_attention, symmetrize, word_alignment)
from attnpred.data.alignment import GoldAlignment


def test_aer_hand_computed():
    gold = [GoldAlignment(sure={(0, 0)}, possible={(0, 0), (1, 1)}),
            GoldAlignment(sure={(0, 1), (1, 0)}, possible={(0, 1), (1, 0)})]
    pred = [{(0, 0), (1, 1), (2, 2)}, {(0, 1)}]
    # |A∩S| = 1 + 1, |A∩P| = 2 + 1, |A| = 3 + 1, |S| = 1 + 2
    s = alignment_scores(pred, gold)
    assert s.aer == pytest.approx(1 - (2 + 3) / (4 + 3))
    assert s.precision == pytest.approx(3 / 4)
    assert s.recall == pytest.approx(2 / 3)
    assert alignment_scores([{(0, 0)}], [GoldAlignment({(0, 0)}, {(0, 0)})]).aer == 0.0


def test_grow_diag_final_and_final_step():
    fwd = {(0, 0), (1, 1), (3, 3), (3, 1)}
    rev = {(0, 0), (1, 1), (2, 3)}
    # nothing grows next to the intersection; final-and adds (3,3) (both words free), then
    # (3,1) is refused (target 1 taken) and (2,3) too (target 3 now taken)
    assert symmetrize(fwd, rev, 4, 4) == {(0, 0), (1, 1), (3, 3)}
    assert symmetrize(fwd, rev, 4, 4, "intersection") == {(0, 0), (1, 1)}
    assert symmetrize(fwd, rev, 4, 4, "union") == fwd | rev


def test_grow_diag_final_and_grow_step():
    fwd = {(0, 0), (1, 1), (2, 2), (3, 3), (3, 1)}
    rev = {(0, 0), (1, 1), (2, 3)}
    # scanning in order: (2,2) joins diagonally next to (1,1); next to (2,2), (2,3) joins
    # (target 3 free) and (3,1) joins (source 3 free); (3,3) then has both words aligned
    assert symmetrize(fwd, rev, 4, 4) == {(0, 0), (1, 1), (2, 2), (2, 3), (3, 1)}


def test_extract_argmax_and_threshold():
    m = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.45, 0.45], [0.0, 0.1, 0.9]])  # (T, S)
    assert extract_links(m, AlignConfig(method="argmax")) == {(0, 0), (1, 1), (2, 2)}
    assert extract_links(m, AlignConfig(method="threshold", threshold=0.4)) == {
        (0, 0), (1, 1), (2, 1), (2, 2)}


def test_subword_to_word_merging():
    # source: "un@@ believ@@ able dog </s>" -> words 0 0 0 1 (-1); target: "Hun@@ de bell@@ t"
    src_words, tgt_words = [0, 0, 0, 1, -1], [0, 0, 1, 1]
    assert merge_links({(1, 0), (3, 1), (2, 3)}, src_words, tgt_words) == {(0, 0), (1, 0), (0, 1)}
    m = torch.tensor([[0.1, 0.1, 0.1, 0.6, 0.1],
                      [0.0, 0.0, 0.0, 0.9, 0.1],
                      [0.3, 0.3, 0.3, 0.0, 0.1],
                      [0.2, 0.5, 0.2, 0.0, 0.1]])
    pooled = pool_matrix(m[:, :4], src_words[:4], tgt_words)
    torch.testing.assert_close(pooled, torch.tensor([[0.05, 0.75], [0.3, 0.0]]))
    assert word_alignment(m, src_words, tgt_words, AlignConfig(merge="mean")) == {(1, 0), (0, 1)}
    assert word_alignment(m, src_words, tgt_words, AlignConfig(merge="links")) == {
        (1, 0), (0, 1)}


def test_select_attention_layer_heads_and_average():
    a = torch.zeros(1, 2, 1, 2)
    a[0, 0, 0] = torch.tensor([1.0, 0.0])
    a[0, 1, 0] = torch.tensor([0.0, 1.0])
    b = torch.full((1, 2, 1, 2), 0.5)
    torch.testing.assert_close(select_attention([a, b], AlignConfig(layer=0, heads=(1,))),
                               torch.tensor([[[0.0, 1.0]]]))
    torch.testing.assert_close(select_attention([a, b], AlignConfig(layer=-1)),
                               torch.tensor([[[0.5, 0.5]]]))
    torch.testing.assert_close(select_attention([a, b], AlignConfig(average_layers=True,
                                                                    heads=(0,))),
                               torch.tensor([[[0.75, 0.25]]]))


def test_shift_reads_the_row_where_the_target_is_the_input():
    cross = torch.tensor([[[[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]]])  # (B, H, T, S)
    shifted = select_attention([cross], AlignConfig(layer=0, shift=True))
    torch.testing.assert_close(shifted, torch.tensor([[[0.2, 0.8], [0.7, 0.3], [0.0, 0.0]]]))
    assert word_alignment(shifted[0], [0, 1], [0, 1, -1], AlignConfig(shift=True)) == \
        {(1, 0), (0, 1)}


def test_choose_alignment_picks_the_head_that_matches_the_reference():
    from attnpred.alignment import alignment_candidates, choose_alignment
    diag, anti = torch.eye(3), torch.eye(3).flip(1)
    # layer 0: head 0 diagonal, head 1 anti-diagonal; layer 1: both uniform
    maps = [(torch.stack([diag, anti]), torch.full((2, 3, 3), 1 / 3))] * 2
    words = [[0, 1, 2]] * 2
    reference = [{(2, 0), (1, 1), (0, 2)}] * 2  # (source, target): the anti-diagonal
    cands = alignment_candidates(2, 2, AlignConfig(), thresholds=())
    assert len(cands) == 2 * (2 * 3 + 1)
    assert len(alignment_candidates(2, 2, AlignConfig())) == 4 * 2 * (2 * 3 + 1)
    choice = choose_alignment(maps, words, words, reference, cands)
    assert (choice.config.layer, choice.config.heads, choice.config.shift) == (0, (1,), False)
    assert min(r["aer"] for r in choice.table) == 0.0
    with pytest.raises(ValueError, match="2 pairs but 1 reference"):
        choose_alignment(maps, words, words, reference[:1], cands)
