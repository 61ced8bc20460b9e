"""Token tagging (NER, POS): a run config in, a trained run directory out, and its predictor.

Run directory: config.json, model.safetensors, tokenizer/, labels.json (the tag set),
data_stats.json (sizes, tag counts, the majority-per-word baseline), encoder/ (the pretrained
encoder's config), metrics.json, report.txt, train_log.jsonl, logs/, checkpoints/last.pt
(until the run completes) and complete.json.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from torch import nn

from attnpred.config import save_config
from attnpred.data.conll import (TaggedSentence,
                                 detect_scheme, transition_allowed)
from attnpred.data.encoding import load_tokenizer, train_tokenizer
from attnpred.data.labels import LabelVocab
from attnpred.data.tagging import TagTrainBatches, encode_sentences
from attnpred.errors import AttnpredError
from attnpred.evaluation.tagging import MajorityTagger, format_report
from attnpred.io import atomic_write_dir, atomic_write_text
from attnpred.models.hf_classifier import resolve_model_dir
from attnpred.tasks.rundir import finish_run, prepare_run_dir
from attnpred.tasks.tag_predictor import TagPredictor, TagResult
from attnpred.training.checkpoint import seed_everything
from attnpred.training.trainer import Trainer

from attnpred.tasks.tag_config import (MODELS, TagDataConfig, TagRunConfig,  # noqa: F401
                                       build_model, read_gold)

__all__ = ["TagDataConfig", "TagRunConfig", "TagPredictor", "TagResult", "train_tagger",
           "evaluate_run", "build_model"]


def _splits(cfg: TagRunConfig) -> dict[str, list[TaggedSentence]]:
    if not cfg.data.train:
        raise AttnpredError("a training file is required", field="data.train")
    train = read_gold(cfg, cfg.data.train)
    if cfg.scheme == "auto":
        cfg.scheme = detect_scheme(t for s in train for t in s.tags)
    splits = {"train": train,
              "dev": read_gold(cfg, cfg.data.dev) if cfg.data.dev else [],
              "test": read_gold(cfg, cfg.data.test) if cfg.data.test else []}
    from attnpred.data.conll import check_known_tags
    known = {t for s in train for t in s.tags}
    check_known_tags(splits["dev"] + splits["test"], known)
    return splits


def _tokenizer(cfg: TagRunConfig, train: list[TaggedSentence], run_dir: Path):
    tok_dir = run_dir / "tokenizer"
    if tok_dir.exists():
        return load_tokenizer(tok_dir)
    if cfg.model == "scratch":
        tok = train_tokenizer((" ".join(s.words) for s in train), cfg.tokenizer,
                              cfg.vocab_size, lowercase=cfg.lowercase)
    else:
        tok = load_tokenizer(resolve_model_dir(cfg.pretrained.model_dir))
    atomic_write_dir(tok_dir, tok.save_pretrained)
    return tok


def _write_stats(splits: dict[str, list[TaggedSentence]], run_dir: Path,
                 majority: MajorityTagger) -> None:
    stats = {"sizes": {k: len(v) for k, v in splits.items()},
             "words": {k: sum(len(s.words) for s in v) for k, v in splits.items()},
             "tag_counts": Counter(t for s in splits["train"] for t in s.tags),
             "majority": majority.to_json()}
    atomic_write_text(run_dir / "data_stats.json", json.dumps(stats, ensure_ascii=False) + "\n")


def forbid_illegal(model: nn.Module, labels: LabelVocab, scheme: str) -> None:
    """Constrain the CRF's transitions to those the tag scheme allows."""
    import torch
    tags = labels.labels
    start = torch.tensor([not transition_allowed(None, t, scheme) for t in tags])
    end = torch.tensor([not transition_allowed(t, None, scheme) for t in tags])
    pairs = torch.tensor([[not transition_allowed(a, b, scheme) for b in tags] for a in tags])
    model.crf.forbid(start, pairs, end)


def train_tagger(cfg: TagRunConfig, run_dir: str | Path, *, resume: bool = False,
                 overwrite: bool = False) -> dict[str, Any]:
    """Train a tagger, keep the best dev weights, score dev and test beside the baselines.

    Returns:
        The metrics written to run_dir/metrics.json.
    Raises:
        AttnpredError: a missing or malformed file, or a run directory that cannot be used.
    """
    splits = _splits(cfg)  # read (and fail) before touching the run directory
    run_dir = prepare_run_dir(run_dir, resume=resume, overwrite=overwrite)
    train = splits["train"]
    labels = LabelVocab.build(t for s in train for t in s.tags)
    labels.save(run_dir / "labels.json")
    majority = MajorityTagger.fit([s.words for s in train], [s.tags for s in train])
    _write_stats(splits, run_dir, majority)
    tokenizer = _tokenizer(cfg, train, run_dir)
    cfg.scratch.vocab_size, cfg.scratch.pad_id = len(tokenizer), tokenizer.pad_token_id
    save_config(cfg, run_dir / "config.json")
    tag_ids = [[labels.encode(t, file=s.source, line=ln) for t, ln in zip(s.tags, s.lines)]
               for s in train]
    encoded = encode_sentences(tokenizer, [s.words for s in train], cfg.max_len, tag_ids)
    seed_everything(cfg.trainer.seed)
    model = build_model(cfg, len(labels))
    if cfg.model == "pretrained":
        atomic_write_dir(run_dir / "encoder", model.encoder.encoder.config.save_pretrained)
    if model.crf is not None:
        forbid_illegal(model, labels, cfg.scheme)
    predictor = TagPredictor(model, tokenizer, labels, cfg, majority)
    evaluate = None
    if splits["dev"]:
        dev, gold = predictor.prepare(splits["dev"]), [s.tags for s in splits["dev"]]
        evaluate = lambda m: predictor.dev_metrics(dev, gold)  # noqa: E731  (m: predictor.model)
    trainer = Trainer(model, cfg.trainer, run_dir, evaluate)
    trainer.fit(TagTrainBatches(encoded, cfg.batch_size, cfg.trainer.seed,
                                tokenizer.pad_token_id, cfg.word_dropout,
                                tokenizer.unk_token_id), resume=resume)
    predictor.model.eval()
    metrics: dict[str, Any] = {"scheme": cfg.scheme, "tags": labels.labels}
    report = []
    for split in ("dev", "test"):
        if splits[split]:
            metrics[split] = predictor.score(splits[split])
            report.append(f"== {split} ==\n" + format_report(metrics[split]))
    if not report:
        report.append("no dev or test file: nothing was scored")
    return finish_run(run_dir, metrics, "\n\n".join(report),
                      keep_checkpoint=cfg.trainer.keep_checkpoint)


def evaluate_run(run_dir: str | Path, path: str, **options: Any) -> dict[str, Any]:
    """Score a trained run on a tagged file beside the baselines (options: format, column)."""
    return TagPredictor.load(run_dir).evaluate(path, **options)

