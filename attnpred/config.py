"""Helpers shared by every config dataclass: JSON round trip and validation.

Configs are plain dataclasses (flat, names not classes). These functions write them to the
run directory and read them back, so a run can be reloaded without the code that made it.
"""
from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import typing
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from attnpred.errors import ConfigError
from attnpred.io import atomic_write_text

T = TypeVar("T")


def config_to_dict(config: Any) -> dict[str, Any]:
    """Return the dataclass as a JSON-serialisable dict."""
    return dataclasses.asdict(config)


def save_config(config: Any, path: str | Path) -> None:
    """Write a config dataclass as JSON, atomically."""
    atomic_write_text(path, json.dumps(config_to_dict(config), indent=2, sort_keys=True) + "\n")


def config_from_dict(cls: type[T], data: dict[str, Any], source: str = "<dict>",
                     prefix: str = "") -> T:
    """Build ``cls`` from a dict, rejecting unknown keys with a clear error.

    Nested dataclass fields are built from nested dicts; errors name the dotted field path.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"expected a JSON object, got {type(data).__name__}", file=source)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown config key(s) {unknown}; known: {sorted(names)}",
                          file=source, field=prefix + unknown[0])
    hints = typing.get_type_hints(cls)
    defaults = _section_defaults(cls)
    kwargs = {}
    for key, value in data.items():
        if key in defaults and isinstance(value, dict):  # a partial section keeps its defaults
            value = _deep_merge(dataclasses.asdict(defaults[key]), value)
        kwargs[key] = _coerce(value, hints.get(key), prefix + key, source)
    try:
        return cls(**kwargs)
    except TypeError as exc:  # missing required field
        raise ConfigError(str(exc), file=source) from None
    except ConfigError as exc:  # from __post_init__: add where it came from
        if exc.file is None:
            raise ConfigError(exc.message, file=source,
                              field=prefix + (exc.field or "")) from None
        raise


def _section_defaults(cls: type) -> dict[str, Any]:
    """The default value of every nested-dataclass field (as the class itself would set it)."""
    out = {}
    for f in dataclasses.fields(cls):
        if f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
            if dataclasses.is_dataclass(value):
                out[f.name] = value
    return out


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(cls: type[T], path: str | Path) -> T:
    """Read a config dataclass from a JSON file."""
    return config_from_dict(cls, read_config_dict(path), source=str(path))


def _coerce(value: Any, hint: Any, key: str, source: str) -> Any:
    """Coerce JSON values to the annotated scalar type (tuples from lists, ints to floats)."""
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return config_from_dict(hint, value, source, prefix=key + ".")
    if dataclasses.is_dataclass(hint) and not dataclasses.is_dataclass(value):
        raise ConfigError(f"expected a section (JSON object), got {value!r}", file=source,
                          field=key)
    origin = typing.get_origin(hint)
    if (hint is tuple or origin is tuple) and isinstance(value, list):
        return tuple(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, bool):
        raise ConfigError(f"expected int, got {value!r}", file=source, field=key)
    if hint in (int, float, str, bool) and value is not None and not isinstance(value, hint):
        raise ConfigError(f"expected {hint.__name__}, got {value!r}", file=source, field=key)
    return value


def check(condition: bool, field: str, message: str) -> None:
    """Raise a ConfigError on ``field`` unless ``condition`` holds (for ``__post_init__``)."""
    if not condition:
        raise ConfigError(message, field=field)


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Set dotted keys (``"trainer.lr": 1e-3``) in a nested config dict; None values are skipped.

    Used by the CLI: flags override the values of a config file.
    """
    for dotted, value in overrides.items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for depth, key in enumerate(parents):
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                section = ".".join(parents[: depth + 1])
                raise ConfigError(f"expected a section (JSON object), got {node!r}",
                                  field=section)
        node[leaf] = value
    return data


def read_config_dict(path: str | Path | None) -> dict[str, Any]:
    """The JSON object in ``path`` (empty dict when no path is given)."""
    if not path:
        return {}
    path = Path(path)
    if not path.is_file():
        raise ConfigError("config file not found" if not path.exists() else
                          "not a file (expected a JSON config file)", file=path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg}", file=path, line=exc.lineno) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not a UTF-8 JSON file ({exc.reason})", file=path) from None
    if not isinstance(data, dict):
        raise ConfigError("expected a JSON object", file=path)
    return data


@lru_cache(maxsize=None)
def field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of a config dataclass (the CLI's help text),
    inherited ones included (a subclass's own docstring wins)."""
    docs: dict[str, str] = {}
    for klass in reversed([k for k in cls.__mro__ if dataclasses.is_dataclass(k)]):
        tree = ast.parse(inspect.getsource(klass).lstrip())
        body = tree.body[0].body
        for stmt, nxt in zip(body, body[1:]):
            if isinstance(stmt, ast.AnnAssign) and isinstance(nxt, ast.Expr) \
                    and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
                docs[stmt.target.id] = " ".join(nxt.value.value.split())
    return docs


def field_type(cls: type, dotted: str) -> tuple[type, Any]:
    """(the dataclass that holds ``dotted``'s last part, that field's type hint)."""
    *parents, name = dotted.split(".")
    for depth, part in enumerate(parents):
        hint = typing.get_type_hints(cls).get(part)
        if hint is None or not dataclasses.is_dataclass(hint):
            where = ".".join(parents[: depth + 1])
            raise ConfigError(f"no config section {where!r} (in {dotted!r})", field=dotted)
        cls = hint
    hints = typing.get_type_hints(cls)
    if name not in hints:
        raise ConfigError(f"no config field {dotted!r}", field=dotted)
    return cls, hints[name]
