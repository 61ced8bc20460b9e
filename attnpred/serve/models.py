"""The served models: run specs, loading, warm-up and the predict function the batcher calls.

Written only against the predictor contract (``attnpred.load(run).predict(inputs, *,
return_attention=...) -> list[Result]`` with ``Result.to_dict()``), never per task family.
"""
from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from attnpred.errors import AttnpredError


def parse_run_specs(specs: Sequence[str]) -> dict[str, Path]:
    """'DIR' or 'NAME=DIR' -> {name: run_dir}; names must be unique."""
    runs: dict[str, Path] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = Path(spec).name or "model", spec
        if not name or name in runs:
            raise AttnpredError(f"run name {name!r} is empty or given twice; "
                                "use NAME=DIR to name runs", field="RUN")
        if not (Path(path) / "config.json").is_file():
            raise AttnpredError("not a run directory (no config.json)", file=path, field="RUN")
        runs[name] = Path(path)
    if not runs:
        raise AttnpredError("give at least one run directory to serve", field="RUN")
    return runs


def result_dict(result: Any) -> dict[str, Any]:
    """A result as JSON-ready data: its ``to_dict()``, else its dataclass fields."""
    if hasattr(result, "to_dict"):
        return result.to_dict()
    if dataclasses.is_dataclass(result):
        return {f.name: _jsonable(getattr(result, f.name)) for f in dataclasses.fields(result)}
    raise TypeError(f"{type(result).__name__} has no to_dict()")


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars, tensors
        return _jsonable(value.tolist())
    return value


def as_list(results: Any) -> list[Any]:
    return results if isinstance(results, list) else [results]


def predict_function(predictor: Any) -> Callable[[Sequence[Any], tuple], list[dict]]:
    """The batcher's ``predict(inputs, (return_attention,))`` for one predictor."""
    def predict(inputs: Sequence[Any], options: tuple) -> list[dict[str, Any]]:
        (return_attention,) = options
        results = as_list(predictor.predict(list(inputs), return_attention=return_attention))
        return [result_dict(r) for r in results]
    return predict


def load_predictor(run_dir: Path, cfg: Any) -> Any:
    """The run's predictor on the torch backend, or its exported ONNX model (``cfg``: a
    ServeConfig)."""
    if cfg.backend == "onnx":
        from attnpred.export.onnx_predictor import OnnxPredictor
        return OnnxPredictor.load(run_dir, cfg.onnx_file, threads=cfg.threads)
    import attnpred
    return attnpred.load(run_dir, device=cfg.device)


def warm_up(predictor: Any, default_inputs: Sequence[Any]) -> float:
    """Answer one request (with attention) before the model is called ready; returns seconds."""
    example = getattr(predictor, "example_inputs", None)
    inputs = list(example()) if callable(example) else list(default_inputs)
    start = time.perf_counter()
    predict_function(predictor)(inputs, (True,))
    return time.perf_counter() - start


def task_of(run_dir: Path) -> str:
    from attnpred.api import run_task
    try:
        return run_task(run_dir)
    except AttnpredError:
        return "unknown"
