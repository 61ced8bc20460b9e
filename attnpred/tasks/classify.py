"""Text classification: a run config in, a trained run directory out, and its predictor.

Run directory: config.json, model.safetensors, tokenizer/, labels.json, split.json,
data_stats.json, metrics.json, report.txt, train_log.jsonl, logs/ (TensorBoard),
checkpoints/last.pt, and encoder/ (the pretrained encoder's config) for the adapter.
"""
from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from attnpred.config import check, load_config, save_config
from attnpred.data.encoding import load_tokenizer, train_tokenizer
from attnpred.data.labels import LabelVocab
from attnpred.data.splits import save_split
from attnpred.errors import AttnpredError
from attnpred.evaluation.classification import evaluate_with_baseline, format_report, majority_label
from attnpred.evaluation.rationale_report import evaluate_rationales, format_rationales
from attnpred.io import atomic_write_text
from attnpred.models.classifier import ClassifierConfig, TransformerClassifier
from attnpred.models.hf_classifier import HFClassifier, HFClassifierConfig, resolve_model_dir
from attnpred.supervision.config import SupervisionConfig
from attnpred.supervision.gold import gold_tensors, rationale_records
from attnpred.supervision.wrapper import AttentionSupervised, unwrap
from attnpred.tasks.classify_data import (EncodedSet, TextDataConfig, TrainBatches, encode_set,
                                          eval_batches, load_splits, read)
from attnpred.training.checkpoint import seed_everything
from attnpred.training.trainer import Trainer, TrainerConfig, move

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
    """Scratch model: a masked-token pretraining directory (``attnpred.supervision.mlm``) to
    start from; its tokenizer, architecture and encoder weights are used."""

    def __post_init__(self) -> None:
        check(self.task == "classify", "task", "must be 'classify'")
        check(self.model in MODELS, "model", f"must be one of {MODELS}")
        check(self.batch_size >= 1, "batch_size", "must be >= 1")

    @property
    def max_len(self) -> int:
        return self.scratch.max_len if self.model == "scratch" else self.pretrained.max_len


def build_model(cfg: ClassifyRunConfig, run_dir: Path | None = None) -> nn.Module:
    """The classifier named by ``cfg.model``; from ``run_dir/encoder`` when reloading."""
    if cfg.model == "scratch":
        return TransformerClassifier(cfg.scratch)
    if run_dir is not None:
        from transformers import AutoConfig
        return HFClassifier(cfg.pretrained, encoder_config=AutoConfig.from_pretrained(
            str(run_dir / "encoder"), local_files_only=True))
    return HFClassifier(cfg.pretrained)


def prepare_run_dir(run_dir: Path, resume: bool, overwrite: bool) -> None:
    """Refuse to overwrite a completed run unless asked; a crash never harms a finished one."""
    if (run_dir / "metrics.json").exists() and not resume:
        if not overwrite:
            raise AttnpredError("run directory holds a completed run; pass --overwrite or "
                                "choose another --out", file=run_dir)
        shutil.rmtree(run_dir)
    if run_dir.exists() and any(run_dir.iterdir()) and not resume and not overwrite:
        raise AttnpredError("run directory is not empty (an interrupted run? use --resume)",
                            file=run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)


def make_tokenizer(cfg: ClassifyRunConfig, train_texts: list[str], run_dir: Path):
    tok_dir = run_dir / "tokenizer"
    if tok_dir.exists():
        return load_tokenizer(tok_dir)
    if cfg.model == "scratch" and cfg.init_from:
        tok = load_tokenizer(Path(cfg.init_from) / "tokenizer")
    elif cfg.model == "scratch":
        tok = train_tokenizer(train_texts, cfg.tokenizer, cfg.vocab_size)
    else:
        tok = load_tokenizer(resolve_model_dir(cfg.pretrained.model_dir))
    tok.save_pretrained(str(tok_dir))
    return tok


def train_classifier(cfg: ClassifyRunConfig, run_dir: str | Path, *, resume: bool = False,
                     overwrite: bool = False) -> dict[str, Any]:
    """Train, pick the best dev checkpoint, evaluate on test beside the majority baseline.

    Returns:
        The metrics written to run_dir/metrics.json.
    """
    run_dir = Path(run_dir)
    splits, split = load_splits(cfg.data, run_dir / "split.json" if resume else None)
    prepare_run_dir(run_dir, resume, overwrite)  # only once the data have been read
    if cfg.init_from and cfg.model == "scratch":
        from attnpred.supervision.mlm import pretrained_architecture
        cfg.scratch = pretrained_architecture(cfg.scratch, cfg.init_from)
    save_config(cfg, run_dir / "config.json")
    if split is not None:
        save_split(split, run_dir / "split.json")
    vocab = LabelVocab.build(e.label for e in splits.train)
    vocab.save(run_dir / "labels.json")
    counts = Counter(e.label for e in splits.train)
    atomic_write_text(run_dir / "data_stats.json", json.dumps(
        {"train_counts": counts, "majority": majority_label([e.label for e in splits.train]),
         "sizes": {k: len(getattr(splits, k)) for k in ("train", "dev", "test")}}, indent=2))
    tokenizer = make_tokenizer(cfg, [e.text for e in splits.train], run_dir)
    _fit_sizes(cfg, tokenizer, vocab, run_dir)
    sets = {k: encode_set(getattr(splits, k), tokenizer, vocab, cfg.max_len)
            for k in ("train", "dev", "test")}
    seed_everything(cfg.trainer.seed)
    model = build_model(cfg)
    if cfg.model == "pretrained":
        model.encoder.config.save_pretrained(str(run_dir / "encoder"))
    if cfg.init_from and cfg.model == "scratch":
        from attnpred.supervision.mlm import load_pretrained_encoder
        load_pretrained_encoder(model, cfg.init_from)
    extra = None
    if cfg.supervision.active:  # rationales train the attention; the rest only the task
        masks = rationale_records(sets["train"].examples, cfg.supervision)
        extra = lambda data, idx, t: gold_tensors(  # noqa: E731
            [masks[i] for i in idx], [data.encoded[i].word_ids for i in idx], t)
        model = AttentionSupervised(model, cfg.supervision)
    pad_id = tokenizer.pad_token_id
    evaluate = None
    if len(sets["dev"]):
        evaluate = lambda m: score(m, sets["dev"], vocab, cfg.eval_batch_size, pad_id)  # noqa: E731
    trainer = Trainer(model, cfg.trainer, run_dir, evaluate)
    trainer.fit(TrainBatches(sets["train"], cfg.batch_size, cfg.trainer.seed, pad_id, extra),
                resume=resume)
    model = unwrap(model)
    return finish(model, sets, vocab, cfg, run_dir, pad_id, rationale_scorer(model, tokenizer,
                                                                             vocab, cfg))


def _fit_sizes(cfg: ClassifyRunConfig, tokenizer, vocab: LabelVocab, run_dir: Path) -> None:
    """Set vocabulary and label counts from the data, and store the final config."""
    cfg.scratch.vocab_size, cfg.scratch.pad_id = len(tokenizer), tokenizer.pad_token_id
    cfg.scratch.num_labels = cfg.pretrained.num_labels = len(vocab)
    save_config(cfg, run_dir / "config.json")


def finish(model: nn.Module, sets: dict[str, EncodedSet], vocab: LabelVocab,
           cfg: ClassifyRunConfig, run_dir: Path, pad_id: int,
           rationales: Any = None) -> dict[str, Any]:
    """Evaluate the best weights on dev and test; write metrics.json and report.txt.

    ``rationales(split, examples)`` adds rationale metrics where the data carry rationales.
    """
    majority = json.loads((run_dir / "data_stats.json").read_text())["majority"]
    metrics: dict[str, Any] = {}
    report = []
    for split in ("dev", "test"):
        if len(sets[split]):
            pred = predict_labels(model, sets[split], cfg.eval_batch_size, pad_id)
            gold = [e.label for e in sets[split].examples]
            res = evaluate_with_baseline(gold, [vocab.decode(p) for p in pred], vocab.labels,
                                         majority)
            metrics[split] = res
            report.append(f"== {split} ==\n" + format_report(res))
            rat = rationales(split, sets[split].examples) if rationales else None
            if rat is not None:
                metrics[split]["rationales"] = rat
                report.append(format_rationales(rat))
    atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    atomic_write_text(run_dir / "report.txt", "\n\n".join(report) + "\n")
    return metrics


def rationale_scorer(model: nn.Module, tokenizer, vocab: LabelVocab, cfg: ClassifyRunConfig):
    """Rationale metrics of a split (None without rationales); faithfulness on test only."""
    predictor = ClassifierPredictor(model, tokenizer, vocab, cfg,
                                    device=str(next(model.parameters()).device))
    return lambda split, examples: evaluate_rationales(predictor, examples, cfg.supervision,
                                                       with_faithfulness=split == "test")


@torch.no_grad()
def predict_labels(model: nn.Module, data: EncodedSet, batch_size: int,
                   pad_id: int) -> list[int]:
    """Predicted label ids in the order of ``data``."""
    return logits_for(model, data, batch_size, pad_id).argmax(-1).tolist()


@torch.no_grad()
def logits_for(model: nn.Module, data: EncodedSet, batch_size: int, pad_id: int) -> torch.Tensor:
    """(N, C) logits in the order of ``data`` (batches are length-sorted for speed)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = None
    for batch in eval_batches(data, batch_size, pad_id):
        batch = move(batch, device)
        logits = model(batch["input_ids"], batch["attention_mask"]).logits.float().cpu()
        if out is None:
            out = torch.empty(len(data), logits.shape[1])
        out[batch["index"].cpu()] = logits
    model.train(was_training)
    return out if out is not None else torch.empty(0, 0)


def score(model: nn.Module, data: EncodedSet, vocab: LabelVocab, batch_size: int,
          pad_id: int) -> dict[str, float]:
    """Dev metrics for the trainer: accuracy and macro-F1."""
    from sklearn.metrics import f1_score
    pred = predict_labels(model, data, batch_size, pad_id)
    acc = sum(int(p == g) for p, g in zip(pred, data.labels)) / max(1, len(data))
    return {"accuracy": acc, "macro_f1": float(f1_score(data.labels, pred, average="macro"))}


def evaluate_run(run_dir: str | Path, path: str, **overrides: str) -> dict[str, Any]:
    """Evaluate a trained run on a labelled file, beside the run's majority baseline."""
    run_dir = Path(run_dir)
    pred = ClassifierPredictor.load(run_dir)
    cfg = pred.config
    data_cfg = TextDataConfig(**{**cfg.data.__dict__, **{k: v for k, v in overrides.items() if v}})
    examples = read(data_cfg, path)
    out = pred.predict([e.text for e in examples])
    gold = [pred.labels.decode(pred.labels.encode(e.label, file=e.source, line=e.line))
            for e in examples]
    majority = json.loads((run_dir / "data_stats.json").read_text())["majority"]
    result = evaluate_with_baseline(gold, [p.label for p in out], pred.labels.labels, majority)
    rationales = evaluate_rationales(pred, examples, cfg.supervision)
    if rationales is not None:
        result["rationales"] = rationales
    return result


def load_run_config(run_dir: str | Path) -> ClassifyRunConfig:
    return load_config(ClassifyRunConfig, Path(run_dir) / "config.json")


from attnpred.tasks.classify_predictor import ClassifierPredictor  # noqa: E402  (cycle)
