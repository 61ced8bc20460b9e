"""Word alignments: from cross-attention, symmetrisation, AER, and the eflomal baseline."""
from attnpred.alignment.agreement import (AgreementChoice, agreement_links, choose_agreement,
                                          pair_agreement)
from attnpred.alignment.extract import (AlignConfig, extract_links, merge_links, pair_alignments,
                                        pair_word_maps, pool_matrix, select_attention,
                                        word_alignment, word_map)
from attnpred.alignment.metrics import AlignmentScores, alignment_scores
from attnpred.alignment.select import AlignmentChoice, alignment_candidates, choose_alignment
from attnpred.alignment.symmetrize import SYMMETRIZE, grow_diag_final_and, symmetrize

__all__ = [
    "AlignConfig", "extract_links", "merge_links", "pair_alignments", "pool_matrix",
    "select_attention", "word_alignment", "AlignmentScores", "alignment_scores", "AlignmentChoice",
    "alignment_candidates", "choose_alignment", "SYMMETRIZE",
    "grow_diag_final_and", "symmetrize", "AgreementChoice", "agreement_links",
    "choose_agreement", "pair_agreement", "pair_word_maps", "word_map",
]
