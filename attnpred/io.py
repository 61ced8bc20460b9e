"""Atomic file writes (a temp file in the same folder, fsync, then rename) and JSON reads."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator, TextIO

from attnpred.distributed import writes_allowed
from attnpred.errors import AttnpredError


def atomic_write(path: str | Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` then move the temp file over ``path`` in one rename.

    A crash before the rename leaves any earlier file at ``path`` untouched. On ranks > 0 of a
    distributed training nothing is written (rank 0 writes the run directory).
    """
    if not writes_allowed():
        return
    with _replacing(path) as tmp:
        write(tmp)


@contextlib.contextmanager
def _replacing(path: str | Path) -> Iterator[str]:
    """A temp file beside ``path`` that replaces it (fsynced, usual permissions) when the
    block succeeds, and is removed when it fails."""
    path = Path(path)
    if path.is_dir():
        raise AttnpredError("is a directory; expected a file name to write", file=path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise AttnpredError("cannot create the folder: a file of that name is in the way",
                            file=path.parent) from None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_dir(path: str | Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_dir)`` (e.g. a ``save_pretrained``) then move the temp folder to
    ``path`` (replacing an earlier one); dropped on ranks > 0 like ``atomic_write``."""
    if not writes_allowed():
        return
    import shutil
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        write(tmp)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | Path) -> Iterator[TextIO]:
    """A UTF-8 text file to write ``path`` in pieces (streaming); it replaces ``path`` only
    when the block ends without an exception."""
    with _replacing(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        yield fh


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    def _write(tmp: str) -> None:
        Path(tmp).write_text(text, encoding="utf-8")
    atomic_write(path, _write)


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """Read a JSON file, raising AttnpredError (naming ``what``) when missing or invalid."""
    path = Path(path)
    if not path.is_file():
        raise AttnpredError(f"{what} not found", file=path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise AttnpredError(f"invalid {what} ({exc.msg})", file=path, line=exc.lineno) from None
    except UnicodeDecodeError as exc:
        raise AttnpredError(f"invalid {what} (not UTF-8: {exc.reason})", file=path) from None
