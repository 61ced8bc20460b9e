"""The token-tagging run config, its model builder and its gold reader (shared by the
trainer and the predictor)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

from attnpred.config import check
from attnpred.data.conll import (FORMATS, SCHEMES, CONLLU_COLUMNS, TaggedSentence,
                                 read_tagged, validate_scheme)
from attnpred.data.encoding import TOKENIZER_KINDS
from attnpred.errors import AttnpredError
from attnpred.models.tagger import PretrainedTaggerConfig, ScratchTaggerConfig, build_tagger
from attnpred.training.trainer import TrainerConfig

MODELS = ("scratch", "pretrained")


@dataclass
class TagDataConfig:
    """Tagged files: CoNLL (word<TAB>tag) or CoNLL-U (a file or a .tar.gz of files)."""

    train: str = ""
    """Training file (required)."""
    dev: str = ""
    """Dev file: picks the best epoch (without one, the last epoch's weights are kept)."""
    test: str = ""
    """Test file, scored once at the end beside the baselines (optional)."""
    format: str = "auto"
    """'auto' (CoNLL-U for .conllu / .tar.gz, else CoNLL), 'conll' or 'conllu'."""
    column: str = "upos"
    """CoNLL-U tag column: 'upos' or 'xpos'."""
    encoding: str = "utf-8"
    """Text encoding of the files."""

    def __post_init__(self) -> None:
        check(self.format in FORMATS, "format", f"must be one of {FORMATS}")
        check(self.column in CONLLU_COLUMNS, "column", f"must be one of {sorted(CONLLU_COLUMNS)}")


def _trainer_defaults() -> TrainerConfig:
    return TrainerConfig(epochs=10, lr=5e-4, metric="score")


@dataclass
class TagRunConfig:
    """Everything a token-tagging run needs; written to run_dir/config.json."""

    task: str = "tag"
    """Task name (always 'tag'); lets ``attnpred.load`` find the predictor."""
    model: str = "scratch"
    """'scratch' (Transformer trained from zero) or 'pretrained' (a Hugging Face encoder)."""
    data: TagDataConfig = field(default_factory=TagDataConfig)
    """Files and their format."""
    scratch: ScratchTaggerConfig = field(default_factory=ScratchTaggerConfig)
    """Architecture of the from-scratch encoder (used when model='scratch')."""
    pretrained: PretrainedTaggerConfig = field(default_factory=PretrainedTaggerConfig)
    """Pretrained encoder (used when model='pretrained'); model_dir 'minilm' = bundled MiniLM."""
    crf: bool = False
    """Put a linear-chain CRF over the word tags (trained by likelihood, decoded by Viterbi)."""
    scheme: str = "auto"
    """Tag scheme: 'bio', 'bioes', 'none' (plain tags such as POS: token accuracy only) or
    'auto' (from the training tags); gold files are checked for illegal transitions."""
    tokenizer: str = "wordpiece"
    """Tokenizer trained on the training words for the scratch model: 'wordpiece' or 'bpe'."""
    vocab_size: int = 8000
    """Vocabulary size of that tokenizer."""
    lowercase: bool = False
    """Lower-case text in the scratch model's tokenizer (keeps case by default: NER needs it)."""
    word_dropout: float = 0.0
    """Training only: replace a word's sub-words by the unknown token with this probability,
    so the model learns to tag from context as it must for unseen words (0: off)."""
    batch_size: int = 32
    """Training batch size (sentences)."""
    eval_batch_size: int = 64
    """Batch size for evaluation and prediction."""
    trainer: TrainerConfig = field(default_factory=_trainer_defaults)
    """Optimisation, schedule, early stopping, checkpoints. The default lr (5e-4) suits the
    scratch model; fine-tune a pretrained encoder with about 1e-4. Metric 'score' is entity F1
    for BIO/BIOES tags and token accuracy otherwise ('accuracy', 'entity_f1' also exist)."""

    def __post_init__(self) -> None:
        check(self.task == "tag", "task", "must be 'tag'")
        check(self.model in MODELS, "model", f"must be one of {MODELS}")
        check(self.scheme in SCHEMES, "scheme", f"must be one of {SCHEMES}")
        check(self.tokenizer in TOKENIZER_KINDS, "tokenizer", f"must be one of {TOKENIZER_KINDS}")
        check(self.vocab_size >= 100, "vocab_size", "must be >= 100")
        check(0 <= self.word_dropout < 1, "word_dropout", "must be in [0, 1)")
        check(self.batch_size >= 1, "batch_size", "must be >= 1")
        check(self.eval_batch_size >= 1, "eval_batch_size", "must be >= 1")

    @property
    def max_len(self) -> int:
        return self.scratch.max_len if self.model == "scratch" else self.pretrained.max_len


def build_model(cfg: TagRunConfig, num_tags: int, run_dir: Path | None = None) -> nn.Module:
    """The tagger named by ``cfg.model``; from ``run_dir/encoder`` when reloading a run."""
    encoder_config = None
    if cfg.model == "pretrained" and run_dir is not None:
        from transformers import AutoConfig
        encoder_config = AutoConfig.from_pretrained(str(run_dir / "encoder"),
                                                    local_files_only=True)
    sub = cfg.scratch if cfg.model == "scratch" else cfg.pretrained
    return build_tagger(cfg.model, sub, num_tags, cfg.crf, encoder_config)


def read_gold(cfg: TagRunConfig, path: str, scheme: str | None = None) -> list[TaggedSentence]:
    """A tagged file, checked against the tag scheme (illegal transitions are warnings)."""
    sentences = read_tagged(path, cfg.data.format, cfg.data.column, cfg.data.encoding)
    if not sentences:
        raise AttnpredError("no tagged sentences found", file=path)
    validate_scheme(sentences, scheme or cfg.scheme)
    return sentences
