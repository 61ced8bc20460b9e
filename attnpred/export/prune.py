"""Head pruning (Michel, Levy and Neubig 2019, "Are Sixteen Heads Really Better than One?").

Importance of head h: the mean over dev examples of |dL/d xi_h|, where xi_h = 1 multiplies the
head's output before the output projection; scores are normalised per layer (L2), as in the
paper. The N least important heads are removed (at least one head stays in each layer).

Written by hand because transformers 5 dropped ``head_mask`` and ``prune_heads``; the sites
below cover attnpred's own ``MultiHeadAttention`` and BERT-style encoders (MiniLM).

A pruned run keeps the original shapes with the removed heads' weights set to zero (query,
key and value rows and output-projection columns: exactly the model without those heads), so
``attnpred.load`` reads it unchanged; ``pruning.json`` lists the heads and
``apply_pruning(model, pruned)`` removes them physically, which is what makes it faster.
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnpred.errors import AttnpredError
from attnpred.io import atomic_write_text

PRUNING_FILE = "pruning.json"
COPY_SKIP = ("checkpoints", "logs", "onnx", "model.safetensors")


@dataclass
class HeadSite:
    """One attention layer's projections: q/k/v (out rows per head) and out (in columns)."""

    q: nn.Linear
    k: nn.Linear
    v: nn.Linear
    out: nn.Linear
    heads: int
    head_dim: int
    set_heads: Callable[[int], None]


def head_sites(model: nn.Module) -> list[HeadSite]:
    """Every self-attention layer of a classifier, in order."""
    from attnpred.attention import MultiHeadAttention
    sites = []
    for module in model.modules():
        if isinstance(module, MultiHeadAttention):
            def set_heads(n: int, m=module) -> None:
                m.num_heads, m.embed_dim = n, n * m.head_dim  # embed_dim: the concat width
            sites.append(HeadSite(module.q_proj, module.k_proj, module.v_proj, module.out_proj,
                                  module.num_heads, module.head_dim, set_heads))
        elif all(hasattr(module, a) for a in ("self", "output")) and \
                hasattr(module.self, "attention_head_size"):  # BERT-style attention block
            s = module.self

            def set_heads(n: int, s=s) -> None:
                s.num_attention_heads, s.all_head_size = n, n * s.attention_head_size
            sites.append(HeadSite(s.query, s.key, s.value, module.output.dense,
                                  s.query.out_features // s.attention_head_size,
                                  s.attention_head_size, set_heads))
    if not sites:
        raise AttnpredError("no attention heads found in this model")
    return sites


# ---- importance -----------------------------------------------------------------------------
def head_importance(predictor: Any, texts: list[str], labels: list[str],
                    batch_size: int = 32) -> list[Tensor]:
    """Per layer, (H,) normalised importance estimated on labelled ``texts``."""
    from attnpred.data.encoding import encode_texts
    from attnpred.tasks.classify_data import EncodedSet, eval_batches
    model, sites = predictor.model, head_sites(predictor.model)
    masks = [torch.ones(s.heads, requires_grad=True) for s in sites]
    hooks = [s.out.register_forward_pre_hook(_mask_hook(m, s.head_dim))
             for s, m in zip(sites, masks)]
    encoded = encode_texts(predictor.tokenizer, texts, predictor.config.max_len)
    gold = [predictor.labels.encode(y) for y in labels]
    data = EncodedSet(encoded, gold, [])
    scores = [torch.zeros(s.heads) for s in sites]
    model.eval()  # gradients without dropout
    try:
        for batch in eval_batches(data, batch_size, predictor.tokenizer.pad_token_id):
            out = model(batch["input_ids"], batch["attention_mask"])
            target = torch.as_tensor([gold[i] for i in batch["index"].tolist()])
            loss = F.cross_entropy(out.logits, target, reduction="sum")
            grads = torch.autograd.grad(loss, masks)
            for acc, g in zip(scores, grads):
                acc += g.abs()
    finally:
        for h in hooks:
            h.remove()
    return [s / s.norm().clamp(min=1e-12) for s in scores]  # per-layer L2, as in the paper


def _mask_hook(mask: Tensor, head_dim: int):
    def hook(module: nn.Module, args: tuple) -> tuple:
        x = args[0]  # (B, T, H*D)
        b, t, _ = x.shape
        return ((x.view(b, t, -1, head_dim) * mask[None, None, :, None]).view(b, t, -1),)
    return hook


def choose_heads(importance: list[Tensor], n: int) -> dict[int, list[int]]:
    """The n least important heads {layer: [heads]}, keeping one head in every layer."""
    total = sum(len(s) for s in importance)
    if not 0 <= n <= total - len(importance):
        raise AttnpredError(f"can remove 0 to {total - len(importance)} of the {total} heads "
                            "(one stays in each layer)", field="--heads")
    order = sorted((float(s[h]), layer, h) for layer, s in enumerate(importance)
                   for h in range(len(s)))
    left = [len(s) for s in importance]
    chosen: dict[int, list[int]] = {}
    for _, layer, h in order:
        if sum(len(v) for v in chosen.values()) == n:
            break
        if left[layer] > 1:
            chosen.setdefault(layer, []).append(h)
            left[layer] -= 1
    return {layer: sorted(hs) for layer, hs in sorted(chosen.items())}


# ---- removing heads -------------------------------------------------------------------------
def _rows(site: HeadSite, keep: list[int]) -> Tensor:
    d = site.head_dim
    return torch.cat([torch.arange(h * d, (h + 1) * d) for h in keep])


@torch.no_grad()
def zero_heads(model: nn.Module, pruned: dict[int, list[int]]) -> None:
    """Zero the pruned heads' weights (same shapes; the same function as removing them)."""
    sites = head_sites(model)
    for layer, heads in pruned.items():
        site = sites[int(layer)]
        idx = _rows(site, heads)
        for lin in (site.q, site.k, site.v):
            lin.weight[idx] = 0
            if lin.bias is not None:
                lin.bias[idx] = 0
        site.out.weight[:, idx] = 0


@torch.no_grad()
def apply_pruning(model: nn.Module, pruned: dict[int, list[int]]) -> None:
    """Remove the pruned heads physically (smaller projections: the speed-up)."""
    sites = head_sites(model)
    for layer, heads in pruned.items():
        site = sites[int(layer)]
        keep = [h for h in range(site.heads) if h not in set(heads)]
        idx = _rows(site, keep)
        for lin in (site.q, site.k, site.v):
            _slice(lin, idx, dim=0)
        _slice(site.out, idx, dim=1)
        site.set_heads(len(keep))


def _slice(lin: nn.Linear, idx: Tensor, dim: int) -> None:
    lin.weight = nn.Parameter(lin.weight.index_select(dim, idx).clone())
    if dim == 0 and lin.bias is not None:
        lin.bias = nn.Parameter(lin.bias[idx].clone())
    if dim == 0:
        lin.out_features = len(idx)
    else:
        lin.in_features = len(idx)


def read_pruning(run_dir: str | Path) -> dict[int, list[int]] | None:
    """The run's pruned heads, or None for an unpruned run."""
    path = Path(run_dir) / PRUNING_FILE
    if not path.is_file():
        return None
    return {int(k): v for k, v in json.loads(path.read_text())["pruned"].items()}


# ---- the command ----------------------------------------------------------------------------
def evaluate_speed(predictor: Any, texts: list[str], labels: list[str],
                   batch_size: int = 32, repeats: int = 1) -> dict[str, float]:
    """Test accuracy and seconds per example (best of ``repeats``)."""
    best, preds = float("inf"), []
    for _ in range(repeats):
        start = time.perf_counter()
        preds = predictor.predict(texts, batch_size=batch_size)
        best = min(best, time.perf_counter() - start)
    acc = sum(p.label == y for p, y in zip(preds, labels)) / len(labels)
    return {"accuracy": acc, "ms_per_example": 1000 * best / len(texts)}


def prune_run(run_dir: str | Path, heads: int, out: str | Path, *, overwrite: bool = False,
              repeats: int = 1) -> dict[str, Any]:
    """Remove ``heads`` heads chosen on the dev split; save the new run; report before/after.

    Returns:
        {"pruned", "importance", "before", "after"}; accuracy on the test split and speed
        (ms per example) of the original and of the physically pruned model.
    """
    import attnpred
    from attnpred.export.checks import test_examples
    from attnpred.training.checkpoint import save_weights
    run_dir, out = Path(run_dir), Path(out)
    if out.exists() and not overwrite:
        raise AttnpredError("output run exists; pass --overwrite or choose another --out",
                            file=out)
    predictor = attnpred.load(run_dir)
    dev_texts, dev_labels = test_examples(run_dir, predictor, "dev")
    texts, labels = test_examples(run_dir, predictor, "test")
    importance = head_importance(predictor, dev_texts, dev_labels)
    pruned = choose_heads(importance, heads)
    before = evaluate_speed(predictor, texts, labels, repeats=repeats)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(run_dir, out, ignore=lambda d, names: [n for n in names if
                                                           Path(d) == run_dir and n in COPY_SKIP])
    zero_heads(predictor.model, pruned)
    save_weights(predictor.model, out / "model.safetensors")
    reloaded = attnpred.load(out)
    zeroed = evaluate_speed(reloaded, texts, labels)
    apply_pruning(reloaded.model, pruned)
    after = evaluate_speed(reloaded, texts, labels, repeats=repeats)
    report = {"source_run": str(run_dir), "heads_removed": heads,
              "heads_total": sum(len(s) for s in importance),
              "pruned": {str(k): v for k, v in pruned.items()},
              "importance": [[round(float(x), 6) for x in s] for s in importance],
              "before": before, "after": after,
              "after_zeroed_accuracy": zeroed["accuracy"], "test_examples": len(texts),
              "dev_examples": len(dev_texts)}
    atomic_write_text(out / PRUNING_FILE, json.dumps(report, indent=2) + "\n")
    return report
