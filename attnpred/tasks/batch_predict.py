"""Prediction over files larger than memory: streamed in chunks, optionally one shard of N.

``predict_file`` reads the input lazily (the predictor's ``iter_inputs``), predicts a chunk
at a time and appends the results to the output, so memory stays bounded by the chunk
whatever the file's length. With ``shard=(i, n)`` it handles only rows ``k`` with
``k % n == i`` and writes ``part-i-of-n.jsonl`` plus a manifest into the output folder; N
workers (processes, machines, or the ranks of ``torchrun``) each write one, and
``merge_shards`` interleaves them back into exactly the unsharded output, in input order.
"""
from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from tqdm.auto import tqdm

from attnpred.errors import AttnpredError
from attnpred.io import atomic_open, atomic_write_text, read_json


def parse_shard(text: str) -> tuple[int, int]:
    """'i/N' -> (i, N), with 0 <= i < N."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise AttnpredError(f"expected i/N (e.g. 0/4), got {text!r}", field="--shard") from None
    if not 0 <= i < n:
        raise AttnpredError(f"shard {i}/{n}: need 0 <= i < N", field="--shard")
    return i, n


def part_name(i: int, n: int) -> str:
    return f"part-{i:05d}-of-{n:05d}"


def _inputs(predictor: Any, path: str | Path, options: dict[str, Any]) -> Iterator[Any]:
    reader = getattr(predictor, "iter_inputs", None)
    if reader is None:  # a family that needs its whole input (forecast: one series)
        return iter(predictor.read_inputs(path, **options))
    return reader(path, **options)


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def predict_file(predictor: Any, path: str | Path, output: str | Path | None = None, *,
                 read_options: dict[str, Any] | None = None,
                 predict_options: dict[str, Any] | None = None, chunk_size: int = 1000,
                 shard: tuple[int, int] | None = None, return_attention: bool = False,
                 batch_size: int | None = None,
                 to_csv: Callable[..., str] | None = None, progress: bool = True,
                 echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Predict every input of ``path`` into ``output``, ``chunk_size`` inputs at a time.

    Args:
        predictor: a loaded run (``attnpred.load``).
        path: the input file (read as the predictor's ``read_inputs`` would).
        output: JSONL (or, with ``to_csv``, a ``.csv``) file; with ``shard``, a folder; None
            prints one summary line per input.
        shard: ``(i, n)``: handle rows ``k % n == i`` only (see ``merge_shards``).
        return_attention: keep attention in the results.
        to_csv: CSV writer ``to_csv(results, start=row)`` for a .csv output (default: the
            predictor's).
    Returns:
        ``{"rows", "seconds", "rows_per_second", "output"}``.
    """
    if chunk_size < 1:
        raise AttnpredError("must be >= 1", field="chunk_size")
    rows = _inputs(predictor, path, read_options or {})
    if shard is not None:
        i, n = shard
        if output is None:
            raise AttnpredError("a shard needs an output folder", field="--output")
        rows = (x for k, x in enumerate(rows) if k % n == i)
        target = Path(output) / f"{part_name(i, n)}.jsonl"
    else:
        target = None if output is None else Path(output)
    csv_out = target is not None and target.suffix.lower() == ".csv"
    to_csv = to_csv or getattr(predictor, "to_csv", None)
    if csv_out and to_csv is None:
        raise AttnpredError("this task writes JSONL only; use a .jsonl output", field="--output")
    t0, done = time.time(), 0
    bar = tqdm(unit="rows", desc="predict", disable=not progress, dynamic_ncols=True)

    def run(write: Callable[[list[Any], int], None]) -> None:
        nonlocal done
        for chunk in chunks(rows, chunk_size):
            results = predictor.predict(chunk, return_attention=return_attention,
                                        batch_size=batch_size, **(predict_options or {}))
            write(results, done)
            done += len(chunk)
            bar.update(len(chunk))
            del results
            _release_memory()

    if target is None:
        run(lambda results, _: [echo(r.summary()) for r in results])
    else:
        with atomic_open(target) as fh:
            run(lambda results, start: fh.write(
                _csv_piece(to_csv, results, start) if csv_out else
                "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in results)))
    bar.close()
    if done == 0:
        raise AttnpredError("no inputs" + (" in this shard" if shard else " in the file"),
                            file=path)
    seconds = time.time() - t0
    summary = {"rows": done, "seconds": round(seconds, 3),
               "rows_per_second": round(done / max(seconds, 1e-9), 1),
               "output": None if target is None else str(target)}
    if shard is not None:
        atomic_write_text(Path(output) / f"{part_name(*shard)}.json", json.dumps(
            {"input": str(Path(path).resolve()), "shard": shard[0], "num_shards": shard[1],
             "rows": done, "file": target.name}) + "\n")
    return summary


def _release_memory() -> None:
    """Give freed heap pages back to the OS after a chunk (glibc keeps them otherwise, and
    tensors of ever new shapes make the resident size creep up over a long stream)."""
    global _TRIM
    if _TRIM is None:
        try:
            import ctypes
            _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _TRIM = False
    if _TRIM:
        _TRIM(0)


_TRIM: Any = None


def _csv_piece(to_csv: Callable[..., str], results: Sequence[Any], start: int) -> str:
    """The family's CSV of one chunk; the header only for the first."""
    text = to_csv(results, start=start)
    return text if start == 0 else text.split("\n", 1)[1]


def merge_shards(folder: str | Path, output: str | Path) -> dict[str, Any]:
    """Interleave the N parts of a sharded ``predict_file`` into ``output`` (JSONL), in input
    order: exactly what the unsharded prediction writes.

    Raises:
        AttnpredError: a part or manifest is missing, or the parts do not fit together.
    """
    folder = Path(folder)
    manifests = sorted(folder.glob("part-*-of-*.json"))
    if not manifests:
        raise AttnpredError("no shard manifests (part-*-of-*.json) in the folder", file=folder)
    parts = [read_json(m, "shard manifest") for m in manifests]
    n = parts[0]["num_shards"]
    have = sorted(p["shard"] for p in parts)
    if have != list(range(n)) or any(p["num_shards"] != n for p in parts):
        missing = sorted(set(range(n)) - set(have))
        raise AttnpredError(f"expected shards 0..{n - 1}; missing {missing}", file=folder)
    if len({p["input"] for p in parts}) > 1:
        raise AttnpredError("the shards come from different input files", file=folder)
    parts.sort(key=lambda p: p["shard"])
    total = sum(p["rows"] for p in parts)
    for p in parts:  # round robin: shard i holds ceil((total - i) / n) rows
        if p["rows"] != (total - p["shard"] + n - 1) // n:
            raise AttnpredError(f"shard {p['shard']} has {p['rows']} rows; the shards do not "
                                "fit together (a part from another run?)", file=folder)
    handles = [open(folder / p["file"], encoding="utf-8") for p in parts]
    try:
        with atomic_open(output) as out:
            for k in range(total):
                out.write(handles[k % n].readline())
    finally:
        for h in handles:
            h.close()
    return {"rows": total, "shards": n, "output": str(output)}
