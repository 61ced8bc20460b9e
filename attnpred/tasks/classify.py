"""Text classification: a run config in, a trained run directory out, and its predictor.

Run directory: config.json, model.safetensors, tokenizer/, labels.json, split.json,
data_stats.json, metrics.json, report.txt, train_log.jsonl, logs/ (TensorBoard),
checkpoints/last.pt, and encoder/ (the pretrained encoder's config) for the adapter.
"""
from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from torch import nn

from attnpred.config import save_config
from attnpred.data.encoding import load_tokenizer, train_tokenizer
from attnpred.data.labels import LabelVocab
from attnpred.data.splits import save_split
from attnpred.errors import AttnpredError
from attnpred.evaluation.classification import evaluate_with_baseline, format_report, majority_label
from attnpred.evaluation.rationale_report import evaluate_rationales, format_rationales
from attnpred.io import atomic_write_dir, atomic_write_text
from attnpred.models.hf_classifier import resolve_model_dir
from attnpred.supervision.gold import gold_tensors, rationale_records
from attnpred.supervision.wrapper import AttentionSupervised, unwrap
from attnpred.tasks.classify_config import MODELS, ClassifyRunConfig, build_model  # noqa: F401
from attnpred.tasks.classify_data import (EncodedSet, TrainBatches, encode_set, eval_batches,
                                          load_splits)
from attnpred.tasks.classify_predictor import ClassifierPredictor
from attnpred.tasks.rundir import finish_run, prepare_run_dir
from attnpred.training.checkpoint import seed_everything
from attnpred.device import move
from attnpred.training.trainer import Trainer

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
    atomic_write_dir(tok_dir, tok.save_pretrained)
    return tok


def train_classifier(cfg: ClassifyRunConfig, run_dir: str | Path, *, resume: bool = False,
                     overwrite: bool = False) -> dict[str, Any]:
    """Train, pick the best dev checkpoint, evaluate on test beside the majority baseline.

    Returns:
        The metrics written to run_dir/metrics.json.
    """
    run_dir, cfg = Path(run_dir), copy.deepcopy(cfg)  # the caller's config stays as given
    splits, split = load_splits(cfg.data, run_dir / "split.json" if resume else None)
    prepare_run_dir(run_dir, resume=resume, overwrite=overwrite, config=cfg)
    if cfg.init_from and cfg.model == "scratch":
        from attnpred.tasks.pretrain import pretrained_architecture
        cfg.scratch = pretrained_architecture(cfg.scratch, cfg.init_from)
    save_config(cfg, run_dir / "config.json")
    if split is not None:
        save_split(split, run_dir / "split.json")
    vocab = LabelVocab.build(e.label for e in splits.train)
    if len(vocab) < 2:
        raise AttnpredError(f"the training data hold one class only ({vocab.labels}); a "
                            "classifier needs at least two", file=cfg.data.train,
                            field=cfg.data.label_column)
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
        atomic_write_dir(run_dir / "encoder", model.encoder.config.save_pretrained)
    if cfg.init_from and cfg.model == "scratch":
        from attnpred.tasks.pretrain import load_pretrained_encoder
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
    return finish_run(run_dir, metrics, "\n\n".join(report),
                      keep_checkpoint=cfg.trainer.keep_checkpoint)


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
