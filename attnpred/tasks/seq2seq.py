"""Sequence to sequence (translation, summarisation): a run config in, a run directory out.

Run directory: config.json ("task": "seq2seq"), tokenizer.src.json (+ tokenizer.tgt.json when
the vocabularies are separate), model.safetensors, train_log.jsonl, logs/, checkpoints/last.pt.
``Seq2SeqPredictor.load(run_dir)`` reads it back to translate, score, evaluate and align.
"""
from __future__ import annotations

import io
import csv
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import torch
from torch import Tensor, nn

from attnpred.alignment.agreement import pair_agreement
from attnpred.alignment.extract import AlignConfig, pair_alignments, pair_word_maps
from attnpred.alignment.select import AlignmentChoice, alignment_candidates, choose_alignment
from attnpred.alignment.symmetrize import symmetrize
from attnpred.config import check, save_config
from attnpred.data.alignment import Link, read_pharaoh
from attnpred.data.parallel import (ParallelExample, Seq2SeqTokenizer, collate, read_parallel,
                                    token_batches)
from attnpred.errors import AttnpredError
from attnpred.evaluation.generation import generation_metrics
from attnpred.models.decoding import DecodingConfig, decode
from attnpred.models.rnn_seq2seq import GRUSeq2Seq, GRUSeq2SeqConfig
from attnpred.models.seq2seq import TransformerSeq2Seq, TransformerSeq2SeqConfig
from attnpred.supervision.guided_alignment import (GuidedAlignment, GuidedAlignmentConfig,
                                                   alignment_targets)
from attnpred.tasks.rundir import (finish_run, load_run_weights, prepare_run_dir, read_run_config,
                                   require_file)
from attnpred.training.checkpoint import seed_everything
from attnpred.device import move
from attnpred.training.trainer import Trainer, TrainerConfig

# arch name -> (model class, name of its config field in Seq2SeqRunConfig)
MODELS: dict[str, tuple[type[nn.Module], str]] = {
    "transformer": (TransformerSeq2Seq, "transformer"),
    "gru-attention": (GRUSeq2Seq, "gru"),
}
DEV_METRICS = ("bleu", "chrf", "rouge1", "rouge2", "rougeL", "nll")


@dataclass
class Seq2SeqDataConfig:
    """Where the parallel text is and how it is cut into batches."""

    train_src: str = ""
    """Training source file, or the single TSV / JSONL / 'src ||| tgt' file."""
    train_tgt: str = ""
    """Line-aligned training target file ('' for single-file formats)."""
    dev_src: str = ""
    """Development source (or single) file; '' trains without dev evaluation."""
    dev_tgt: str = ""
    """Line-aligned development target file."""
    test_src: str = ""
    """Test source (or single) file, scored once training ends ('' : none)."""
    test_tgt: str = ""
    """Line-aligned test target file."""
    src_field: str = "src"
    """Source column / key in TSV and JSONL files."""
    tgt_field: str = "tgt"
    """Target column / key in TSV and JSONL files."""
    train_align: str = ""
    """Pharaoh word alignments (0-indexed i-j) of the training pairs, for guided alignment."""
    vocab_size: int = 8000
    """BPE vocabulary size (each side, or joint)."""
    joint_vocab: bool = True
    """One BPE vocabulary for source and target (needed for shared embeddings)."""
    max_tokens: int = 4096
    """Training batch budget: batch size x longest padded sequence."""
    max_len: int = 128
    """Truncate sources and targets to this many tokens."""
    dev_limit: int = 0
    """Score generation on the first n dev examples only (0: all; for quick CPU runs)."""

    def __post_init__(self) -> None:
        check(self.vocab_size > 4, "vocab_size", "must be > 4")
        check(self.max_tokens >= self.max_len, "max_tokens", "must be >= max_len")
        check(self.max_len >= 2, "max_len", "must be >= 2")
        check(self.dev_limit >= 0, "dev_limit", "must be >= 0")


@dataclass
class Seq2SeqRunConfig:
    """Everything a seq2seq run needs; written to run_dir/config.json."""

    task: str = "seq2seq"
    """Task name (always 'seq2seq'); lets ``attnpred.load`` find the predictor."""
    model: str = "transformer"
    """Model: 'transformer' or 'gru-attention'."""
    data: Seq2SeqDataConfig = field(default_factory=Seq2SeqDataConfig)
    """Files, tokenizer and batching."""
    transformer: TransformerSeq2SeqConfig = field(default_factory=TransformerSeq2SeqConfig)
    """Transformer shape (used when model='transformer')."""
    gru: GRUSeq2SeqConfig = field(default_factory=GRUSeq2SeqConfig)
    """GRU + attention shape (used when model='gru-attention')."""
    guide: GuidedAlignmentConfig = field(default_factory=GuidedAlignmentConfig)
    """Guided alignment: which decoder layer/heads the gold alignments of data.train_align
    supervise, and how hard (weight 0: off)."""
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    """Search used by predict and evaluate."""
    dev_decoding: DecodingConfig = field(default_factory=lambda: DecodingConfig(beam=1))
    """Search used for dev scores during training (greedy by default: cheaper)."""
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(metric="bleu", mode="max", lr=5e-4))
    """Optimisation; its metric picks the best weights (bleu, chrf, rouge1/2/L or nll)."""

    def __post_init__(self) -> None:
        check(self.task == "seq2seq", "task", "must be 'seq2seq'")
        check(self.model in MODELS, "model", f"must be one of {sorted(MODELS)}")
        check(self.trainer.metric in DEV_METRICS, "trainer.metric", f"one of {DEV_METRICS}")
        check(self.data.max_len <= self.model_config.max_len, "data.max_len",
              f"must be <= the model's max_len ({self.model_config.max_len})")
        if self.guide.weight > 0:
            layers, heads = self.decoder_shape
            check(-layers <= self.guide.layer < layers, "guide.layer",
                  f"must index one of the model's {layers} decoder layer(s)")
            check(all(0 <= h < heads for h in self.guide.heads), "guide.heads",
                  f"head indices must be in [0, {heads})")

    @property
    def decoder_shape(self) -> tuple[int, int]:
        """(decoder layers with cross-attention, heads per layer)."""
        if self.model == "transformer":
            return self.transformer.decoder_layers, self.transformer.heads
        return 1, 1

    @property
    def model_config(self):
        return getattr(self, MODELS[self.model][1])


def build_model(cfg: Seq2SeqRunConfig) -> nn.Module:
    cls, _ = MODELS[cfg.model]
    return cls(cfg.model_config)


# ---- data -------------------------------------------------------------------------------
@dataclass
class EncodedPair:
    """Token ids of one pair; word indices of each sub-word when alignments are used."""

    src: list[int]
    tgt: list[int]
    links: set[Link] | None = None
    src_words: list[int] | None = None
    tgt_words: list[int] | None = None


def encode_pairs(tok: Seq2SeqTokenizer, examples: Sequence[ParallelExample], max_len: int,
                 aligns: Sequence[set[Link]] | None = None) -> list[EncodedPair]:
    out = []
    for i, ex in enumerate(examples):
        pair = EncodedPair(tok.encode_src(ex.src, max_len), tok.encode_tgt(ex.tgt, max_len))
        if aligns is not None:
            pair.links = aligns[i]
            pair.src_words = tok.src_words(ex.src, max_len)
            pair.tgt_words = tok.tgt_words(ex.tgt, max_len)
        out.append(pair)
    return out


def make_batch(pairs: Sequence[EncodedPair]) -> dict[str, Tensor]:
    """Model inputs for ``pairs``; with alignments also ``align`` (B, T, S)."""
    batch = collate([p.src for p in pairs], [p.tgt for p in pairs])
    if pairs and pairs[0].links is not None:
        s, t = batch["src_ids"].shape[1], batch["tgt_out"].shape[1]
        batch["align"] = torch.stack([alignment_targets(p.links, p.src_words, p.tgt_words, s, t)
                                      for p in pairs])
    return batch


class TrainBatches:
    """The trainer's batch source: token-count batches, reshuffled per epoch from the seed."""

    def __init__(self, pairs: Sequence[EncodedPair], max_tokens: int, seed: int) -> None:
        self.pairs, self.max_tokens, self.seed = pairs, max_tokens, seed
        self.lengths = [max(len(p.src), len(p.tgt) + 1) for p in pairs]

    def __call__(self, epoch: int) -> list[dict[str, Tensor]]:
        g = torch.Generator().manual_seed(self.seed + epoch)
        groups = token_batches(self.lengths, self.max_tokens, shuffle=True, generator=g)
        return [make_batch([self.pairs[i] for i in idx]) for idx in groups]


def read_alignments(path: str, pairs: Sequence[ParallelExample]) -> list[set[Link]]:
    """The training pairs' Pharaoh alignments: one line per pair, every link inside it."""
    from attnpred.data.alignment import check_alignments
    aligns = read_pharaoh(path)
    check_alignments(aligns, [p.src for p in pairs], [p.tgt for p in pairs], path,
                     pairs="training pairs")
    return aligns


# ---- the predictor ----------------------------------------------------------------------
@dataclass
class Translation:
    """One output.

    Attributes:
        text: the detokenised output.
        score: its (length-normalised) log-probability.
        src_tokens: source sub-words (ending with </s>).
        tgt_tokens: output sub-words (ending with </s>).
        cross_attentions: per decoder layer (H, T, S) over ``tgt_tokens`` x ``src_tokens``;
            None unless asked for.
    """

    text: str
    score: float
    src_tokens: list[str]
    tgt_tokens: list[str]
    cross_attentions: tuple[Tensor, ...] | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the output, its score and, when asked for, the cross-attention
        (layer x head x target token x source token)."""
        out: dict[str, Any] = {"source": self.source, "text": self.text, "score": self.score}
        if self.cross_attentions is not None:
            out |= {"src_tokens": self.src_tokens, "tgt_tokens": self.tgt_tokens,
                    "cross_attentions": [m.tolist() for m in self.cross_attentions]}
        return out

    def summary(self) -> str:
        """The output text (the terminal shows one per line, in input order)."""
        return self.text


class Seq2SeqPredictor:
    """A trained seq2seq model with its tokenizer: translate, evaluate and align."""

    def __init__(self, model: nn.Module, tokenizer: Seq2SeqTokenizer, cfg: Seq2SeqRunConfig,
                 device: str = "cpu") -> None:
        self.model, self.tok, self.cfg = model.to(device).eval(), tokenizer, cfg
        self.device = torch.device(device)

    @classmethod
    def load(cls, run_dir: str | Path, device: str = "cpu") -> "Seq2SeqPredictor":
        run_dir = Path(run_dir)
        cfg = read_run_config(run_dir, Seq2SeqRunConfig)
        model = build_model(cfg)
        load_run_weights(model, run_dir)
        require_file(run_dir, "tokenizer.src.json", "the tokenizer")
        return cls(model, Seq2SeqTokenizer.load(run_dir), cfg, device)

    def read_inputs(self, path: str | Path, format: str | None = None) -> list[str]:
        """Source texts, one per line (.gz read)."""
        from attnpred.data.parallel import read_lines
        return list(_sources(read_lines(str(path)), path))

    def iter_inputs(self, path: str | Path, format: str | None = None) -> Iterator[str]:
        """``read_inputs`` lazily, one line at a time (bounded memory; UTF-8)."""
        from attnpred.data.text import stream_lines
        return _sources(stream_lines(path), path)

    @property
    def max_len(self) -> int:
        return self.cfg.data.max_len

    def _batches(self, lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
        return token_batches(lengths, max(max_tokens, max(lengths, default=1)))

    def predict(self, texts: Sequence[str], *, return_attention: bool = False,
                batch_size: int | None = None, decoding: DecodingConfig | None = None,
                beam: int | None = None,
                length_penalty: float | None = None) -> list[Translation]:
        """Decode every text (beam search per ``decoding``, default the run's).

        With ``return_attention`` each output carries the cross-attention of a forced pass
        over the chosen output (identical to the attention seen while decoding).
        ``batch_size`` caps the sources per batch (batches are formed by token count);
        ``beam`` and ``length_penalty`` override the decoding's.
        """
        if isinstance(texts, str):
            texts = [texts]
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise AttnpredError("empty source text; expected words to translate",
                                    field=f"inputs[{i}]")
        max_tokens = batch_size * self.max_len if batch_size else 4000
        decoding = decoding or self.cfg.decoding
        changes = {k: v for k, v in (("beam", beam), ("length_penalty", length_penalty))
                   if v is not None}
        decoding = dataclasses.replace(decoding, **changes) if changes else decoding
        if decoding.max_len > self.cfg.model_config.max_len:  # positions the model knows
            decoding = dataclasses.replace(decoding, max_len=self.cfg.model_config.max_len)
        src = [self.tok.encode_src(t, self.max_len) for t in texts]
        hyps: list = [None] * len(texts)
        for idx in self._batches([len(s) for s in src], max_tokens):
            batch = move(collate([src[i] for i in idx]), self.device)
            for i, h in zip(idx, decode(self.model, batch["src_ids"], batch["src_mask"],
                                        decoding)):
                hyps[i] = h
        out = [Translation(self.tok.decode_tgt(h.tokens), h.score,
                           [self.tok.src.id_to_token(i) for i in s],
                           [self.tok.tgt.id_to_token(i) for i in h.tokens] + ["</s>"],
                           source=text)
               for h, s, text in zip(hyps, src, texts)]
        if return_attention:
            maps = self._forced_ids(src, [h.tokens for h in hyps], max_tokens)
            for tr, m in zip(out, maps):
                tr.cross_attentions = m
        return out

    @torch.no_grad()
    def _forced_ids(self, src: Sequence[list[int]], tgt: Sequence[list[int]],
                    max_tokens: int) -> list[tuple[Tensor, ...]]:
        """Cross-attention per pair: per layer (H, T, S) cropped to the real tokens."""
        out: list = [None] * len(src)
        lengths = [max(len(s), len(t) + 1) for s, t in zip(src, tgt)]
        for idx in self._batches(lengths, max_tokens):
            batch = move(collate([src[i] for i in idx], [tgt[i] for i in idx]), self.device)
            res = self.model(batch["src_ids"], batch["src_mask"], batch["tgt_in"],
                             need_weights=True)
            for row, i in enumerate(idx):
                s, t = len(src[i]), len(tgt[i]) + 1
                out[i] = tuple(m[row, :, :t, :s].cpu() for m in res.cross_attentions)
        return out

    def forced_attention(self, src_texts: Sequence[str], tgt_texts: Sequence[str],
                         max_tokens: int = 4000) -> list[tuple[Tensor, ...]]:
        """Cross-attention of the model reading ``tgt_texts`` as its output (teacher forcing)."""
        src = [self.tok.encode_src(t, self.max_len) for t in src_texts]
        tgt = [self.tok.encode_tgt(t, self.max_len) for t in tgt_texts]
        return self._forced_ids(src, tgt, max_tokens)

    def align(self, src_texts: Sequence[str], tgt_texts: Sequence[str],
              cfg: AlignConfig | None = None) -> list[set[Link]]:
        """Word alignments (0-indexed source-target links) from cross-attention.

        Words are the whitespace tokens of the given texts.
        """
        cfg = cfg or AlignConfig()
        self._check_align_config(cfg)
        src_words, tgt_words = self._word_ids(src_texts, tgt_texts)
        return pair_alignments(self.forced_attention(src_texts, tgt_texts), src_words,
                               tgt_words, cfg)

    def word_maps(self, src_texts: Sequence[str], tgt_texts: Sequence[str],
                  cfg: AlignConfig | None = None) -> list[Tensor]:
        """Each pair's word-level (target words, source words) map of the layer and heads
        ``cfg`` selects, every target word's row summing to 1 (what symmetrize='agreement'
        multiplies)."""
        cfg = cfg or AlignConfig()
        self._check_align_config(cfg)
        return pair_word_maps(self.forced_attention(src_texts, tgt_texts),
                              *self._word_ids(src_texts, tgt_texts), cfg)

    def _word_ids(self, src_texts: Sequence[str], tgt_texts: Sequence[str]
                  ) -> tuple[list[list[int]], list[list[int]]]:
        """Whitespace-word index of every sub-word of each source and target text."""
        return ([self.tok.src_words(s, self.max_len) for s in src_texts],
                [self.tok.tgt_words(t, self.max_len) for t in tgt_texts])

    def choose_alignment(self, src_texts: Sequence[str], tgt_texts: Sequence[str],
                         reference: Sequence[set[Link]],
                         base: AlignConfig | None = None) -> AlignmentChoice:
        """The decoder layer and heads whose links best match ``reference`` (e.g. eflomal's
        links of held-out pairs), scoring every layer x head, each layer's mean and the mean
        of all layers; use the returned ``config`` with ``align``."""
        layers, heads = self.cfg.decoder_shape
        return choose_alignment(
            self.forced_attention(src_texts, tgt_texts), *self._word_ids(src_texts, tgt_texts),
            reference, alignment_candidates(layers, heads, base or AlignConfig()))

    def _check_align_config(self, cfg: AlignConfig) -> None:
        """The layer and heads ``cfg`` names must exist in this run's decoder."""
        layers, heads = self.cfg.decoder_shape
        if not cfg.average_layers and not -layers <= cfg.layer < layers:
            raise AttnpredError(f"decoder layer {cfg.layer} does not exist: the run's decoder has "
                                f"{layers} layer(s); choose --layer in [{-layers}, {layers - 1}] "
                                "or --average-layers", field="layer")
        bad = [h for h in cfg.heads if not 0 <= h < heads]
        if bad:
            raise AttnpredError(f"head {bad[0]} does not exist: the run's decoder layers have "
                                f"{heads} head(s); choose --heads in [0, {heads - 1}]",
                                field="heads")

    def translate(self, texts: Sequence[str], decoding: DecodingConfig | None = None,
                  return_attention: bool = False) -> list[Translation]:
        """``predict`` under its old name."""
        return self.predict(texts, return_attention=return_attention, decoding=decoding)

    def score(self, src_texts: Sequence[str], refs: Sequence[Sequence[str]],
              metrics: Sequence[str] = ("bleu", "chrf"), decoding: DecodingConfig | None = None,
              batch_size: int | None = None) -> dict[str, Any]:
        """Metrics of the outputs for ``src_texts`` against reference streams, beside copying
        the source; the outputs under ``outputs``."""
        hyps = [t.text for t in self.predict(src_texts, decoding=decoding,
                                             batch_size=batch_size)]
        return {"model": generation_metrics(hyps, refs, metrics),
                "copy": generation_metrics(list(src_texts), refs, metrics),
                "examples": len(src_texts), "outputs": hyps}

    def evaluate(self, path: str | Path, refs: str | Path | None = None,
                 format: str | None = None, metrics: Sequence[str] | None = None,
                 decoding: DecodingConfig | None = None,
                 batch_size: int | None = None) -> dict[str, Any]:
        """Score a parallel file (TSV/JSONL/'src ||| tgt', or ``path`` + line-aligned ``refs``)
        with sacreBLEU/chrF (ROUGE for a run picked by ROUGE) beside copying the source."""
        pairs = read_parallel(str(path), str(refs) if refs else None,
                              src_field=self.cfg.data.src_field, tgt_field=self.cfg.data.tgt_field)
        metrics = metrics or default_metrics(self.cfg)
        return self.score([p.src for p in pairs], [[p.tgt for p in pairs]], metrics, decoding,
                          batch_size)

    @staticmethod
    def format_evaluation(result: dict[str, Any]) -> str:
        """The readable report of ``evaluate``'s result."""
        lines = [f"{result['examples']} examples"]
        for name in ("model", "copy"):
            lines.append(f"{name:>6}: " + ", ".join(f"{k} {v:.2f}" for k, v in
                                                   result[name].items()))
        return "\n".join(lines)

    @staticmethod
    def to_csv(results: Any, start: int = 0) -> str:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["source", "output", "score"])
        for r in results:
            w.writerow([r.source, r.text, f"{r.score:.6f}"])
        return buf.getvalue()


def _sources(lines: Iterable[str], path: str | Path) -> Iterator[str]:
    """Source lines, refusing an empty one (naming its line)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise AttnpredError("empty source line; expected words to translate",
                                file=path, line=number)
        yield line


# ---- training ---------------------------------------------------------------------------
def dev_evaluator(tok: Seq2SeqTokenizer, cfg: Seq2SeqRunConfig,
                  dev: Sequence[ParallelExample]) -> Callable[[nn.Module], dict[str, float]]:
    """Dev NLL (teacher forced) and, unless the metric is nll, the generation metric."""
    pairs = encode_pairs(tok, dev, cfg.data.max_len)
    scored = dev[: cfg.data.dev_limit] if cfg.data.dev_limit else dev
    family = "rouge" if cfg.trainer.metric.startswith("rouge") else cfg.trainer.metric

    def evaluate(model: nn.Module) -> dict[str, float]:
        device = next(model.parameters()).device
        total, count = 0.0, 0
        lengths = [max(len(p.src), len(p.tgt) + 1) for p in pairs]
        for idx in token_batches(lengths, cfg.data.max_tokens):
            batch = move(make_batch([pairs[i] for i in idx]), device)
            n = int((batch["tgt_out"] != 0).sum())
            total += float(model(**batch).nll) * n
            count += n
        metrics = {"nll": total / max(1, count)}
        if family != "nll":
            pred = Seq2SeqPredictor(model, tok, cfg, str(device))
            hyps = [t.text for t in pred.translate([e.src for e in scored], cfg.dev_decoding)]
            metrics |= generation_metrics(hyps, [[e.tgt for e in scored]], [family])
        return metrics

    return evaluate


def default_metrics(cfg: Seq2SeqRunConfig) -> tuple[str, ...]:
    """ROUGE for a run picked by ROUGE (summarisation), else BLEU and chrF."""
    return ("rouge",) if cfg.trainer.metric.startswith("rouge") else ("bleu", "chrf")


def _read(cfg: Seq2SeqDataConfig, src: str, tgt: str) -> list[ParallelExample]:
    return (read_parallel(src, tgt or None, src_field=cfg.src_field, tgt_field=cfg.tgt_field)
            if src else [])


def train_seq2seq(cfg: Seq2SeqRunConfig, run_dir: str | Path, *, resume: bool = False,
                  overwrite: bool = False) -> dict[str, Any]:
    """Train a tokenizer and model on ``cfg.data`` into ``run_dir``; score dev and test.

    Returns:
        The metrics written to run_dir/metrics.json (per split: the model and copying the
        source, by sacreBLEU/chrF or ROUGE).
    """
    run_dir = Path(run_dir)
    d = cfg.data
    if not d.train_src:
        raise AttnpredError("no training data", field="data.train_src")
    train = _read(d, d.train_src, d.train_tgt)
    dev, test = _read(d, d.dev_src, d.dev_tgt), _read(d, d.test_src, d.test_tgt)
    aligns = read_alignments(d.train_align, train) if d.train_align else None
    prepare_run_dir(run_dir, resume=resume, overwrite=overwrite, config=cfg)
    if resume and (run_dir / "tokenizer.src.json").is_file():
        tok = Seq2SeqTokenizer.load(run_dir)
    else:
        tok = Seq2SeqTokenizer.train(train, d.vocab_size, joint=d.joint_vocab)
        tok.save(run_dir)
    cfg = with_vocab(cfg, tok)
    save_config(cfg, run_dir / "config.json")
    seed_everything(cfg.trainer.seed)
    model = build_model(cfg)
    source = TrainBatches(encode_pairs(tok, train, d.max_len, aligns), d.max_tokens,
                          cfg.trainer.seed)
    trainer_cfg = cfg.trainer
    if not dev:  # nothing to pick the best weights with: keep the last ones
        trainer_cfg = dataclasses.replace(trainer_cfg, metric="nll", mode="min")
    evaluate = dev_evaluator(tok, cfg, dev) if dev else None
    trained = GuidedAlignment(model, cfg.guide, cfg.decoder_shape[0]) if aligns else model
    Trainer(trained, trainer_cfg, run_dir, evaluate=evaluate).fit(source, resume=resume)
    predictor = Seq2SeqPredictor(model, tok, cfg)
    metrics: dict[str, Any] = {}
    for name, examples in (("dev", dev), ("test", test)):
        if examples:
            res = predictor.score([e.src for e in examples], [[e.tgt for e in examples]],
                                  default_metrics(cfg))
            metrics[name] = {k: v for k, v in res.items() if k != "outputs"}
    report = "\n\n".join(f"== {name} ==\n" + Seq2SeqPredictor.format_evaluation(m)
                         for name, m in metrics.items()) or "no dev or test data given"
    return finish_run(run_dir, metrics, report, keep_checkpoint=cfg.trainer.keep_checkpoint)


def with_vocab(cfg: Seq2SeqRunConfig, tok: Seq2SeqTokenizer) -> Seq2SeqRunConfig:
    """``cfg`` with the model's vocabulary sizes taken from the trained tokenizer."""
    sizes = {"src_vocab": tok.src.get_vocab_size(), "tgt_vocab": tok.tgt.get_vocab_size()}
    name = MODELS[cfg.model][1]
    return dataclasses.replace(cfg, **{name: dataclasses.replace(cfg.model_config, **sizes)})


def align_bitext(src: Sequence[str], tgt: Sequence[str], cfg: AlignConfig | None = None, *,
                 run: str | Path | None = None, reverse: str | Path | None = None,
                 eflomal: bool = False, device: str = "cpu") -> list[set[Link]]:
    """Word alignments of a bitext: from eflomal, from one run's cross-attention, or from a
    run and a reverse-direction (target->source) run, symmetrised as ``cfg.symmetrize``."""
    cfg = cfg or AlignConfig()
    if eflomal:
        if cfg.symmetrize == "agreement":
            raise AttnpredError("eflomal's links have no attention maps to agree on: use "
                                "intersection, union or grow-diag-final-and", field="symmetrize")
        from attnpred.alignment.eflomal import eflomal_align
        return eflomal_align(src, tgt, cfg.symmetrize)
    if run is None:
        raise AttnpredError("a run directory is needed unless eflomal is used", field="run")
    from attnpred.device import resolve_device
    resolve_device(device)
    forward = Seq2SeqPredictor.load(run, device=device)
    if cfg.symmetrize == "agreement":
        if reverse is None:
            raise AttnpredError("symmetrize 'agreement' needs a target->source run too",
                                field="reverse")
        backward = Seq2SeqPredictor.load(reverse, device=device)
        return pair_agreement(forward.word_maps(src, tgt, cfg), backward.word_maps(tgt, src, cfg),
                              cfg.agreement_threshold)
    fwd = forward.align(src, tgt, cfg)
    if reverse is None:
        return fwd
    rev = Seq2SeqPredictor.load(reverse, device=device).align(tgt, src, cfg)
    return [symmetrize(f, {(i, j) for j, i in r}, len(s.split()), len(t.split()), cfg.symmetrize)
            for f, r, s, t in zip(fwd, rev, src, tgt)]


