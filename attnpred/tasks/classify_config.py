"""The text-classification run config and the model it names (shared by training and the
predictor, so neither imports the other)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

from attnpred.config import check
from attnpred.models.classifier import ClassifierConfig, TransformerClassifier
from attnpred.models.hf_classifier import HFClassifier, HFClassifierConfig
from attnpred.supervision.config import SupervisionConfig
from attnpred.tasks.classify_data import TextDataConfig
from attnpred.training.trainer import TrainerConfig

MODELS = ("scratch", "pretrained")


@dataclass
class ClassifyRunConfig:
    """Everything a text-classification run needs; written to run_dir/config.json."""

    task: str = "classify"
    """Task name (always 'classify'); lets ``attnpred.load`` find the predictor."""
    model: str = "scratch"
    """'scratch' (Transformer trained from zero) or 'pretrained' (a Hugging Face encoder)."""
    data: TextDataConfig = field(default_factory=TextDataConfig)
    """Files, columns and split."""
    scratch: ClassifierConfig = field(default_factory=ClassifierConfig)
    """Architecture of the from-scratch model (used when model='scratch')."""
    pretrained: HFClassifierConfig = field(default_factory=HFClassifierConfig)
    """Pretrained adapter (used when model='pretrained'); model_dir 'minilm' = bundled MiniLM."""
    tokenizer: str = "wordpiece"
    """Tokenizer trained on the data for the scratch model: 'wordpiece' or 'bpe'."""
    vocab_size: int = 8000
    """Vocabulary size of that tokenizer."""
    batch_size: int = 32
    """Training batch size."""
    eval_batch_size: int = 64
    """Batch size for evaluation and prediction."""
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    """Optimisation, schedule, early stopping, checkpoints."""
    supervision: SupervisionConfig = field(default_factory=SupervisionConfig)
    """Attention supervision by human rationales in the data (weight 0: off)."""
    init_from: str = ""
    """Scratch model: a masked-token pretraining directory (``attnpred.tasks.pretrain``) to
    start from; its tokenizer, architecture and encoder weights are used."""

    def __post_init__(self) -> None:
        check(self.task == "classify", "task", "must be 'classify'")
        check(self.model in MODELS, "model", f"must be one of {MODELS}")
        check(self.batch_size >= 1, "batch_size", "must be >= 1")
        check(self.eval_batch_size >= 1, "eval_batch_size", "must be >= 1")
        check(self.tokenizer in ("wordpiece", "bpe"), "tokenizer", "must be wordpiece or bpe")
        check(self.vocab_size >= 10, "vocab_size", "must be >= 10")

    @property
    def max_len(self) -> int:
        return self.scratch.max_len if self.model == "scratch" else self.pretrained.max_len


def build_model(cfg: ClassifyRunConfig, run_dir: Path | None = None) -> nn.Module:
    """The classifier named by ``cfg.model``; from ``run_dir/encoder`` when reloading."""
    if cfg.model == "scratch":
        return TransformerClassifier(cfg.scratch)
    if run_dir is not None:
        from transformers import AutoConfig

        from attnpred.tasks.rundir import require_file
        encoder = require_file(run_dir, "encoder", "the pretrained encoder's config")
        return HFClassifier(cfg.pretrained, encoder_config=AutoConfig.from_pretrained(
            str(encoder), local_files_only=True))
    return HFClassifier(cfg.pretrained)
