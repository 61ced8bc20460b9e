"""Masked-token pretraining of the from-scratch encoder on raw text (BERT-style MLM).

``pretrain_mlm(cfg, out_dir)`` trains a tokenizer and the encoder of a ``TransformerClassifier``
on unlabelled text, and writes ``out_dir`` = config.json, tokenizer/, encoder.safetensors,
metrics.json. A classification run starts from it with ``init_from=out_dir``: it takes the
tokenizer and the architecture, and ``load_pretrained_encoder`` copies the weights (the
classification head starts fresh).

Shape legend: B batch, T tokens, E width, V vocabulary, N masked tokens in the batch.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from attnpred.config import check, load_config, save_config
from attnpred.data.encoding import bucket_batches, encode_texts, pad, train_tokenizer
from attnpred.data.text import read_texts
from attnpred.errors import AttnpredError
from attnpred.io import atomic_write, atomic_write_dir
from attnpred.models.classifier import ClassifierConfig, TransformerClassifier
from attnpred.models.mlm import MaskedLM
from attnpred.tasks.rundir import finish_run, prepare_run_dir
from attnpred.training.checkpoint import seed_everything
from attnpred.device import move
from attnpred.training.trainer import Trainer, TrainerConfig

ARCH_FIELDS = ("dim", "heads", "layers", "ff_dim", "max_len", "positional", "activation")
"""Fields of ``ClassifierConfig`` a fine-tuning run takes from its pretraining."""


@dataclass
class MLMConfig:
    """Masked-token pretraining of the from-scratch encoder."""

    task: str = "mlm"
    """Always 'mlm' (marks the directory as a pretraining, not a loadable predictor)."""
    texts: str = ""
    """Raw text: a plain file (one text per line, .txt) or CSV/TSV/JSONL with ``text_column``."""
    format: str = "auto"
    """'lines', 'csv', 'tsv', 'jsonl' or 'auto' (by suffix)."""
    text_column: str = "text"
    """Column or key of the text in CSV/TSV/JSONL files."""
    model: ClassifierConfig = field(default_factory=ClassifierConfig)
    """Encoder architecture (vocab_size is set from the tokenizer; the head is unused)."""
    tokenizer: str = "wordpiece"
    """Tokenizer trained on the texts: 'wordpiece' or 'bpe'."""
    vocab_size: int = 8000
    """Vocabulary size of that tokenizer."""
    mask_prob: float = 0.15
    """Share of word-piece tokens chosen for prediction (80% [MASK], 10% random, 10% kept)."""
    batch_size: int = 32
    """Texts per batch."""
    dev_ratio: float = 0.05
    """Share of texts held out to pick the best epoch by masked-token loss (0: none)."""
    seed: int = 13
    """Seed of the held-out draw and the masking."""
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(epochs=10, lr=5e-4, metric="mlm_loss", mode="min"))
    """Optimisation; the dev metric is always 'mlm_loss' (lower is better)."""

    def __post_init__(self) -> None:
        check(self.task == "mlm", "task", "must be 'mlm'")
        check(0 < self.mask_prob < 1, "mask_prob", "must be in (0, 1)")
        check(0 <= self.dev_ratio < 1, "dev_ratio", "must be in [0, 1)")
        check(self.batch_size >= 1, "batch_size", "must be >= 1")
        check(self.vocab_size >= 10, "vocab_size", "must be >= 10")
        check(self.tokenizer in ("wordpiece", "bpe"), "tokenizer", "must be wordpiece or bpe")
        check(self.seed >= 0, "seed", "must be >= 0")


def mask_tokens(ids: Tensor, special: Tensor, cfg: MLMConfig, mask_id: int, vocab: int,
                gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """BERT masking of (B, T) ids; ``special`` (B, T) True where no masking may happen.

    Returns:
        (input ids with masks, labels with -100 at the positions not chosen).
    """
    chosen = (torch.rand(ids.shape, generator=gen) < cfg.mask_prob) & ~special
    for b in range(ids.shape[0]):  # every text predicts at least one token
        if not chosen[b].any() and (~special[b]).any():
            candidates = (~special[b]).nonzero().flatten()
            pick = candidates[torch.randint(len(candidates), (1,), generator=gen)]
            chosen[b, pick] = True
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    roll = torch.rand(ids.shape, generator=gen)
    out = ids.clone()
    out[chosen & (roll < 0.8)] = mask_id
    swap = chosen & (roll >= 0.8) & (roll < 0.9)
    out[swap] = torch.randint(0, vocab, ids.shape, generator=gen)[swap]
    return out, labels


class MLMBatches:
    """BatchSource of masked batches, the same for the same epoch."""

    def __init__(self, encoded: list[list[int]], cfg: MLMConfig, tokenizer,
                 shuffle: bool = True) -> None:
        self.encoded, self.cfg, self.shuffle = encoded, cfg, shuffle
        self.pad_id, self.mask_id = tokenizer.pad_token_id, tokenizer.mask_token_id
        self.specials = set(tokenizer.all_special_ids)
        self.vocab = len(tokenizer)

    def __call__(self, epoch: int) -> list[dict[str, Tensor]]:
        gen = torch.Generator().manual_seed(self.cfg.seed * 100_003 + epoch)
        lengths = [len(e) for e in self.encoded]
        order = bucket_batches(lengths, self.cfg.batch_size, gen if self.shuffle else None)
        batches = []
        for idx in order:
            ids, mask = pad([self.encoded[i] for i in idx], self.pad_id)
            special = ~mask | torch.isin(ids, torch.tensor(sorted(self.specials)))
            masked, labels = mask_tokens(ids, special, self.cfg, self.mask_id, self.vocab, gen)
            batches.append({"input_ids": masked, "attention_mask": mask, "mlm_labels": labels})
        return batches


def dev_loss(model: nn.Module, batches: list[dict[str, Tensor]]) -> dict[str, float]:
    """Mean masked-token loss and perplexity over fixed dev batches."""
    device = next(model.parameters()).device
    total = count = 0.0
    for batch in batches:
        n = float((batch["mlm_labels"] != -100).sum())
        total += float(model(**move(batch, device)).loss) * n
        count += n
    loss = total / max(count, 1.0)
    return {"mlm_loss": loss, "perplexity": math.exp(min(loss, 50.0))}


def pretrain_mlm(cfg: MLMConfig, out_dir: str | Path, *, resume: bool = False,
                 overwrite: bool = False) -> dict[str, Any]:
    """Pretrain the encoder on ``cfg.texts``; write ``out_dir``; return the dev metrics.

    ``out_dir`` is a run directory like any other (refused when complete unless
    ``overwrite``; ``resume`` continues a killed pretraining exactly).
    """
    if not cfg.texts:
        raise AttnpredError("no text file given", field="texts")
    out_dir, cfg = Path(out_dir), copy.deepcopy(cfg)
    texts = read_texts(cfg.texts, format=cfg.format, text_column=cfg.text_column)
    prepare_run_dir(out_dir, resume=resume, overwrite=overwrite, config=cfg)
    # the only dev metric is the masked-token loss (a trainer section read from JSON would
    # otherwise carry the classifier's default, accuracy)
    cfg.trainer = dataclasses.replace(cfg.trainer, metric="mlm_loss", mode="min")
    random.Random(cfg.seed).shuffle(texts)
    n_dev = int(round(cfg.dev_ratio * len(texts)))
    train, dev = texts[n_dev:], texts[:n_dev]
    tokenizer = train_tokenizer(train, cfg.tokenizer, cfg.vocab_size)
    atomic_write_dir(out_dir / "tokenizer", tokenizer.save_pretrained)
    cfg.model.vocab_size, cfg.model.pad_id = len(tokenizer), tokenizer.pad_token_id
    save_config(cfg, out_dir / "config.json")
    def enc(xs: list[str]) -> list[list[int]]:
        return [e.input_ids for e in encode_texts(tokenizer, xs, cfg.model.max_len)]
    seed_everything(cfg.trainer.seed)
    model = MaskedLM(cfg.model)
    dev_batches = MLMBatches(enc(dev), cfg, tokenizer, shuffle=False)(0) if dev else []
    evaluate = (lambda m: dev_loss(m, dev_batches)) if dev_batches else None
    Trainer(model, cfg.trainer, out_dir, evaluate).fit(MLMBatches(enc(train), cfg, tokenizer),
                                                       resume=resume)
    save_encoder(model.backbone, out_dir / "encoder.safetensors")
    model.eval()
    with torch.no_grad():
        metrics = dev_loss(model, dev_batches) if dev_batches else {}
    metrics |= {"train_texts": len(train), "dev_texts": len(dev)}
    report = "masked-token pretraining\n" + "\n".join(f"{k}: {v}" for k, v in metrics.items())
    return finish_run(out_dir, metrics, report, keep_checkpoint=cfg.trainer.keep_checkpoint)


def save_encoder(model: TransformerClassifier, path: Path) -> None:
    """The classifier's weights without its head (embeddings, positions, encoder)."""
    state = {k: v.contiguous() for k, v in model.state_dict().items()
             if not k.startswith("head.")}
    atomic_write(path, lambda tmp: save_file(state, tmp))


def pretrained_architecture(cfg: ClassifierConfig, pretrain_dir: str | Path) -> ClassifierConfig:
    """``cfg`` with the architecture fields (``ARCH_FIELDS``) of the pretraining."""
    path = Path(pretrain_dir) / "config.json"
    if not path.is_file():
        raise AttnpredError("not an MLM pretraining directory (no config.json)",
                            file=pretrain_dir, field="init_from")
    pre = load_config(MLMConfig, path).model
    return dataclasses.replace(cfg, **{k: getattr(pre, k) for k in ARCH_FIELDS})


def load_pretrained_encoder(model: TransformerClassifier, pretrain_dir: str | Path) -> None:
    """Copy pretrained embeddings and encoder weights into ``model`` (its head stays fresh).

    Raises:
        AttnpredError: the directory lacks the weights, or they do not fit the model.
    """
    path = Path(pretrain_dir) / "encoder.safetensors"
    if not path.is_file():
        raise AttnpredError("no encoder.safetensors: pretraining did not finish",
                            file=pretrain_dir, field="init_from")
    state = load_file(str(path))
    own = model.state_dict()
    bad = [k for k, v in state.items() if k not in own or own[k].shape != v.shape]
    if bad:
        raise AttnpredError(f"pretrained weights do not fit the model (e.g. {bad[0]}); the "
                            "architecture or vocabulary differs", file=path, field="init_from")
    missing = [k for k in own if k not in state and not k.startswith("head.")]
    if missing:
        raise AttnpredError(f"pretrained weights lack {missing[0]}", file=path,
                            field="init_from")
    model.load_state_dict(state, strict=False)

