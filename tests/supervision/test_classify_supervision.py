"""Attention supervision, MLM initialisation and self-training through the classify task."""
import json
import random

import pytest

import attnpred

from attnpred.models.classifier import ClassifierConfig
from attnpred.supervision.config import SupervisionConfig
from attnpred.tasks.pretrain import MLMConfig, pretrain_mlm
from attnpred.tasks.self_training import (SelfTrainingConfig, select_pseudo_labels,
                                                self_train)
from attnpred.tasks.classify import ClassifyRunConfig, train_classifier
from attnpred.tasks.classify_data import TextDataConfig
from attnpred.tasks.classify_predictor import ClassifierPredictor
from attnpred.training.trainer import TrainerConfig

FILLER = "the a place food staff we it was then and also very".split()


def make_record(rng, with_rationale=True):
    label = rng.choice(["pos", "neg"])
    words = [rng.choice(FILLER) for _ in range(8)]
    cue = rng.randrange(8)
    words[cue] = "great" if label == "pos" else "awful"
    rec = {"text": " ".join(words), "label": label}
    if with_rationale:
        rec["rationale"] = [int(i == cue) for i in range(8)]
    return rec


def write(path, records):
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    rng = random.Random(0)
    return {"train": write(d / "train.jsonl", [make_record(rng, i % 2 == 0) for i in range(160)]),
            "dev": write(d / "dev.jsonl", [make_record(rng) for _ in range(20)]),
            "test": write(d / "test.jsonl", [make_record(rng) for _ in range(20)]),
            "raw": write(d / "raw.jsonl", [{"text": make_record(rng)["text"]} for _ in range(40)])}


def run_cfg(files, weight=0.0, epochs=6, **kw):
    return ClassifyRunConfig(
        data=TextDataConfig(train=files["train"], dev=files["dev"], test=files["test"]),
        scratch=ClassifierConfig(dim=32, heads=2, layers=1, ff_dim=64, max_len=16,
                                 pooling="attention", dropout=0.0),
        vocab_size=60, batch_size=8,
        trainer=TrainerConfig(epochs=epochs, lr=5e-3, progress=False, tensorboard=False),
        supervision=SupervisionConfig(weight=weight), **kw)


def test_supervised_run_reports_rationales_and_predicts_supervised_attention(files, tmp_path):
    metrics = train_classifier(run_cfg(files, weight=5.0), tmp_path / "run")
    rat = metrics["test"]["rationales"]
    assert rat["n_with_rationales"] == 20
    assert set(rat) >= {"model", "uniform", "random"} and "human" not in rat  # 1 annotator
    assert rat["model"]["auprc"] > rat["uniform"]["auprc"] + 0.2
    assert "comprehensiveness" in rat["model"] and "comprehensiveness" not in \
        metrics["dev"]["rationales"]["model"]
    log = [json.loads(line) for line in (tmp_path / "run" / "train_log.jsonl").open()]
    assert any("train/loss" in r for r in log)
    pred = ClassifierPredictor.load(tmp_path / "run")
    records = [json.loads(x) for x in open(files["test"])][:6]
    preds = pred.predict([r["text"] for r in records], return_attention=True)
    assert all(p.attention_source == "supervised" and len(p.word_attention) == 8 for p in preds)
    hits = sum(p.top_words(1)[0][0] in ("great", "awful") for p in preds)
    assert hits >= 4, [p.top_words(2) for p in preds]
    result = attnpred.load(tmp_path / "run").evaluate(files["test"])
    assert result["rationales"]["model"]["auprc"] == pytest.approx(rat["model"]["auprc"])
    plain = [json.loads(x) for x in open(files["test"])]
    no_rat = write(tmp_path / "plain.jsonl", [{"text": r["text"], "label": r["label"]}
                                              for r in plain])
    assert "rationales" not in attnpred.load(tmp_path / "run").evaluate(no_rat)


def test_mlm_initialisation_and_self_training(files, tmp_path):
    pre = MLMConfig(texts=files["raw"], vocab_size=60, batch_size=8,
                    model=ClassifierConfig(dim=32, heads=2, layers=1, ff_dim=64, max_len=16),
                    trainer=TrainerConfig(epochs=1, lr=1e-3, metric="mlm_loss", mode="min",
                                          progress=False, tensorboard=False))
    pretrain_mlm(pre, tmp_path / "pre")
    # A teacher trained long enough to label both classes confidently (after 2 epochs it
    # can still favour one class, and balanced selection then keeps none).
    cfg = run_cfg(files, weight=1.0, epochs=4, init_from=str(tmp_path / "pre"))
    final = self_train(cfg, SelfTrainingConfig(rounds=1, threshold=0.5), tmp_path / "st",
                       texts=[json.loads(x)["text"] for x in open(files["raw"])])
    summary = json.loads((tmp_path / "st" / "self_training.json").read_text())
    assert [r["round"] for r in summary["rounds"]] == [0, 1]
    assert summary["rounds"][1]["pseudo_labels"] > 0
    assert final.name == "round1" and (final / "model.safetensors").exists()
    saved = json.loads((final / "config.json").read_text())
    assert saved["init_from"] and saved["scratch"]["dim"] == 32
    assert (final / "tokenizer").exists()
    n_train = sum(1 for _ in open(tmp_path / "st" / "data" / "train_round1.jsonl"))
    assert n_train == 160 + summary["rounds"][1]["pseudo_labels"]


def test_select_pseudo_labels():
    probs = [{"a": 0.95, "b": 0.05}, {"a": 0.2, "b": 0.8}, {"a": 0.99, "b": 0.01},
             {"a": 0.4, "b": 0.6}, {"a": 0.05, "b": 0.95}]
    assert select_pseudo_labels(probs, 0.9, balance=False) == [
        (2, "a", 0.99), (0, "a", 0.95), (4, "b", 0.95)]
    assert select_pseudo_labels(probs, 0.9) == [(2, "a", 0.99), (4, "b", 0.95)]
    assert select_pseudo_labels(probs, 0.7, balance=True, limit=3) == [
        (2, "a", 0.99), (0, "a", 0.95), (4, "b", 0.95)]
    assert select_pseudo_labels(probs, 0.999) == []
