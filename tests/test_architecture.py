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


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (ROOT / rel).with_suffix(".py").is_file() or (ROOT / rel / "__init__.py").is_file()


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # 'from attnpred import io' imports attnpred.io
                sub = f"{node.module}.{alias.name}"
                out.add(sub if _is_module(sub) else node.module)
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


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles: strongly connected groups of two or more modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = stack[stack.index(v):]
            del stack[stack.index(v):]
            if len(group) > 1:
                found.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_even_through_lazy_imports():
    graph = {m: {i for i in imports if i in GRAPH} for m, imports in GRAPH.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_sees_a_planted_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_test_files_have_unique_basenames():
    """pytest imports test modules by basename (no packages): two alike break a full run."""
    names = [p.name for p in (ROOT.parent / "tests").rglob("test_*.py")]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
