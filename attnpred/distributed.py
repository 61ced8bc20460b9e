"""PyTorch's distributed engine, as attnpred uses it: ranks from ``torchrun``'s environment.

``attnpred train`` started by ``torchrun --nproc-per-node N`` runs N processes; each joins one
process group (gloo on CPU, NCCL on CUDA), every process takes its share of each batch, the
gradients are averaged by ``DistributedDataParallel``, and only rank 0 writes files: while a
training runs, ``attnpred.io``'s writes are dropped on the other ranks (``writes_allowed``).
Without torchrun (no ``WORLD_SIZE`` above 1) everything here is a no-op.
"""
from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

import torch
import torch.distributed as dist
from torch import Tensor

_SILENT = False  # True on ranks > 0 while a training runs: their file writes are dropped


def world_size() -> int:
    """Processes in the job (1 when not started by torchrun)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's global rank (0 when not started by torchrun)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    return rank() == 0


def active() -> bool:
    """True when more than one process trains together."""
    return world_size() > 1


def init(device: str) -> None:
    """Join the process group torchrun described (once); gloo on CPU, NCCL on CUDA."""
    if world_size() <= 1 or dist.is_initialized():
        return
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if cuda else "gloo")


def local_device(device: torch.device) -> torch.device:
    """The CUDA device of this process's local rank (CPU unchanged)."""
    if device.type == "cuda" and active():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def writes_allowed() -> bool:
    """False on ranks > 0 while a distributed training runs."""
    return not _SILENT


@contextlib.contextmanager
def main_rank_writes() -> Iterator[None]:
    """Within this block, file writes through ``attnpred.io`` happen on rank 0 only."""
    global _SILENT
    before, _SILENT = _SILENT, active() and not is_main()
    try:
        yield
    finally:
        _SILENT = before


def shard_batch(batch: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """This rank's contiguous share of a batch's rows, and the share's weight.

    Every tensor (and list) whose first dimension is the batch size is cut; anything else is
    passed whole. The weight is the share of the units the loss is averaged over: target
    tokens where the batch has ``tgt_out`` (seq2seq; pad id 0), else rows. A loss scaled by
    ``world_size * weight`` and averaged over ranks by DDP then equals the single-process loss
    of the whole batch (exactly for these two normalisations).
    """
    world = world_size()
    if world <= 1:
        return batch, 1.0
    sizes = {len(v) for v in batch.values() if isinstance(v, (Tensor, list)) and
             (not isinstance(v, Tensor) or v.dim() > 0)}
    n = max(sizes, default=0)
    if n < world:
        from attnpred.errors import AttnpredError
        raise AttnpredError(f"a batch of {n} row(s) cannot be shared by {world} processes; "
                            "use a larger batch or fewer processes", field="batch_size")
    bounds = [n * r // world for r in range(world + 1)]
    lo, hi = bounds[rank()], bounds[rank() + 1]
    out = {k: (v[lo:hi] if isinstance(v, (Tensor, list)) and len(v) == n
               and (not isinstance(v, Tensor) or v.dim() > 0) else v)
           for k, v in batch.items()}
    if isinstance(batch.get("tgt_out"), Tensor):
        units = batch["tgt_out"] != 0
        return out, float(units[lo:hi].sum()) / max(1.0, float(units.sum()))
    return out, (hi - lo) / max(1, n)


def mean_over_ranks(value: float) -> float:
    """The mean of ``value`` over all ranks (the value itself in a single process)."""
    if not active():
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t) / world_size()


def broadcast_flag(flag: bool) -> bool:
    """Rank 0's ``flag`` on every rank."""
    if not active():
        return flag
    box = [flag]
    dist.broadcast_object_list(box, src=0)
    return bool(box[0])


def gather(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order (``[obj]`` in a single process)."""
    if not active():
        return [obj]
    out: list[Any] = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if active():
        dist.barrier()
