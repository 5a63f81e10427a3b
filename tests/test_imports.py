"""The import direction: wire models and the codec know no client, stream or transport."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gpt_async"
CLIENT_SIDE = frozenset(
    {"gpt_async._client", "gpt_async._transport", "gpt_async._streaming", "gpt_async._sync"}
)

# Loads a subpackage without running gpt_async/__init__.py (which imports the client).
_PROBE = """
import importlib, importlib.util, sys, types
spec = importlib.util.find_spec("gpt_async")
package = types.ModuleType("gpt_async")
package.__path__ = list(spec.submodule_search_locations)
sys.modules["gpt_async"] = package
importlib.import_module(sys.argv[1])
print(" ".join(sorted(m for m in sys.modules if m.startswith("gpt_async"))))
"""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imported(module: str, node: ast.ImportFrom) -> list[str]:
    """The package modules one ``from ... import ...`` names (a submodule, else the module)."""
    base = module.split(".")
    if MODULES[module].name != "__init__.py":
        base = base[:-1]
    if node.level:
        base = base[: len(base) - node.level + 1]
        prefix = ".".join([*base, *([node.module] if node.module else [])])
    else:
        prefix = node.module or ""
    return [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in MODULES else prefix for a in node.names]


def _graph() -> dict[str, set[str]]:
    """Every import of every module, TYPE_CHECKING and function-level ones included."""
    graph = {}
    for module, path in MODULES.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                found.update(_imported(module, node))
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        graph[module] = {m for m in found if m in MODULES and m != module}
    return graph


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of the graph, as its modules in order; empty when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = 1
        path.append(module)
        for nxt in sorted(graph[module]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[module] = 2
        path.pop()
        return []

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return []


def test_the_package_import_graph_has_no_cycle() -> None:
    """No module imports (even only for type checking) one that imports it back."""
    graph = _graph()
    assert len(graph) > 30  # the walk found the package
    assert "gpt_async.models.operations" in graph["gpt_async._client"]  # and its edges
    assert _cycle(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above can fail: a two-module loop is reported."""
    assert _cycle({"a": {"b"}, "b": {"a"}, "c": set()}) == ["a", "b", "a"]


@pytest.mark.parametrize("package", ["gpt_async.models", "gpt_async._codec"])
def test_models_and_codec_never_reach_the_client(package: str) -> None:
    """Statically, nothing under the models or the codec leads to the client or transport."""
    graph = _graph()
    reached = set().union(*(_reachable(graph, m) for m in graph if m.startswith(package)))
    assert reached.isdisjoint(CLIENT_SIDE)


@pytest.mark.parametrize("package", ["gpt_async.models", "gpt_async._codec"])
def test_importing_models_or_codec_alone_loads_no_client(package: str) -> None:
    """In a fresh interpreter, importing the package loads no client, transport or stream module."""
    loaded = subprocess.run(
        [sys.executable, "-c", _PROBE, package],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parent,
    ).stdout.split()
    assert package in loaded
    assert set(loaded).isdisjoint(CLIENT_SIDE), loaded
