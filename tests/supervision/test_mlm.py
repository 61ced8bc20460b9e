"""Masked-token pretraining: masking rules, learning, and loading into a classifier."""
import dataclasses
import json
import math

import pytest
import torch

from attnpred.errors import AttnpredError
from attnpred.models.classifier import ClassifierConfig, TransformerClassifier
from attnpred.tasks.pretrain import (MLMConfig, load_pretrained_encoder, mask_tokens,
                                      pretrain_mlm, pretrained_architecture)
from attnpred.training.trainer import TrainerConfig


def test_mask_tokens_never_touches_specials():
    ids = torch.arange(10, 410).reshape(4, 100)
    special = torch.zeros(4, 100, dtype=torch.bool)
    special[:, 0] = special[:, -1] = True
    masked, labels = mask_tokens(ids, special, MLMConfig(), mask_id=4, vocab=500,
                                 gen=torch.Generator().manual_seed(0))
    chosen = labels != -100
    assert not chosen[special].any()
    assert torch.equal(labels[chosen], ids[chosen])
    assert torch.equal(masked[~chosen], ids[~chosen])
    assert 0.08 < chosen.float().mean() < 0.22
    assert (masked[chosen] == 4).float().mean() > 0.6  # mostly [MASK]
    # a text with a single maskable token still predicts one
    one = torch.tensor([[1, 7, 2]])
    _, lab = mask_tokens(one, torch.tensor([[True, False, True]]), MLMConfig(mask_prob=0.01),
                         mask_id=4, vocab=20, gen=torch.Generator().manual_seed(0))
    assert lab.tolist() == [[-100, 7, -100]]


def small_cfg(path, epochs=6):
    return MLMConfig(texts=str(path), vocab_size=60, batch_size=8, dev_ratio=0.2,
                     model=ClassifierConfig(dim=32, heads=2, layers=1, ff_dim=64, max_len=16,
                                            dropout=0.0),
                     trainer=TrainerConfig(epochs=epochs, lr=3e-3, metric="mlm_loss",
                                           mode="min", progress=False, tensorboard=False))


def test_pretraining_learns_and_initialises_a_classifier(tmp_path):
    # a corpus with a rigid pattern: the middle word is predictable from its neighbours
    texts = [f"the {a} cat sat on the {b} mat" for a in ("red", "big", "old", "shy")
             for b in ("blue", "flat", "new", "wet")] * 4
    (tmp_path / "raw.txt").write_text("\n".join(texts) + "\n")
    metrics = pretrain_mlm(small_cfg(tmp_path / "raw.txt"), tmp_path / "pre")
    vocab = json.loads((tmp_path / "pre" / "config.json").read_text())["model"]["vocab_size"]
    assert metrics["mlm_loss"] < 0.6 * math.log(vocab), metrics
    cfg = pretrained_architecture(ClassifierConfig(dim=8, heads=1, pooling="attention",
                                                   vocab_size=vocab), tmp_path / "pre")
    assert (cfg.dim, cfg.layers, cfg.max_len, cfg.pooling) == (32, 1, 16, "attention")
    model = TransformerClassifier(cfg)
    head_before = model.head.out.weight.clone()
    load_pretrained_encoder(model, tmp_path / "pre")
    from safetensors.torch import load_file
    saved = load_file(str(tmp_path / "pre" / "encoder.safetensors"))
    assert torch.equal(model.embed.weight, saved["embed.weight"])
    assert torch.equal(model.head.out.weight, head_before)
    wrong = TransformerClassifier(dataclasses.replace(cfg, dim=16, heads=2))
    with pytest.raises(AttnpredError, match="do not fit"):
        load_pretrained_encoder(wrong, tmp_path / "pre")
    with pytest.raises(AttnpredError, match="not an MLM pretraining"):
        pretrained_architecture(cfg, tmp_path)
