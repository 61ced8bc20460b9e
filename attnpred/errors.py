"""One error type for user mistakes: the CLI prints it in one line and exits non-zero."""
from __future__ import annotations

from pathlib import Path


class AttnpredError(Exception):
    """A user mistake (bad file, column, value), as opposed to a bug.

    Args:
        message: what is wrong and what was expected.
        file: the offending file, if any.
        line: 1-based line number in that file, if known.
        field: the column, key or config field concerned, if any.
    """

    def __init__(self, message: str, *, file: str | Path | None = None,
                 line: int | None = None, field: str | None = None) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.field = field
        super().__init__(self.format())

    def format(self) -> str:
        where = []
        if self.file:
            where.append(self.file + (f":{self.line}" if self.line is not None else ""))
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field '{self.field}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class ConfigError(AttnpredError):
    """A bad configuration value."""
