"""One trainer for every task.

The model is any ``nn.Module`` whose ``forward(**batch)`` returns an output with a ``loss``.
Batches come from a ``BatchSource``: ``source(epoch)`` returns that epoch's batches, the same
ones every time for the same epoch (so a resumed run sees exactly the batches it would have).
Read ``fit`` top to bottom: set up, resume, loop, evaluate, checkpoint, clean up.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from attnpred import distributed as dist
from attnpred.config import check
from attnpred.errors import AttnpredError
from attnpred.io import atomic_write_text
from attnpred.device import move, resolve_device
from attnpred.training.checkpoint import (load_checkpoint, rng_state, save_checkpoint,
                                          load_weights, save_weights, seed_everything, set_rng_state)
from attnpred.training.schedules import SCHEDULES, warmup_decay

Batch = dict[str, Any]
Metrics = dict[str, float]


class BatchSource(Protocol):
    def __call__(self, epoch: int) -> Sequence[Batch]: ...


@dataclass
class TrainerConfig:
    """How to train; written to the run directory with the rest of the run's config."""

    epochs: int = 3
    """Passes over the training data."""
    max_steps: int = 0
    """Stop after this many optimizer steps (0: no limit)."""
    lr: float = 5e-4
    """Peak learning rate of AdamW."""
    weight_decay: float = 0.01
    """AdamW weight decay (not applied to biases and norms)."""
    warmup_ratio: float = 0.1
    """Share of the steps spent warming the learning rate up linearly."""
    schedule: str = "linear"
    """Decay after warmup: linear, cosine or constant."""
    grad_clip: float = 1.0
    """Clip the global gradient norm to this (0: off)."""
    accumulate: int = 1
    """Batches whose gradients are summed per optimizer step."""
    metric: str = "accuracy"
    """Dev metric that picks the best weights and drives early stopping."""
    mode: str = "max"
    """Whether a higher ('max') or lower ('min') dev metric is better."""
    patience: int = 0
    """Stop after this many evaluations without improvement (0: never stop early)."""
    eval_every: int = 0
    """Evaluate every this many optimizer steps (0: at the end of each epoch)."""
    eval_at_start: bool = False
    """Also evaluate the model before the first step, so the best weights can be the starting
    ones (for models that start from a fitted solution, like the forecaster's linear skip)."""
    checkpoint_every: int = 0
    """Checkpoint every this many optimizer steps (0: at the end of each epoch)."""
    seed: int = 13
    """Seed for initialisation, shuffling and dropout."""
    device: str = "auto"
    """'auto' (CUDA when present), 'cpu' or 'cuda'."""
    amp: bool = False
    """bf16 autocast; only used on CUDA (on CPU bf16 matmuls are far slower)."""
    progress: bool = True
    """Show a progress bar with ETA."""
    tensorboard: bool = True
    """Write TensorBoard logs under run_dir/logs."""
    average_last: int = 0
    """Keep the weights of the last n evaluations and, when training ends, average them
    (checkpoint averaging); the average replaces the best weights when it scores better on
    dev (0: off)."""
    keep_checkpoint: bool = False
    """Keep checkpoints/last.pt (model, optimiser, schedule, RNG states) once the run has
    completed, to train it further; by default it is deleted then (the weights stay)."""

    def __post_init__(self) -> None:
        check(self.epochs >= 1 or self.max_steps > 0, "epochs", "must be >= 1")
        check(self.lr > 0, "lr", "must be > 0")
        check(0 <= self.warmup_ratio < 1, "warmup_ratio", "must be in [0, 1)")
        check(self.schedule in SCHEDULES, "schedule", f"must be one of {SCHEDULES}")
        check(self.accumulate >= 1, "accumulate", "must be >= 1")
        check(self.mode in ("max", "min"), "mode", "must be 'max' or 'min'")
        check(self.device in ("auto", "cpu", "cuda"), "device", "must be auto, cpu or cuda")
        check(self.max_steps >= 0, "max_steps", "must be >= 0 (0: no limit)")
        check(self.patience >= 0, "patience", "must be >= 0 (0: never stop early)")
        check(self.eval_every >= 0 and self.checkpoint_every >= 0, "eval_every",
              "must be >= 0")
        check(self.grad_clip >= 0, "grad_clip", "must be >= 0")
        check(self.weight_decay >= 0, "weight_decay", "must be >= 0")
        check(self.seed >= 0, "seed", "must be >= 0")
        check(self.average_last >= 0 and self.average_last != 1, "average_last",
              "must be 0 (off) or >= 2")


@dataclass
class TrainState:
    """Where training stands; saved in every checkpoint."""

    epoch: int = 0
    batch: int = 0
    step: int = 0
    best: float | None = None
    bad_evals: int = 0
    seconds: float = 0.0
    history: list[Metrics] = field(default_factory=list)


def make_optimizer(model: nn.Module, cfg: TrainerConfig) -> torch.optim.AdamW:
    """AdamW with no weight decay on biases and normalisation weights (1-d parameters)."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    try:  # one fused kernel: on CPU ~8x faster per step than the default per-tensor loop
        return torch.optim.AdamW(groups, lr=cfg.lr, fused=True)
    except RuntimeError:  # a device or dtype without the fused kernel (CPU before torch 2.4)
        return torch.optim.AdamW(groups, lr=cfg.lr)


class Trainer:
    """Trains ``model`` on ``source``, evaluating with ``evaluate`` and writing to ``run_dir``.

    Args:
        model: module returning an output with ``loss`` from ``forward(**batch)``.
        cfg: the trainer configuration.
        run_dir: run directory; the best weights go to ``model.safetensors``, checkpoints to
            ``checkpoints/last.pt``, logs to ``logs/`` and ``train_log.jsonl``.
        evaluate: returns dev metrics for the model (None: keep the last weights).
    """

    def __init__(self, model: nn.Module, cfg: TrainerConfig, run_dir: str | Path,
                 evaluate: Callable[[nn.Module], Metrics] | None = None) -> None:
        self.model, self.cfg, self.run_dir = model, cfg, Path(run_dir)
        self.evaluate = evaluate
        self.device = resolve_device(cfg.device)
        self.ckpt_path = self.run_dir / "checkpoints" / "last.pt"

    # ---- setup -------------------------------------------------------------------------
    def _setup(self, source: BatchSource, resume: bool) -> TrainState:
        self.device = dist.local_device(self.device)
        self.model.to(self.device)
        self.net = self._wrap(source)
        steps_per_epoch = math.ceil(len(source(0)) / self.cfg.accumulate)
        self.total_steps = self.cfg.max_steps or steps_per_epoch * self.cfg.epochs
        if self.cfg.max_steps:
            self.total_steps = min(self.total_steps, steps_per_epoch * self.cfg.epochs)
        self.optimizer = make_optimizer(self.model, self.cfg)
        warmup = int(self.cfg.warmup_ratio * self.total_steps)
        self.scheduler = warmup_decay(self.optimizer, warmup, self.total_steps, self.cfg.schedule)
        self.writer = self._tensorboard()
        if resume and self.ckpt_path.exists():
            return self._restore()
        seed_everything(self.cfg.seed + dist.rank())  # ranks draw different dropout masks
        return TrainState()

    def _wrap(self, source: BatchSource) -> nn.Module:
        """The model under DistributedDataParallel when torchrun started several processes
        (after checking that every rank reads the same data)."""
        if not dist.active():
            return self.model
        from torch.nn.parallel import DistributedDataParallel
        first = source(0)[0]
        probe = sum(float(v.float().sum()) for v in first.values() if isinstance(v, torch.Tensor))
        if len(set(dist.gather(round(probe, 3)))) > 1:
            raise AttnpredError("the processes read different training batches (data or "
                                "tokenizer differ between ranks)")
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(self.model, device_ids=ids)

    def _tensorboard(self):
        if not self.cfg.tensorboard or not dist.is_main():
            return None
        from torch.utils.tensorboard import SummaryWriter
        return SummaryWriter(str(self.run_dir / "logs"))

    def _restore(self) -> TrainState:
        ckpt = load_checkpoint(self.ckpt_path)
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        set_rng_state(self._own_rng(ckpt["rng"]))
        state = TrainState(**ckpt["state"])
        # the log keeps what the checkpoint had seen: records written after it are replayed
        atomic_write_text(self.run_dir / "train_log.jsonl",
                          "".join(json.dumps(r) + "\n" for r in state.history))
        return state

    @staticmethod
    def _own_rng(saved: Any) -> dict[str, Any]:
        """This rank's random state from a checkpoint (a list, one per rank, when it was
        written by a distributed run)."""
        saved = saved if isinstance(saved, list) else [saved]
        if len(saved) != dist.world_size():
            raise AttnpredError(f"the checkpoint was written by {len(saved)} process(es); resume "
                                f"it with the same number (now {dist.world_size()})",
                                field="resume")
        return saved[dist.rank()]

    def _checkpoint(self, state: TrainState) -> None:
        states = dist.gather(rng_state())  # every rank's, written by rank 0
        save_checkpoint(self.ckpt_path, {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": states if dist.active() else states[0], "state": state.__dict__})

    # ---- one step ----------------------------------------------------------------------
    def _backward(self, batch: Batch) -> float:
        """Forward and backward this rank's share of ``batch``; its loss is weighted so that
        DDP's mean over ranks equals the whole batch's loss."""
        batch, share = dist.shard_batch(batch)
        use_amp = self.cfg.amp and self.device.type == "cuda"
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=use_amp):
            loss = self.net(**move(batch, self.device)).loss
        scale = share * dist.world_size()
        (loss * scale / self.cfg.accumulate).backward()
        return float(loss.detach()) * scale

    def _optimizer_step(self) -> float:
        norm = 0.0
        if self.cfg.grad_clip > 0:
            norm = float(nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip))
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return norm

    # ---- evaluation and logging --------------------------------------------------------
    def _improved(self, value: float, best: float | None) -> bool:
        if best is None:
            return True
        return value > best if self.cfg.mode == "max" else value < best

    def _evaluate(self, state: TrainState) -> bool:
        """Evaluate, keep the best weights; return True when training should stop early."""
        if self.evaluate is None:
            return False
        if not dist.is_main():  # rank 0 evaluates and decides for all
            return dist.broadcast_flag(False)
        self.model.eval()
        with torch.no_grad():
            metrics = self.evaluate(self.model)
        self.model.train()
        if self.cfg.metric not in metrics:
            raise AttnpredError(f"dev metric {self.cfg.metric!r} is not computed by this task; "
                                f"expected one of {sorted(metrics)}", field="trainer.metric")
        value = metrics[self.cfg.metric]
        is_best = self._improved(value, state.best)
        self._keep_for_average(state)
        if is_best:
            state.best, state.bad_evals = value, 0
            save_weights(self.model, self.run_dir / "model.safetensors")
        else:
            state.bad_evals += 1
        self._log(state, {f"dev/{k}": v for k, v in metrics.items()} | {"is_best": is_best})
        return dist.broadcast_flag(bool(self.cfg.patience) and
                                   state.bad_evals >= self.cfg.patience)

    def _keep_for_average(self, state: TrainState) -> None:
        """Save this evaluation's weights for checkpoint averaging; drop older ones."""
        n = self.cfg.average_last
        if not n:
            return
        folder = self.run_dir / "checkpoints"
        evals = sum(1 for r in state.history if any(k.startswith("dev/") for k in r)) + 1
        save_weights(self.model, folder / f"eval-{evals:05d}.safetensors")
        for old in sorted(folder.glob("eval-*.safetensors"))[:-n]:
            old.unlink()

    def _average(self, state: TrainState) -> None:
        """Average the kept weights; keep the average when dev prefers it."""
        files = sorted((self.run_dir / "checkpoints").glob("eval-*.safetensors"))
        if self.evaluate is None or len(files) < 2 or not dist.is_main():
            return
        total = None
        for f in files:
            load_weights(self.model, f)
            sd = {k: v.detach().clone().float() for k, v in self.model.state_dict().items()}
            total = sd if total is None else {k: total[k] + sd[k] for k in total}
        self.model.load_state_dict({k: (v / len(files)).to(self.model.state_dict()[k].dtype)
                                    for k, v in total.items()})
        self.model.eval()
        with torch.no_grad():
            metrics = self.evaluate(self.model)
        self.model.train()
        better = self._improved(metrics[self.cfg.metric], state.best)
        if better:
            state.best = metrics[self.cfg.metric]
            save_weights(self.model, self.run_dir / "model.safetensors")
        self._log(state, {f"averaged/{k}": v for k, v in metrics.items()}
                  | {"averaged/checkpoints": len(files), "is_best": better})
        for f in files:
            f.unlink()

    def _log(self, state: TrainState, metrics: dict[str, Any]) -> None:
        record = {"step": state.step, "epoch": state.epoch} | metrics
        state.history.append(record)
        if not dist.is_main():
            return
        with open(self.run_dir / "train_log.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for k, v in metrics.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    self.writer.add_scalar(k, v, state.step)

    # ---- the loop ----------------------------------------------------------------------
    def fit(self, source: BatchSource, resume: bool = False) -> TrainState:
        """Train until the epochs, max_steps or patience run out; return the final state.

        With ``resume=True`` and a checkpoint in the run directory, training continues from it
        and ends with the same weights as an uninterrupted run.
        """
        self.run_dir.mkdir(parents=True, exist_ok=True)
        state = self._setup(source, resume)
        self.model.train()
        bar = tqdm(total=self.total_steps, initial=state.step,
                   disable=not self.cfg.progress or not dist.is_main(),
                   desc="train", dynamic_ncols=True)
        stop, t0, running = state.step >= self.total_steps, time.time(), []
        if self.cfg.eval_at_start and state.step == 0 and not state.history:
            self._evaluate(state)
        while not stop and state.epoch < self.cfg.epochs:
            batches = source(state.epoch)
            while state.batch < len(batches) and not stop:
                running.append(self._backward(batches[state.batch]))
                state.batch += 1
                at_end = state.batch == len(batches)
                if state.batch % self.cfg.accumulate and not at_end:
                    continue
                grad_norm = self._optimizer_step()
                state.step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{running[-1]:.4f}")
                if state.step % 50 == 0 or at_end or state.step >= self.total_steps:
                    loss = dist.mean_over_ranks(sum(running) / len(running))
                    self._log(state, {"train/loss": loss,
                                      "train/lr": self.scheduler.get_last_lr()[0],
                                      "train/grad_norm": grad_norm,
                                      "train/seconds": state.seconds + time.time() - t0})
                    running = []
                stop = state.step >= self.total_steps
                if self.cfg.eval_every and state.step % self.cfg.eval_every == 0:
                    stop = self._evaluate(state) or stop
                if self.cfg.checkpoint_every and state.step % self.cfg.checkpoint_every == 0:
                    state.seconds, t0 = state.seconds + time.time() - t0, time.time()
                    self._checkpoint(state)
            if state.batch == len(batches):
                state.epoch, state.batch = state.epoch + 1, 0
                if not self.cfg.eval_every:
                    stop = self._evaluate(state) or stop
                if not self.cfg.checkpoint_every:
                    state.seconds, t0 = state.seconds + time.time() - t0, time.time()
                    self._checkpoint(state)
        state.seconds += time.time() - t0
        self._average(state)
        self._finish(state, bar)
        return state

    # ---- cleanup -----------------------------------------------------------------------
    def _finish(self, state: TrainState, bar: tqdm) -> None:
        bar.close()
        weights = self.run_dir / "model.safetensors"
        best = dist.broadcast_flag(self.evaluate is not None and state.best is not None)
        if not best:
            save_weights(self.model, weights)
        dist.barrier()  # rank 0 has written the weights every rank now holds
        if best:  # leave the caller holding the best weights, as saved
            load_weights(self.model, weights)
        if self.writer is not None:
            self.writer.close()
