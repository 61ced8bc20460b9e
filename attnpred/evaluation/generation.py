"""Metrics for generated text: sacreBLEU, chrF (sacrebleu) and ROUGE-1/2/L (rouge-score).

Scores are on the 0-100 scale for BLEU and chrF (as sacreBLEU prints them) and 0-100 for ROUGE
F1 too, so tables line up with the published numbers.
"""
from __future__ import annotations

from typing import Sequence

from attnpred.errors import AttnpredError
from attnpred.io import atomic_write_text

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def _check(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> None:
    for r in refs:
        if len(r) != len(hyps):
            raise AttnpredError(f"{len(hyps)} outputs but {len(r)} references")


def bleu(hyps: Sequence[str], refs: Sequence[Sequence[str]], *, tokenize: str = "13a",
         lowercase: bool = False) -> float:
    """Corpus BLEU with sacreBLEU.

    Args:
        hyps: one output per example.
        refs: reference streams, each with one reference per example.
        tokenize: sacreBLEU tokenizer ('13a' on raw text; 'none' on pre-tokenised text).
        lowercase: case-insensitive BLEU.
    """
    from sacrebleu.metrics import BLEU
    _check(hyps, refs)
    return float(BLEU(tokenize=tokenize, lowercase=lowercase).corpus_score(
        list(hyps), [list(r) for r in refs]).score)


def chrf(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> float:
    """Corpus chrF (character n-gram F-score, beta 2) with sacreBLEU."""
    from sacrebleu.metrics import CHRF
    _check(hyps, refs)
    return float(CHRF().corpus_score(list(hyps), [list(r) for r in refs]).score)


def rouge(hyps: Sequence[str], refs: Sequence[Sequence[str]],
          stemmer: bool = True) -> dict[str, float]:
    """ROUGE-1/2/L F1 (x100) with rouge-score, averaged over examples and reference streams.

    With several references per example (AESLC's three annotators) each is scored separately
    and the F1 averaged, as Zhang & Tetreault (2019) do.
    """
    from rouge_score import rouge_scorer
    _check(hyps, refs)
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=stemmer)
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    n = 0
    for i, hyp in enumerate(hyps):
        for stream in refs:
            scores = scorer.score(stream[i], hyp)
            for k in ROUGE_TYPES:
                totals[k] += scores[k].fmeasure
            n += 1
    return {k: 100.0 * v / max(1, n) for k, v in totals.items()}


def generation_metrics(hyps: Sequence[str], refs: Sequence[Sequence[str]],
                       metrics: Sequence[str] = ("bleu", "chrf")) -> dict[str, float]:
    """The named metrics ('bleu', 'chrf', 'rouge') for ``hyps`` against ``refs``."""
    out: dict[str, float] = {}
    for name in metrics:
        if name == "bleu":
            out["bleu"] = bleu(hyps, refs)
        elif name == "chrf":
            out["chrf"] = chrf(hyps, refs)
        elif name == "rouge":
            out.update(rouge(hyps, refs))
        else:
            raise AttnpredError(f"unknown metric {name!r}; expected bleu, chrf or rouge",
                                field="metrics")
    return out


def write_report(path, title: str, metrics: dict[str, float],
                 examples: Sequence[tuple[str, str, str]] = ()) -> None:
    """A short Markdown report: the metrics table and a few (source, reference, output)."""
    lines = [f"# {title}", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in metrics.items()]
    if examples:
        lines += ["", "## Examples", ""]
        for src, ref, hyp in examples:
            lines += [f"- source: {src}", f"  - reference: {ref}", f"  - output: {hyp}"]
    atomic_write_text(path, "\n".join(lines) + "\n")
