"""Arrows point one way: cli/serve -> api -> tasks -> models -> attention.

Reads every module's imports (top level and inside functions) with ``ast``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import attnpred

ROOT = Path(attnpred.__file__).parent
# layer -> packages it must never import (directly or lazily)
FORBIDDEN = {
    "attention": ("models", "tasks", "supervision", "training", "cli", "serve", "explain",
                  "evaluation", "data", "api", "export"),
    "models": ("tasks", "supervision", "training", "cli", "serve", "explain", "api", "export"),
    "data": ("tasks", "training", "cli", "serve", "api", "export"),
    "training": ("tasks", "cli", "serve", "api", "explain", "export"),
    "supervision": ("tasks", "training", "cli", "serve", "api", "export"),
    "evaluation": ("tasks", "training", "cli", "serve", "api", "export"),
    "tasks": ("cli", "serve", "api"),
}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return {m for m in out if m.startswith("attnpred")}


GRAPH = {_module(p): _imports(p) for p in ROOT.rglob("*.py")}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_lower_layers_import_nothing_above_them():
    bad = [(m, i) for m, imports in GRAPH.items() for i in imports
           if _package(i) in FORBIDDEN.get(_package(m), ())]
    assert not bad, bad


def test_the_checker_sees_a_forbidden_arrow():
    """Guards the tests above: a planted upward import is found."""
    planted = {"attnpred.models.x": {"attnpred.tasks.classify"}}
    bad = [(m, i) for m, imports in planted.items() for i in imports
           if _package(i) in FORBIDDEN.get(_package(m), ())]
    assert bad
