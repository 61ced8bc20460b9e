"""The public surface: ``train(config, run_dir)`` and ``load(run_dir)`` for every task family."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from attnpred.errors import AttnpredError
from attnpred.io import read_json
from attnpred.tasks import registry


def run_task(run_dir: str | Path) -> str:
    """The task name stored in ``run_dir/config.json``."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise AttnpredError("run directory not found", file=run_dir)
    if not (run_dir / "config.json").is_file():
        raise AttnpredError("not a run directory (no config.json)", file=run_dir)
    data = read_json(run_dir / "config.json", "run config")
    task = data.get("task") if isinstance(data, dict) else None
    if task not in registry.TASKS:
        raise AttnpredError(f"unknown task {task!r}; expected one of {sorted(registry.TASKS)}",
                            file=run_dir / "config.json", field="task")
    return task


def load(run_dir: str | Path, device: str = "cpu") -> Any:
    """Load a trained run directory and return its predictor.

    Args:
        run_dir: a directory written by ``train``.
        device: 'cpu' or 'cuda'.
    Returns:
        The family's predictor: ``predict(inputs, *, return_attention=False)`` gives one
        result (with ``to_dict()``) per input; ``evaluate(path)`` scores a labelled file.
    """
    from attnpred.device import resolve_device
    resolve_device(device)
    return registry.predictor_class(run_task(run_dir)).load(run_dir, device=device)


def train(config: Any, run_dir: str | Path, *, resume: bool = False,
          overwrite: bool = False) -> dict[str, Any]:
    """Train ``config`` (any family's run config) into ``run_dir``.

    Args:
        config: e.g. ``ClassifyRunConfig``, ``ForecastRunConfig``, ``Seq2SeqRunConfig``.
        run_dir: the run directory; a completed run is refused unless ``overwrite``.
        resume: continue an interrupted run from its checkpoint (same final weights).
        overwrite: replace what attnpred wrote there before.

    Started by ``torchrun --nproc-per-node N`` the same call trains with N processes
    (DistributedDataParallel; gloo on CPU, NCCL on CUDA): each takes 1/N of every batch, and
    rank 0 alone writes ``run_dir``.
    Returns:
        The metrics also written to ``run_dir/metrics.json``.
    """
    task = getattr(config, "task", None)
    if task not in registry.TASKS:
        raise AttnpredError(f"not a run config: {type(config).__name__} (expected one of "
                            f"{[registry.spec(t).config.split(':')[1] for t in registry.TASKS]})")
    if not isinstance(config, registry.config_class(task)):
        raise AttnpredError(f"task {task!r} needs a {registry.config_class(task).__name__}")
    from attnpred import distributed
    distributed.init(getattr(getattr(config, "trainer", None), "device", "cpu"))
    with distributed.main_rank_writes():  # under torchrun, rank 0 writes the run directory
        metrics = registry.train_function(task)(config, run_dir, resume=resume,
                                                overwrite=overwrite)
    distributed.barrier()  # every rank returns once the run directory is complete
    return metrics


def predict_file(run: Any, input: str | Path, output: str | Path | None = None,
                 **options: Any) -> dict[str, Any]:
    """Predict a file of any size with bounded memory, optionally one shard of N.

    Args:
        run: a run directory or a loaded predictor.
        input: the input file; output: JSONL / CSV file, or the folder of a shard.
        options: as ``attnpred.tasks.batch_predict.predict_file`` (``shard=(i, n)``,
            ``chunk_size``, ``return_attention``, ``read_options``, ``predict_options``).
    Returns:
        rows, seconds, rows_per_second and the output path.
    """
    from attnpred.tasks.batch_predict import predict_file as _predict_file
    predictor = load(run) if isinstance(run, (str, Path)) else run
    return _predict_file(predictor, input, output, **options)


def merge_shards(folder: str | Path, output: str | Path) -> dict[str, Any]:
    """Merge the parts of a sharded ``predict_file`` into one JSONL file in input order."""
    from attnpred.tasks.batch_predict import merge_shards as _merge
    return _merge(folder, output)
