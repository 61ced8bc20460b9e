"""Self-training: a classifier labels unlabelled text; its confident labels train the next one.

Round 0 trains on the labelled data as configured (with attention supervision if the run
config asks for it). Each later round, the previous model labels every unlabelled text; texts
whose top probability reaches the threshold join the training set with that pseudo-label (and
no rationale: they add only task loss); a new model is trained from scratch on the union. Dev
and test stay those of round 0. Each round is a complete run directory:
``run_dir/round0``, ``run_dir/round1``, ...; ``run_dir/self_training.json`` summarises them.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from attnpred.config import check, save_config
from attnpred.data.text import TextExample, read_texts
from attnpred.io import atomic_write_text


@dataclass
class SelfTrainingConfig:
    """Pseudo-labelling rounds on unlabelled text."""

    unlabelled: str = ""
    """Unlabelled texts: a plain file (one per line, .txt) or CSV/TSV/JSONL with ``text_column``."""
    format: str = "auto"
    """'lines', 'csv', 'tsv', 'jsonl' or 'auto' (by suffix)."""
    text_column: str = "text"
    """Column or key of the text."""
    rounds: int = 1
    """Pseudo-labelling rounds after the first model (0: just the first model)."""
    threshold: float = 0.9
    """Keep a pseudo-label when the model's top class probability is at least this."""
    balance: bool = True
    """Keep equally many pseudo-labels per class (the most confident ones), so that the
    teacher's bias toward one class is not amplified."""
    max_per_round: int = 0
    """At most this many pseudo-labels per round, the most confident first (0: no limit)."""

    def __post_init__(self) -> None:
        check(self.rounds >= 0, "rounds", "must be >= 0")
        check(0.0 <= self.threshold <= 1.0, "threshold", "must be in [0, 1]")
        check(self.max_per_round >= 0, "max_per_round", "must be >= 0")


def select_pseudo_labels(probabilities: Sequence[Mapping[str, float]], threshold: float,
                         balance: bool = True, limit: int = 0) -> list[tuple[int, str, float]]:
    """Confident predictions as (index, label, confidence), most confident first.

    Args:
        probabilities: per text, label -> probability.
        threshold: minimum top probability.
        balance: cap every label at the count of the least frequent one (every label of the
            first text's distribution counts, so a label never predicted confidently caps
            all at 0).
        limit: keep at most this many (0: all).
    """
    picked = []
    for i, probs in enumerate(probabilities):
        label = max(probs, key=probs.get)
        if probs[label] >= threshold:
            picked.append((i, label, float(probs[label])))
    picked.sort(key=lambda p: (-p[2], p[0]))
    if balance and probabilities:
        labels = list(probabilities[0])
        cap = min(sum(1 for p in picked if p[1] == lab) for lab in labels)
        seen: dict[str, int] = {}
        kept = []
        for p in picked:
            seen[p[1]] = seen.get(p[1], 0) + 1
            if seen[p[1]] <= cap:
                kept.append(p)
        picked = kept
    return picked[:limit] if limit else picked


def write_examples(examples: Sequence[TextExample], path: Path, text_key: str,
                   label_key: str) -> None:
    """Examples as JSONL with their extra fields (rationales survive)."""
    lines = [json.dumps({text_key: e.text, label_key: e.label, **e.extra}) for e in examples]
    atomic_write_text(path, "\n".join(lines) + "\n")


def self_train(cfg: Any, st: SelfTrainingConfig, run_dir: str | Path,
               texts: Sequence[str] | None = None) -> Path:
    """Train ``1 + st.rounds`` classifiers; return the final round's run directory.

    Args:
        cfg: a ``ClassifyRunConfig`` (its supervision section applies to every round).
        st: the self-training settings.
        run_dir: parent directory of the rounds.
        texts: unlabelled texts (default: read from ``st.unlabelled``).
    """
    from attnpred.tasks.classify import train_classifier
    from attnpred.tasks.classify_data import load_splits
    from attnpred.tasks.classify_predictor import ClassifierPredictor
    run_dir = Path(run_dir)
    pool = list(texts) if texts is not None else read_texts(
        st.unlabelled, format=st.format, text_column=st.text_column)
    round_dir = run_dir / "round0"
    summary: list[dict[str, Any]] = []
    metrics = train_classifier(cfg, round_dir, overwrite=True)
    summary.append({"round": 0, "pseudo_labels": 0, "metrics": _headline(metrics)})
    base, _ = load_splits(cfg.data, round_dir / "split.json")  # the split round 0 drew
    known = {e.text for e in base.train + base.dev + base.test}
    pool = [t for t in pool if t.strip() and t.strip() not in known]
    data_dir = run_dir / "data"
    write_examples(base.dev, data_dir / "dev.jsonl", cfg.data.text_column, cfg.data.label_column)
    write_examples(base.test, data_dir / "test.jsonl", cfg.data.text_column,
                   cfg.data.label_column)
    for r in range(1, st.rounds + 1):
        teacher = ClassifierPredictor.load(round_dir)
        probs = [p.probabilities for p in teacher.predict(pool)]
        chosen = select_pseudo_labels(probs, st.threshold, st.balance, st.max_per_round)
        pseudo = [TextExample(pool[i].strip(), lab, 0, "pseudo", {"pseudo_confidence": c})
                  for i, lab, c in chosen]
        train_path = data_dir / f"train_round{r}.jsonl"
        write_examples(base.train + pseudo, train_path, cfg.data.text_column,
                       cfg.data.label_column)
        data = dataclasses.replace(cfg.data, train=str(train_path), format="jsonl",
                                   dev=str(data_dir / "dev.jsonl"),
                                   test=str(data_dir / "test.jsonl"))
        round_dir = run_dir / f"round{r}"
        metrics = train_classifier(dataclasses.replace(cfg, data=data), round_dir,
                                   overwrite=True)
        summary.append({"round": r, "pseudo_labels": len(pseudo), "unlabelled": len(pool),
                        "metrics": _headline(metrics)})
    save_config(st, run_dir / "self_training_config.json")
    atomic_write_text(run_dir / "self_training.json", json.dumps(
        {"final": str(round_dir), "rounds": summary}, indent=2) + "\n")
    return round_dir


def _headline(metrics: dict[str, Any]) -> dict[str, float]:
    """Accuracy and macro-F1 per split from a run's metrics.json content."""
    out = {}
    for split, res in metrics.items():
        model = res.get("model", res) if isinstance(res, dict) else {}
        for key in ("accuracy", "macro_f1"):
            if isinstance(model, dict) and key in model:
                out[f"{split}_{key}"] = model[key]
    return out
