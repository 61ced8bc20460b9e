"""Speed of the attention core against PyTorch's own attention (BENCHMARKS.md section 7).

Two comparisons, side by side in one run on the same machine, self-attention with a padding mask:

* model "fast": our ``MultiHeadAttention`` (need_weights=False) against a minimal module doing
  the same projections (packed, as ours are for self-attention) +
  ``F.scaled_dot_product_attention`` + output projection
  (metric ``time_ratio_vs_sdpa`` = ours / reference; target < 1.10).
* model "explicit": our written-out path (need_weights=True, per-head weights) against
  ``torch.nn.MultiheadAttention(need_weights=True, average_attn_weights=False)``
  (metric ``time_ratio_vs_mha``; target <= 1.0).

"forward" runs in eval mode under no_grad (torch's MHA then takes its native fused kernel);
"forward+backward" in train mode with dropout 0. Ours and the reference alternate call by call
after a warm-up; each record's value is the median of the per-round ratios, timed by thread CPU
time when torch runs one thread (the default on a busy machine), else by wall time.

Run:  nice -n 10 .venv/bin/python benchmarks/attention_core.py [--threads N] [--seq-lens ...]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from common import record, write_results  # first: puts the repository on sys.path
from attnpred.attention import MultiHeadAttention

BATCH, EMBED, HEADS = 8, 256, 4


class SdpaReference(nn.Module):
    """The minimal equivalent of our fast path (nanoGPT style): one packed q/k/v projection,
    F.scaled_dot_product_attention, output projection; weights copied from ``mha``."""

    def __init__(self, mha: MultiHeadAttention) -> None:
        super().__init__()
        e = mha.embed_dim
        self.heads, self.qkv, self.out_proj = mha.num_heads, nn.Linear(e, 3 * e), nn.Linear(e, e)
        with torch.no_grad():
            self.qkv.weight.copy_(stacked(mha, "weight"))
            self.qkv.bias.copy_(stacked(mha, "bias"))
        self.out_proj.load_state_dict(mha.out_proj.state_dict())

    def forward(self, x: Tensor, key_mask: Tensor) -> Tensor:
        b, t, e = x.shape
        q, k, v = (y.view(b, t, self.heads, -1).transpose(1, 2)  # (B, H, T, D)
                   for y in self.qkv(x).chunk(3, dim=-1))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask[:, None, None, :])
        return self.out_proj(out.transpose(1, 2).reshape(b, t, e))


def stacked(mha: MultiHeadAttention, name: str) -> Tensor:
    """The q, k, v projections' weight or bias, stacked as torch packs them."""
    return torch.cat([getattr(p, name) for p in (mha.q_proj, mha.k_proj, mha.v_proj)]).detach()


def torch_mha_like(mha: MultiHeadAttention) -> nn.MultiheadAttention:
    """A torch.nn.MultiheadAttention holding exactly the weights of ``mha``."""
    ref = nn.MultiheadAttention(mha.embed_dim, mha.num_heads, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(stacked(mha, "weight"))
        ref.in_proj_bias.copy_(stacked(mha, "bias"))
    ref.out_proj.load_state_dict(mha.out_proj.state_dict())
    return ref


def inputs(seq_len: int, seed: int) -> tuple[Tensor, Tensor]:
    """x (B, T, E) and a padding keep-mask (B, T) with lengths in [T/2, T]."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(BATCH, seq_len, EMBED, generator=g)
    lengths = torch.randint(seq_len // 2, seq_len + 1, (BATCH,), generator=g)
    lengths[0] = seq_len
    return x, torch.arange(seq_len)[None, :] < lengths[:, None]


def callers(x: Tensor, key_mask: Tensor, mha: MultiHeadAttention, explicit: bool
            ) -> tuple[Callable[[], Tensor], Callable[[], Tensor], nn.Module]:
    """(ours, reference, reference module): calls returning the attention output (B, T, E)."""
    if explicit:
        ref = torch_mha_like(mha).train(mha.training)
        return (lambda: mha(x, key_mask=key_mask, need_weights=True).output,
                lambda: ref(x, x, x, key_padding_mask=~key_mask, need_weights=True,
                            average_attn_weights=False)[0], ref)
    ref = SdpaReference(mha).train(mha.training)
    return lambda: mha(x, key_mask=key_mask).output, lambda: ref(x, key_mask), ref


def as_step(fn: Callable[[], Tensor], module: nn.Module, backward: bool) -> Callable[[], None]:
    """Wrap a call as one timed step: forward under no_grad, or forward + backward."""
    def step() -> None:
        if backward:
            module.zero_grad(set_to_none=True)
            fn().sum().backward()
        else:
            with torch.no_grad():
                fn()
    return step


def time_pair(ours: Callable[[], None], ref: Callable[[], None], budget_s: float
              ) -> dict[str, float]:
    """Median wall and CPU ms per call of each side, and median per-round ratios ours/reference.

    Calls alternate (order flipped each round) after a warm-up, so a load change on the shared
    machine hits both sides of a round alike. With one torch thread every kernel runs on this
    thread, so its CPU time (``time.thread_time``) leaves out the waits for a busy CPU.
    """
    for _ in range(3):
        ours(), ref()
    t0 = time.perf_counter()
    ours(), ref()
    reps = int(min(80, max(9, budget_s / max(time.perf_counter() - t0, 1e-6))))
    wall: tuple[list[float], list[float]] = ([], [])
    cpu: tuple[list[float], list[float]] = ([], [])
    for i in range(reps):
        for j in ((0, 1) if i % 2 == 0 else (1, 0)):
            w, c = time.perf_counter(), time.thread_time()
            (ours, ref)[j]()
            cpu[j].append((time.thread_time() - c) * 1e3)
            wall[j].append((time.perf_counter() - w) * 1e3)
    med = statistics.median
    return {"ours_ms": med(wall[0]), "reference_ms": med(wall[1]),
            "ours_cpu_ms": med(cpu[0]), "reference_cpu_ms": med(cpu[1]),
            "wall_ratio": med([a / b for a, b in zip(*wall)]),
            "cpu_ratio": med([a / b for a, b in zip(*cpu)]), "reps": reps}


def bench_one(seq_len: int, explicit: bool, backward: bool, budget_s: float) -> dict:
    """One record: our module against its reference at one length and pass."""
    torch.manual_seed(seq_len)
    mha = MultiHeadAttention(EMBED, HEADS).train(backward)
    x, key_mask = inputs(seq_len, seed=seq_len)
    ours, ref, ref_module = callers(x, key_mask, mha, explicit)
    with torch.no_grad():  # same computation, or the comparison means nothing
        diff = (ours() - ref()).abs().max().item()
    t = time_pair(as_step(ours, mha, backward), as_step(ref, ref_module, backward), budget_s)
    clock = "thread_cpu" if torch.get_num_threads() == 1 else "wall"
    ratio = t["cpu_ratio"] if clock == "thread_cpu" else t["wall_ratio"]
    name, metric = ("explicit", "time_ratio_vs_mha") if explicit else ("fast",
                                                                      "time_ratio_vs_sdpa")
    step = "forward+backward" if backward else "forward"
    print(f"{name:8s} {step:16s} T={seq_len:4d} ours {t['ours_cpu_ms']:8.2f} cpu-ms "
          f"reference {t['reference_cpu_ms']:8.2f} cpu-ms  ratio {ratio:.3f} "
          f"(wall {t['wall_ratio']:.3f}, diff {diff:.1e})", flush=True)
    return record("synthetic", name, "n/a", metric, ratio, seq_len=seq_len, **{"pass": step},
                  clock=clock, **{k: round(v, 4) for k, v in t.items()}, max_abs_diff=diff,
                  batch=BATCH, embed_dim=EMBED, heads=HEADS, threads=torch.get_num_threads())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: 2, or 1 when the 1-minute load "
                             "average is above 1, i.e. the machine is busy)")
    parser.add_argument("--seq-lens", type=int, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--budget", type=float, default=4.0,
                        help="seconds of timed calls per (model, pass, length) pair")
    args = parser.parse_args()
    started, load_before = time.time(), os.getloadavg()[0]
    threads = args.threads or (2 if load_before <= 1.0 else 1)
    torch.set_num_threads(threads)
    records = [bench_one(t, explicit, backward, args.budget)
               for explicit in (False, True) for backward in (False, True)
               for t in args.seq_lens]
    path = write_results(
        "attention_core", records, started, threads=threads,
        load_average_before=round(load_before, 2), load_average_after=round(os.getloadavg()[0], 2),
        torch_version=torch.__version__,
        notes="value = median over rounds of (ours / reference) for back-to-back calls, "
              "timed by the calling thread's CPU time when torch runs one thread (clock "
              "thread_cpu), else by wall time; *_ms are medians of each side; padding mask with "
              "lengths in [T/2, T]; forward = eval + no_grad, forward+backward = train mode, "
              "dropout 0, loss = output.sum()")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
