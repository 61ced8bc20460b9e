"""Devices: resolve a requested device name, move a batch to it."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from attnpred.errors import AttnpredError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when present else CPU; a request the machine cannot serve is an error."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.split(":")[0] not in ("cpu", "cuda"):
        raise AttnpredError(f"unknown device {name!r}; expected one of {DEVICES}",
                            field="device")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise AttnpredError("CUDA was asked for but this machine has no usable CUDA device; "
                            "use --device cpu", field="device")
    return torch.device(name)


def move(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """The batch with every tensor on ``device``."""
    return {k: v.to(device) if isinstance(v, Tensor) else v for k, v in batch.items()}
