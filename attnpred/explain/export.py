"""Static outputs of explanations: JSON, ``.npz``, and PNG / SVG heatmaps (matplotlib).

JSON schema (``write_json``)::

    {"schema": "attnpred.explain/1",
     "explanations": [<one object per input, in input order>]}

Each object has ``family`` ('classify', 'seq2seq' or 'forecast') and the fields of its
explanation type (``attnpred.explain.types``), maps as nested lists:

- classify: text, words (pre-tokenizer words), spans ([start, end) characters), tokens,
  token_words (word index per token, null for specials), label, probabilities, gold_label,
  gold (0/1 per word or null), maps {method: array}, matrices {method: array},
  plausibility {method: {auprc, token_f1}}, faithfulness {method: {bins, drop, random_drop,
  sufficiency, comprehensiveness, random_comprehensiveness, aopc_sufficiency}}.
- seq2seq: text, output, reference, src_words, tgt_words, src_tokens, tgt_tokens, score,
  maps, links and gold_links ([source word, target word] pairs).
- forecast: name, columns, dates, values (H x C), history_dates, history (P x C), truth
  (H x C, null where unknown), maps.

Map shapes (L layers, H heads, W words, V target words, C channels, N patches, P steps):
attention (L, H, W); head_mean, head_max, gradient_layers (L, W); mean, rollout, gradient,
pooling, supervised (W); matrices: attention (L, H, W, W), rollout and gradient (W, W), rows
are queries, columns keys; cross (L, H, V, W); cross_mean (V, W); encoder (L, H, W, W);
decoder (L, H, V, V); history (C, P); layers (L, C, H, N, N). Layers run bottom to top, heads
in the model's order, all 0-based.

``.npz`` (``write_npz``): the same arrays under ``"<example index>/maps/<method>"``,
``"<i>/matrices/<method>"``, ``"<i>/probabilities"``, ``"<i>/gold"``, ``"<i>/links"``,
``"<i>/values"``, ``"<i>/history"``, ``"<i>/truth"``, and under ``"meta"`` one JSON string
with the schema name and every example's non-array fields (words, labels, dates, ...).
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from attnpred.errors import AttnpredError
from attnpred.io import atomic_write, atomic_write_text

SCHEMA = "attnpred.explain/1"
FIGURE_FORMATS = ("png", "svg")


def write_json(explanations: Sequence[Any], path: str | Path) -> Path:
    """Every explanation as JSON (schema in the module docstring)."""
    data = {"schema": SCHEMA, "explanations": [e.to_dict() for e in explanations]}
    atomic_write_text(path, json.dumps(data, ensure_ascii=False) + "\n")
    return Path(path)


def write_npz(explanations: Sequence[Any], path: str | Path) -> Path:
    """Every map as a compressed ``.npz`` array plus a JSON ``meta`` entry."""
    arrays: dict[str, np.ndarray] = {}
    meta = []
    for i, e in enumerate(explanations):
        arrays |= {f"{i}/{k}": v for k, v in e.arrays().items()}
        d = e.to_dict()
        meta.append({k: v for k, v in d.items()
                     if k not in ("maps", "matrices", "values", "history", "truth")})
    arrays["meta"] = np.asarray(json.dumps({"schema": SCHEMA, "examples": meta}))
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(buf.getvalue()))
    return Path(path)


# ---- figures ------------------------------------------------------------------------------

def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def heatmap(matrix: np.ndarray, rows: Sequence[str], cols: Sequence[str], path: str | Path,
            title: str = "", links: Sequence[tuple[int, int]] = (),
            gold: Sequence[tuple[int, int]] = ()) -> Path:
    """A rows x cols heatmap (PNG or SVG by the suffix); links (col, row) as dots, gold links
    as green squares."""
    plt = _plt()
    m = np.asarray(matrix, dtype=float)
    size = (max(4.0, 0.32 * len(cols) + 2.0), max(3.0, 0.3 * len(rows) + 1.5))
    fig, ax = plt.subplots(figsize=size)
    im = ax.imshow(m, cmap="Reds", aspect="auto", vmin=0.0)
    ax.set_xticks(range(len(cols)), labels=list(cols), rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), labels=list(rows), fontsize=8)
    for s, t in gold:
        ax.add_patch(plt.Rectangle((s - 0.45, t - 0.45), 0.9, 0.9, fill=False,
                                   edgecolor="tab:green", linewidth=1.5))
    if links:
        ax.scatter([s for s, _ in links], [t for _, t in links], s=12, c="black")
    fig.colorbar(im, ax=ax, fraction=0.04)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def forecast_figure(e: Any, path: str | Path, channel: int = 0) -> Path:
    """History, forecast and truth of one channel, with the attention over the history."""
    plt = _plt()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 4.5), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
    p, h = len(e.history), len(e.values)
    top.plot(range(p), e.history[:, channel], color="grey", label="history")
    top.plot(range(p, p + h), e.values[:, channel], color="tab:blue", label="forecast")
    if e.truth is not None:
        top.plot(range(p, p + h), e.truth[:, channel], "--", color="tab:green", label="truth")
    top.legend(fontsize=8)
    top.set_title(f"{e.name} · {e.columns[channel]}", fontsize=9)
    if "history" in e.maps:
        bottom.bar(range(p), e.maps["history"][channel], color="tab:red", width=1.0)
    bottom.set_ylabel("attention", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def write_figures(explanations: Sequence[Any], path: str | Path, fmt: str = "png",
                  layer: int = -1, head: int | None = None) -> list[Path]:
    """One figure per example: classify, a word x word heatmap of one layer's attention
    (``head`` None: mean over heads; needs ``matrices=True``); seq2seq, target x source
    cross-attention (the links' map, or one layer/head) with links; forecast, the history
    plot. ``path`` is a folder (``example-0001.png``, ...) or, for one example, a file.

    Raises:
        AttnpredError: an unknown format, or a classify explanation without matrices.
    """
    if fmt not in FIGURE_FORMATS:
        raise AttnpredError(f"unknown figure format {fmt!r}; expected {FIGURE_FORMATS}",
                            field="format")
    path = Path(path)
    single = len(explanations) == 1 and path.suffix.lower() == "." + fmt
    if not single:
        path.mkdir(parents=True, exist_ok=True)
    out = []
    for i, e in enumerate(explanations):
        target = path if single else path / f"example-{i + 1:04d}.{fmt}"
        out.append(_figure(e, target, layer, head))
    return out


def _check_layer_head(n_layers: int, n_heads: int, layer: int, head: int | None) -> None:
    """The requested layer and head exist (negative layers count from the top)."""
    if not -n_layers <= layer < n_layers:
        raise AttnpredError(f"layer {layer} does not exist: the model has {n_layers} layer(s)",
                            field="layer")
    if head is not None and not 0 <= head < n_heads:
        raise AttnpredError(f"head {head} does not exist: the layers have {n_heads} head(s)",
                            field="head")


def _figure(e: Any, target: Path, layer: int, head: int | None) -> Path:
    if e.family == "forecast":
        return forecast_figure(e, target)
    if e.family == "seq2seq":
        if head is None and layer == -1:
            m, what = e.maps["cross_mean"], "cross-attention (links' map)"
        else:
            _check_layer_head(len(e.maps["cross"]), len(e.maps["cross"][0]), layer, head)
            cross = e.maps["cross"][layer]
            m = cross.mean(0) if head is None else cross[head]
            what = f"cross-attention layer {layer % len(e.maps['cross']) + 1}" + (
                "" if head is None else f" head {head + 1}")
        return heatmap(m, e.tgt_words, e.src_words, target, what, e.links, e.gold_links or ())
    if "attention" not in e.matrices:
        raise AttnpredError("heatmaps need word x word maps: explain with matrices=True",
                            field="matrices")
    _check_layer_head(len(e.matrices["attention"]), len(e.matrices["attention"][0]), layer, head)
    att = e.matrices["attention"][layer]  # (H, W, W)
    m = att.mean(0) if head is None else att[head]
    n = len(e.matrices["attention"])
    what = f"layer {layer % n + 1}, " + ("mean over heads" if head is None else f"head {head + 1}")
    return heatmap(m, e.words, e.words, target, f"{e.label}: self-attention {what}")
