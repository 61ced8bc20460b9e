"""What attention is supervised by human rationales, with which loss and how strongly."""
from __future__ import annotations

from dataclasses import dataclass

from attnpred.config import check

TARGETS = ("pooling", "cls")
LOSSES = ("ce", "kl", "mse")


@dataclass
class SupervisionConfig:
    """Attention supervision: the chosen attention of the model is pulled toward the gold map.

    The gold map of an example is uniform over its marked words (each word's share split
    evenly over its sub-words). Examples without a rationale contribute only the task loss.
    """

    weight: float = 0.0
    """lambda: weight of the attention loss beside the task loss (0: supervision off)."""
    target: str = "pooling"
    """Supervised attention: 'pooling' (the attention-pooling head; needs pooling='attention')
    or 'cls' (the [CLS] row of the self-attention of ``layers`` / ``heads``)."""
    layers: tuple[int, ...] = (-1,)
    """Self-attention layers for target 'cls' (negative counts from the top)."""
    heads: tuple[int, ...] = ()
    """Heads of those layers for target 'cls' (empty: all heads)."""
    per_head: bool = False
    """Target 'cls': supervise every chosen head on its own (loss averaged over heads) instead
    of their average."""
    loss: str = "ce"
    """'ce' (cross-entropy -sum g log a), 'kl' (KL(g || a)) or 'mse' (sum (a - g)^2)."""
    renormalize: bool = True
    """Renormalise the attention over word tokens (not [CLS]/[SEP]) before the loss, so the
    model may keep attention on special tokens while its share over words is supervised."""
    fraction: float = 1.0
    """Share of training examples whose rationales are used (a seeded draw); the rest count
    as examples without a rationale."""
    fraction_seed: int = 13
    """Seed of that draw."""
    rationales: str = ""
    """Optional rationale file (JSONL or Yelp-HAT CSV) matched to the data by text; rationales
    inside the data file itself (``mask_key`` / ``spans_key``) are always used."""
    mask_key: str = "rationale"
    """Key of a 0/1 list over the whitespace words of the text."""
    spans_key: str = "rationale_spans"
    """Key of a list of [start, end) character spans over the text."""
    min_votes: float = 0.5
    """Yelp-HAT and multi-annotator masks: a word is gold when at least this share of the
    annotators marked it (0.5: at least half; a tiny value such as 1e-9 gives the union)."""

    def __post_init__(self) -> None:
        check(self.weight >= 0, "weight", "must be >= 0")
        check(self.target in TARGETS, "target", f"must be one of {TARGETS}")
        check(self.loss in LOSSES, "loss", f"must be one of {LOSSES}")
        check(len(self.layers) >= 1, "layers", "name at least one layer")
        check(len(set(self.heads)) == len(self.heads), "heads", "must not repeat")
        check(all(h >= 0 for h in self.heads), "heads", "must be >= 0")
        check(0 < self.fraction <= 1, "fraction", "must be in (0, 1]")
        check(0 < self.min_votes <= 1, "min_votes", "must be in (0, 1]")

    @property
    def active(self) -> bool:
        """Whether the attention loss is on."""
        return self.weight > 0
