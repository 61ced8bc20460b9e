"""``ClassifierPredictor``: labels, probabilities and per-word attention for new texts."""
from __future__ import annotations

import io
import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
from torch import Tensor, nn

from attnpred.data.encoding import Encoded, encode_texts, word_attention
from attnpred.data.labels import LabelVocab
from attnpred.errors import AttnpredError
from attnpred.models.classifier import ClassifierOutput
from attnpred.tasks.classify_data import EncodedSet, eval_batches
from attnpred.tasks.classify_config import ClassifyRunConfig, build_model
from attnpred.tasks.rundir import load_run_weights, read_run_config, require_file
from attnpred.device import move

ATTENTION_SOURCES = ("auto", "pooling", "cls", "supervised")


@dataclass
class Prediction:
    """One text's prediction.

    Attributes:
        text: the input.
        label: the most probable class.
        probabilities: class -> probability.
        words: whitespace words of the text.
        word_attention: attention per word (sub-words summed, renormalised over the words
            that fit in max_len), or None unless asked for.
        attention_source: which attention it is ('pooling', 'cls': last layer's CLS row
            averaged over heads, or 'supervised': the attention trained on rationales).
    """

    text: str
    label: str
    probabilities: dict[str, float]
    words: list[str] = field(default_factory=list)
    word_attention: list[float] | None = None
    attention_source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: label, probabilities and, when asked for, the attention per word."""
        out: dict[str, Any] = {"text": self.text, "label": self.label,
                               "probabilities": self.probabilities}
        if self.word_attention is not None:
            out |= {"words": self.words, "word_attention": self.word_attention,
                    "attention_source": self.attention_source}
        return out

    def summary(self) -> str:
        """One line: label, its probability, the text and the most-attended words."""
        line = f"{self.label:>10} {self.probabilities[self.label]:.3f}  {self.text[:70]}"
        if self.word_attention is not None:
            line += "  | attends to: " + ", ".join(f"{w} {a:.2f}" for w, a in self.top_words(5))
        return line

    def top_words(self, k: int = 5) -> list[tuple[str, float]]:
        """The k most-attended words with their weights."""
        if self.word_attention is None:
            return []
        pairs = sorted(zip(self.words, self.word_attention), key=lambda p: -p[1])
        return pairs[:k]


def token_attention(out: ClassifierOutput, source: str) -> tuple[Tensor, str]:
    """(B, T) attention used for explanation: the pooling head's, or the last layer's CLS row."""
    if source in ("auto", "pooling") and out.pooling_attention is not None:
        return out.pooling_attention, "pooling"
    if source == "pooling":
        raise AttnpredError("this model has no pooling attention (trained with pooling "
                            "'cls' or 'mean'); use attention 'cls'", field="attention")
    return out.attentions[-1][:, :, 0, :].mean(1), "cls"  # (B, H, T, T) -> (B, T)


def to_words(tok_att: Tensor, enc: Encoded) -> list[float]:
    w = word_attention(tok_att[: len(enc.input_ids)].tolist(), enc.word_ids, len(enc.words))
    total = sum(w)
    return [x / total for x in w] if total > 0 else w


class ClassifierPredictor:
    """A trained classifier with its tokenizer and labels; build with ``load(run_dir)``."""

    def __init__(self, model: nn.Module, tokenizer, labels: LabelVocab, config,
                 device: str = "cpu") -> None:
        self.model, self.tokenizer, self.labels, self.config = model, tokenizer, labels, config
        self.device = torch.device(device)
        self.model.to(self.device).eval()

    @classmethod
    def load(cls, run_dir: str | Path, device: str = "cpu") -> "ClassifierPredictor":
        from attnpred.data.encoding import load_tokenizer
        run_dir = Path(run_dir)
        cfg = read_run_config(run_dir, ClassifyRunConfig)
        model = build_model(cfg, run_dir)
        load_run_weights(model, run_dir)
        from attnpred.export.prune import apply_pruning, read_pruning
        pruned = read_pruning(run_dir)
        if pruned:  # a run written by 'attnpred prune': remove its heads (the speed-up)
            apply_pruning(model, pruned)
        tokenizer = load_tokenizer(require_file(run_dir, "tokenizer", "the tokenizer"))
        labels = LabelVocab.load(require_file(run_dir, "labels.json", "the label vocabulary"))
        predictor = cls(model, tokenizer, labels, cfg, device)
        predictor.run_dir = run_dir
        return predictor

    def read_inputs(self, path: str | Path, format: str | None = None,
                    text_column: str | None = None) -> list[str]:
        """The texts of a file (CSV/TSV/JSONL by the run's text column, or .txt lines)."""
        from attnpred.data.text import read_texts
        return read_texts(str(path), format=format or "auto",
                          text_column=text_column or self.config.data.text_column)

    def iter_inputs(self, path: str | Path, format: str | None = None,
                    text_column: str | None = None) -> Iterator[str]:
        """``read_inputs`` lazily, one text at a time (bounded memory; UTF-8 unless the
        data config names another encoding)."""
        from attnpred.data.text import iter_texts
        return (t for _, t in iter_texts(str(path), format=format or "auto",
                                         text_column=text_column or
                                         self.config.data.text_column))

    def evaluate(self, path: str | Path, format: str | None = None,
                 text_column: str | None = None, label_column: str | None = None,
                 batch_size: int | None = None) -> dict[str, Any]:
        """Score a labelled file beside the run's majority baseline (and, where the file
        carries rationales, the attention against them). CSV/TSV/JSONL files are streamed a
        chunk at a time: memory holds the labels, not the texts."""
        from attnpred.evaluation.classification import evaluate_with_baseline
        from attnpred.evaluation.rationale_report import evaluate_rationales
        from attnpred.supervision.gold import example_rationales
        from attnpred.tasks.batch_predict import chunks
        from attnpred.tasks.classify_data import TextDataConfig, iter_read
        changes = {k: v for k, v in (("format", format), ("text_column", text_column),
                                     ("label_column", label_column)) if v}
        data = TextDataConfig(**{**self.config.data.__dict__, **changes})
        gold, predicted, with_rationale, n = [], [], [], 0
        for chunk in chunks(iter_read(data, str(path)), 1000):
            gold += [self.labels.decode(self.labels.encode(e.label, file=e.source, line=e.line))
                     for e in chunk]
            predicted += [p.label for p in self.predict([e.text for e in chunk],
                                                        batch_size=batch_size)]
            with_rationale += [e for e, r in zip(chunk, example_rationales(
                chunk, self.config.supervision)) if r is not None]
            n += len(chunk)
        stats = getattr(self, "run_dir", None)
        majority = (json.loads((stats / "data_stats.json").read_text())["majority"]
                    if stats is not None and (stats / "data_stats.json").is_file()
                    else None)
        result = evaluate_with_baseline(gold, predicted, self.labels.labels, majority or gold[0])
        rationales = evaluate_rationales(self, with_rationale, self.config.supervision)
        if rationales is not None:
            result["rationales"] = rationales | {"n_examples": n}
        return result

    @staticmethod
    def format_evaluation(result: dict[str, Any]) -> str:
        """The readable report of ``evaluate``'s result."""
        from attnpred.evaluation.classification import format_report
        from attnpred.evaluation.rationale_report import format_rationales
        text = format_report(result)
        if "rationales" in result:
            text += "\n" + format_rationales(result["rationales"])
        return text

    @property
    def has_pooling_attention(self) -> bool:
        head = getattr(self.model, "head", None)
        return getattr(head, "pool", None) is not None

    @property
    def supervision(self):
        """The run's attention supervision config when it was trained with one, else None."""
        sup = getattr(self.config, "supervision", None)
        return sup if sup is not None and sup.active else None

    def _source(self, attention: str) -> str:
        """'auto' means the supervised attention for a run trained on rationales."""
        if attention == "supervised" and self.supervision is None:
            raise AttnpredError("this run was not trained with attention supervision",
                                field="attention")
        return "supervised" if attention == "auto" and self.supervision else attention

    @torch.no_grad()
    def predict(self, texts: Sequence[str], *, return_attention: bool = False,
                attention: str = "auto", batch_size: int | None = None) -> list[Prediction]:
        """Classify ``texts``; with ``return_attention`` add per-word attention.

        Args:
            texts: raw strings.
            return_attention: add ``words`` and ``word_attention`` to each prediction.
            attention: 'auto' (the supervised attention of a run trained on rationales, else
                the pooling head's when the model has one, else 'cls'), 'pooling', 'cls'
                (last layer's CLS row averaged over heads) or 'supervised'.
            batch_size: defaults to the run's eval batch size.
        Returns:
            One Prediction per text, in order.
        """
        if attention not in ATTENTION_SOURCES:
            raise AttnpredError(f"unknown attention source {attention!r}; expected one of "
                                f"{ATTENTION_SOURCES}", field="attention")
        if isinstance(texts, str):
            texts = [texts]
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise AttnpredError(f"input {i} is {'empty' if isinstance(text, str) else type(text).__name__}; "
                                    "expected a non-empty text", field=f"inputs[{i}]")
        encoded = encode_texts(self.tokenizer, list(texts), self.config.max_len)
        data = EncodedSet(encoded, [-1] * len(encoded), [])
        attention = self._source(attention)
        if attention == "supervised":
            need = return_attention and self.supervision.target == "cls"
        else:
            need = return_attention and not (attention != "cls" and self.has_pooling_attention)
        results: list[Prediction | None] = [None] * len(texts)
        for batch in eval_batches(data, batch_size or self.config.eval_batch_size,
                                  self.tokenizer.pad_token_id):
            batch = move(batch, self.device)
            out = self.model(batch["input_ids"], batch["attention_mask"], need_weights=need)
            probs = torch.softmax(out.logits.float(), -1).cpu()
            att, src = (self._attention(out, attention) if return_attention
                        else (None, None))
            for row, i in enumerate(batch["index"].tolist()):
                results[i] = self._prediction(texts[i], probs[row], encoded[i],
                                              None if att is None else att[row].cpu(), src)
        return results  # type: ignore[return-value]

    def _attention(self, out: ClassifierOutput, source: str) -> tuple[Tensor, str]:
        if source == "supervised":
            from attnpred.supervision.losses import select_attention
            return select_attention(out, self.supervision), "supervised"
        return token_attention(out, source)

    def _prediction(self, text: str, probs: Tensor, enc: Encoded, att: Tensor | None,
                    source: str | None) -> Prediction:
        p = {lab: float(probs[j]) for j, lab in enumerate(self.labels.labels)}
        label = self.labels.decode(int(probs.argmax()))
        if att is None:
            return Prediction(text, label, p, enc.words)
        return Prediction(text, label, p, enc.words, to_words(att, enc), source)

    @staticmethod
    def to_csv(results: Sequence[Any], start: int = 0) -> str:
        """text, label, probability, the five most-attended words."""
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["text", "label", "probability", "top_words"])
        for r in results:
            w.writerow([r.text, r.label, f"{r.probabilities[r.label]:.6f}",
                        " ".join(word for word, _ in r.top_words(5))])
        return buf.getvalue()
