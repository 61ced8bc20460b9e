"""``TagPredictor``: tags, entity spans and each word's attention over the sentence."""
from __future__ import annotations

import io
import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
from torch import nn

from attnpred.data.conll import TaggedSentence, iter_words, to_conll
from attnpred.data.labels import LabelVocab
from attnpred.data.tagging import EncodedSentence, encode_sentences, eval_batches
from attnpred.device import move
from attnpred.errors import AttnpredError
from attnpred.evaluation.tagging import (MajorityTagger, evaluate_with_baselines, score_tags)
from attnpred.tasks.rundir import load_run_weights, read_run_config, require_file


@dataclass
class TagResult:
    """One sentence's tags.

    Attributes:
        words: the input words.
        tags: one tag per word.
        entities: spans for BIO/BIOES tags (strict: ill-formed spans are dropped), each
            ``{"type", "start", "end" (exclusive), "text"}``; empty for plain tags.
        word_attention: row i is word i's attention over the words (sums to 1), or None
            unless asked for.
        truncated: words past the model's max_len (tagged by the majority-per-word baseline).
    """

    words: list[str]
    tags: list[str]
    entities: list[dict[str, Any]]
    word_attention: list[list[float]] | None = None
    truncated: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out = {"words": self.words, "tags": self.tags, "entities": self.entities,
               "truncated": self.truncated}
        if self.word_attention is not None:
            out["word_attention"] = self.word_attention
        return out

    def summary(self, width: int = 160) -> str:
        """One line: the entities (NER) or word/TAG pairs (plain tags)."""
        if self.entities or all(t == "O" for t in self.tags):
            body = "; ".join(f"{e['type']}: {e['text']}" for e in self.entities) or "no entities"
        else:
            body = " ".join(f"{w}/{t}" for w, t in zip(self.words, self.tags))
        line = f"{len(self.words)} words | {body}"
        return line if len(line) <= width else line[: width - 3] + "..."


def entity_spans(words: Sequence[str], tags: Sequence[str], scheme: str) -> list[dict[str, Any]]:
    """Strict entity spans of one sentence (seqeval's scheme-aware reading)."""
    if scheme not in ("bio", "bioes"):
        return []
    from seqeval.scheme import IOB2, IOBES, Entities
    mode = IOBES if scheme == "bioes" else IOB2
    ents = Entities([list(tags)], mode).entities[0]
    return [{"type": e.tag, "start": e.start, "end": e.end,
             "text": " ".join(words[e.start:e.end])} for e in ents]


class TagPredictor:
    """A trained tagger with its tokenizer, tags and baseline; build with ``load(run_dir)``."""

    def __init__(self, model: nn.Module, tokenizer, labels: LabelVocab, config,
                 majority: MajorityTagger, device: str = "cpu") -> None:
        self.model, self.tokenizer, self.labels, self.config = model, tokenizer, labels, config
        self.majority = majority
        self.device = torch.device(device)
        self.model.to(self.device)

    @classmethod
    def load(cls, run_dir: str | Path, device: str = "cpu") -> "TagPredictor":
        """The predictor of a completed (or interrupted but weight-holding) run."""
        from attnpred.data.encoding import load_tokenizer
        from attnpred.tasks.tag_config import TagRunConfig, build_model
        run_dir = Path(run_dir)
        cfg = read_run_config(run_dir, TagRunConfig)
        labels = LabelVocab.load(require_file(run_dir, "labels.json", "the tag set"))
        stats = require_file(run_dir, "data_stats.json", "the majority baseline")
        majority = MajorityTagger.from_json(json.loads(stats.read_text("utf-8"))["majority"])
        model = build_model(cfg, len(labels), run_dir)
        load_run_weights(model, run_dir)
        tokenizer = load_tokenizer(require_file(run_dir, "tokenizer", "the tokenizer"))
        return cls(model.eval(), tokenizer, labels, cfg, majority, device)

    @property
    def scheme(self) -> str:
        return self.config.scheme

    # ---- prediction --------------------------------------------------------------------
    def prepare(self, sentences: Sequence[TaggedSentence | Sequence[str] | str]
                ) -> list[tuple[list[str], EncodedSentence]]:
        """Words and encodings of the inputs (word lists, strings split on whitespace, or
        TaggedSentence)."""
        words = [list(s.words) if isinstance(s, TaggedSentence)
                 else (s.split() if isinstance(s, str) else list(s)) for s in sentences]
        for i, w in enumerate(words):
            if not w:
                raise AttnpredError(f"input {i} has no words", field="inputs")
        return list(zip(words, encode_sentences(self.tokenizer, words, self.config.max_len)))

    @torch.no_grad()
    def _run(self, prepared, return_attention: bool, batch_size: int | None):
        """(tag ids, word attention or None) per input, in input order."""
        self.model.eval()
        device = next(self.model.parameters()).device  # the trainer may have moved it
        encoded = [e for _, e in prepared]
        ids: list[list[int]] = [[] for _ in encoded]
        att: list[Any] = [None] * len(encoded)
        for batch in eval_batches(encoded, batch_size or self.config.eval_batch_size,
                                  self.tokenizer.pad_token_id):
            batch = move(batch, device)
            out = self.model(batch["input_ids"], batch["attention_mask"], batch["word_index"],
                             batch["word_mask"], batch["token_words"],
                             need_weights=return_attention)
            decoded = self.model.decode(out.logits, batch["word_mask"])
            for row, i in enumerate(batch["index"].tolist()):
                ids[i] = decoded[row]
                if return_attention:
                    k = len(decoded[row])
                    att[i] = out.word_attention[row, :k, :k].cpu()
        return ids, att

    def _result(self, words: list[str], ids: list[int], att) -> TagResult:
        tags = [self.labels.decode(j) for j in ids]
        rest = len(words) - len(tags)
        if rest:  # words past max_len: the majority-per-word baseline
            tags += self.majority.predict(words[len(ids):])
        word_att = None
        if att is not None:  # truncated words neither attend nor are attended to
            n = len(words)
            word_att = [[float(x) for x in row] + [0.0] * rest for row in att.tolist()]
            word_att += [[0.0] * n for _ in range(rest)]
        return TagResult(words, tags, entity_spans(words, tags, self.scheme), word_att, rest)

    def predict(self, inputs: Sequence[Sequence[str] | str], *, return_attention: bool = False,
                batch_size: int | None = None) -> list[TagResult]:
        """Tag sentences.

        Args:
            inputs: word lists, or strings (split on whitespace).
            return_attention: add each word's attention over the sentence (last layer, mean
                over heads; the explicit attention path is used).
            batch_size: defaults to the run's eval batch size.
        Returns:
            One TagResult per input, in order.
        """
        if isinstance(inputs, str):
            inputs = [inputs]
        prepared = self.prepare(inputs)
        ids, att = self._run(prepared, return_attention, batch_size)
        return [self._result(w, i, a) for (w, _), i, a in zip(prepared, ids, att)]

    # ---- evaluation --------------------------------------------------------------------
    def dev_metrics(self, prepared, gold: list[list[str]]) -> dict[str, float]:
        """Trainer metrics on prepared gold sentences: score, accuracy, entity_f1."""
        ids, _ = self._run(prepared, False, None)
        pred = [self._result(w, i, None).tags for (w, _), i in zip(prepared, ids)]
        res = score_tags(gold, pred, self.scheme)
        f1 = res.get("entity_f1", 0.0)
        acc = res["token_accuracy"]
        return {"score": f1 if "entity_f1" in res else acc, "accuracy": acc, "entity_f1": f1}

    def score(self, sentences: list[TaggedSentence]) -> dict[str, Any]:
        """Scores of gold sentences beside the baselines."""
        pred = [r.tags for r in self.predict([s.words for s in sentences])]
        return evaluate_with_baselines([s.words for s in sentences],
                                       [s.tags for s in sentences], pred, self.scheme,
                                       self.majority)

    def evaluate(self, path: str | Path, **options: Any) -> dict[str, Any]:
        """Score a tagged file (CoNLL or CoNLL-U) beside the baselines.

        Options: ``format`` ('auto', 'conll', 'conllu'), ``column`` ('upos', 'xpos').
        """
        from attnpred.tasks.tag_config import read_gold
        import dataclasses
        data = dataclasses.replace(self.config.data, **{k: options[k] for k in ("format",
                                                        "column") if options.get(k)})
        cfg = dataclasses.replace(self.config, data=data)
        from attnpred.data.conll import check_known_tags
        gold = read_gold(cfg, str(path), self.scheme)
        check_known_tags(gold, self.labels.labels)
        return self.score(gold)

    @staticmethod
    def format_evaluation(result: dict[str, Any]) -> str:
        """The readable report of ``evaluate``'s result."""
        from attnpred.evaluation.tagging import format_report
        return format_report(result)

    def read_inputs(self, path: str | Path, **options: Any) -> list[list[str]]:
        """Sentences to tag from a file: .txt (one per line) or CoNLL / CoNLL-U words.

        Options: ``format`` ('auto', 'txt', 'conll', 'conllu').
        """
        return list(self.iter_inputs(path, **options))

    def iter_inputs(self, path: str | Path, **options: Any) -> Iterator[list[str]]:
        """``read_inputs`` lazily, one sentence at a time (bounded memory)."""
        return (s.words for s in iter_words(path, options.get("format") or "auto"))

    @staticmethod
    def to_conll(results: Sequence[TagResult]) -> str:
        """CoNLL text (word<TAB>tag, blank line between sentences) of predictions."""
        return to_conll([r.words for r in results], [r.tags for r in results])

    @staticmethod
    def to_csv(results: Sequence[Any], start: int = 0) -> str:
        """One row per word: sentence (numbered from ``start``), word index, word, tag."""
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["sentence", "index", "word", "tag"])
        for i, r in enumerate(results, start=start):
            for j, (word, tag) in enumerate(zip(r.words, r.tags)):
                w.writerow([i, j, word, tag])
        return buf.getvalue()
