"""The house of docs/ARCHITECTURE.md: one-way layers and no import cycle (every import counts,
also the ones inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "zoning"

LAYERS: dict[str, int] = {
    # helpers every layer may use
    "zoning": 0, "zoning.errors": 0, "zoning.settings": 0, "zoning.fmt": 0, "zoning.atomic": 0,
    "zoning.progress": 0, "zoning.config": 0, "zoning.results": 0, "zoning.labels": 0,
    "zoning.background": 0,
    # the one-way flow
    "zoning.sources": 1, "zoning.territory": 2, "zoning.routing": 3, "zoning.traveltimes": 4,
    "zoning.criteria": 5, "zoning.scoring": 6, "zoning.calibration": 6, "zoning.validation": 6,
    "zoning.exports": 7,
    "zoning.pipeline": 8,
    "zoning.cli": 9,
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """Module -> zoning modules it imports (anywhere in the file)."""
    out: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("zoning")}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.rsplit(".", node.level - 1)[0] if node.level > 1 else pkg
                    mod = f"{base}.{node.module}" if node.module else base
                else:
                    mod = node.module or ""
                if mod.startswith("zoning"):
                    found.add(mod)
                    # ``from zoning.routing import graph`` imports the submodule
                    found |= {f"{mod}.{a.name}" for a in node.names
                              if (PACKAGE.parent / f"{mod}.{a.name}".replace(".", "/")).exists()
                              or (PACKAGE.parent / (f"{mod}.{a.name}".replace(".", "/")
                                                    + ".py")).exists()}
        out[name] = found - {name}
    return out


def _layer(module: str) -> int:
    while module not in LAYERS:
        module = module.rpartition(".")[0]
    return LAYERS[module]


def _top(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_every_module_has_a_layer() -> None:
    for name in _imports():
        assert _layer(name) >= 0


def test_no_module_imports_one_to_its_right() -> None:
    bad = [f"{m} -> {d}" for m, deps in _imports().items() for d in deps
           if _top(d) != _top(m) and _layer(d) > _layer(m)]
    assert not bad, "imports against the flow of docs/ARCHITECTURE.md: " + ", ".join(bad)


def test_no_import_cycle() -> None:
    graph = _imports()
    # a package's __init__ re-exports its submodules: that edge is not a dependency
    edges = {m: {d for d in deps if d in graph and not (d.startswith(m + ".") )}
             for m, deps in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)


def test_tests_do_not_import_from_each_other() -> None:
    """Shared test helpers live in ``tests/_*.py`` modules and ``conftest.py`` fixtures."""
    tests = Path(__file__).resolve().parent
    bad = []
    for path in sorted(tests.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad += [f"{path.name} imports {n}" for n in names if n.startswith("test_")]
    assert not bad, bad
