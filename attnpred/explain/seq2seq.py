"""Explaining a seq2seq model: encoder, decoder and cross-attention per layer and head over
words, the map alignment links are read from, the extracted links and the gold ones.

The model's own output is explained (decoded by the predictor) unless the input carries a
reference target: then the model reads the reference (teacher forcing), so a gold alignment
of that pair lines up with the model's map. One forced forward pass per batch gives every map.

Works with a predictor exposing ``model`` (``model(src_ids, src_mask, tgt_in,
need_weights=True)`` -> ``Seq2SeqOutput``), ``tok`` (``Seq2SeqTokenizer``), ``max_len`` and
``predict`` (or ``translate``) returning outputs with ``text`` and ``score``.

Shape legend: L layers, H heads, S source tokens, T target tokens, W / V source / target words.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from attnpred.alignment.extract import AlignConfig, select_attention, word_alignment
from attnpred.data.alignment import parse_pharaoh
from attnpred.data.parallel import collate, token_batches
from attnpred.errors import AttnpredError
from attnpred.explain import maps as M
from attnpred.explain.types import TranslationExplanation


@dataclass
class PairInput:
    """A source, and optionally a reference target and a gold alignment (source, target)."""

    src: str
    tgt: str | None = None
    alignment: set[tuple[int, int]] | None = None


def as_pair(item: Any, index: int) -> PairInput:
    """A source string or a record with 'src' (or 'text'), 'tgt' and 'alignment' (Pharaoh
    "0-0 1-2" or a list of [source, target] pairs)."""
    if isinstance(item, PairInput):
        return item
    if isinstance(item, str):
        return PairInput(item)
    if not isinstance(item, dict):
        raise AttnpredError(f"cannot explain a {type(item).__name__}; give source texts or "
                            "records", field=f"inputs[{index}]")
    src = item.get("src", item.get("text"))
    if not isinstance(src, str) or not src.strip():
        raise AttnpredError("a record needs a non-empty 'src' string", field=f"inputs[{index}]")
    links = item.get("alignment")
    if isinstance(links, str):
        links = parse_pharaoh(links)
    elif links is not None:
        links = {(int(s), int(t)) for s, t in links}
    tgt = item.get("tgt")
    if links is not None and not tgt:
        raise AttnpredError("a gold alignment needs the target it aligns ('tgt')",
                            field="alignment")
    return PairInput(src, tgt, links)


def _outputs(predictor: Any, texts: list[str]) -> list[Any]:
    generate = getattr(predictor, "predict", None) or predictor.translate
    return list(generate(texts))


def _words_map(att: np.ndarray, src_w: list[int], n_src: int, q_w: list[int],
               n_q: int) -> np.ndarray:
    """Token map (..., T, S) -> words (..., V, W), rows rescaled to sum 1 over real words."""
    norm = lambda ids: [None if w < 0 else w for w in ids]  # noqa: E731
    return M.normalise(M.words_matrix(att, norm(src_w), n_src, norm(q_w), n_q))


def explain_seq2seq(predictor: Any, inputs: Sequence[Any], *, methods=None, faithfulness=(),
                    matrices: bool = False, batch_size: int | None = None,
                    align: AlignConfig | None = None) -> list[TranslationExplanation]:
    """``attnpred.explain.explain`` for seq2seq predictors (``methods``, ``faithfulness`` and
    ``matrices`` are classification options, ignored here: every map is kept)."""
    align = align or AlignConfig()
    pairs = [as_pair(x, i) for i, x in enumerate(inputs)]
    free = [i for i, p in enumerate(pairs) if p.tgt is None]
    outputs: dict[int, Any] = dict(zip(free, _outputs(predictor, [pairs[i].src for i in free])))
    tok, max_len = predictor.tok, predictor.max_len
    targets = [p.tgt if p.tgt is not None else outputs[i].text for i, p in enumerate(pairs)]
    src = [tok.encode_src(p.src, max_len) for p in pairs]
    tgt = [tok.encode_tgt(t, max_len) for t in targets]
    results: list[TranslationExplanation | None] = [None] * len(pairs)
    lengths = [max(len(s), len(t) + 1) for s, t in zip(src, tgt)]
    max_tokens = (batch_size or 32) * max_len
    device = next(predictor.model.parameters()).device
    for idx in token_batches(lengths, max(max_tokens, max(lengths, default=1))):
        batch = {k: v.to(device) for k, v in
                 collate([src[i] for i in idx], [tgt[i] for i in idx]).items()}
        with torch.no_grad():
            out = predictor.model(batch["src_ids"], batch["src_mask"], batch["tgt_in"],
                                  need_weights=True)
        for row, i in enumerate(idx):
            score = float(outputs[i].score) if i in outputs else float("nan")
            results[i] = _explain_one(out, row, pairs[i], targets[i], src[i], tgt[i], tok,
                                      max_len, align, score)
    return results  # type: ignore[return-value]


def _explain_one(out: Any, row: int, pair: PairInput, target: str, src: list[int],
                 tgt: list[int], tok: Any, max_len: int, align: AlignConfig,
                 score: float) -> TranslationExplanation:
    s, t = len(src), len(tgt) + 1  # target rows: y then </s>
    src_w, tgt_w = tok.src_words(pair.src, max_len), tok.tgt_words(target, max_len)
    n_src, n_tgt = len(pair.src.split()), len(target.split())
    cross = np.stack([M.as_array(m[row, :, :t, :s]) for m in out.cross_attentions])  # (L,H,T,S)
    maps = {"cross": _words_map(cross, src_w, n_src, tgt_w, n_tgt)}
    token_map = select_attention([torch.as_tensor(c[None]) for c in cross], align)[0].numpy()
    maps["cross_mean"] = _words_map(token_map, src_w, n_src, tgt_w, n_tgt)
    links = word_alignment(torch.as_tensor(token_map), src_w, tgt_w, align)
    if getattr(out, "encoder_attentions", ()):
        enc = np.stack([M.as_array(m[row, :, :s, :s]) for m in out.encoder_attentions])
        maps["encoder"] = _words_map(enc, src_w, n_src, src_w, n_src)
    if getattr(out, "decoder_attentions", ()):
        dec = np.stack([M.as_array(m[row, :, :t, :t]) for m in out.decoder_attentions])
        q = [-1] + tgt_w  # decoder input: <s> y
        maps["decoder"] = _words_map(dec, q, n_tgt, q, n_tgt)
    return TranslationExplanation(
        pair.src, target, pair.src.split(), target.split(),
        [tok.src.id_to_token(i) for i in src], [tok.tgt.id_to_token(i) for i in tgt] + ["</s>"],
        maps, sorted(links), None if pair.alignment is None else sorted(pair.alignment),
        score, pair.tgt)
