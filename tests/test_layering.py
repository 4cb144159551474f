"""The layout's rules, read from the code's imports (inside functions too): imports point one way
(no cycle), decoders never import encoders, the store imports no model code, nothing but the front
ends (the command line and `api.py`, the Python API over it) imports `cli/`, the contract
(`thought.py`) starts no TensorFlow, no file is over 300 lines. docs/ARCHITECTURE.md draws the layers
these keep."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = {"tests", "benchmarks", "docs", "outputs", "multirun", "store", ".git", ".ci"}
MOST_LINES = 300
FRONT_ENDS = ("plugmt.cli", "plugmt.__main__", "plugmt.api")  # the only importers of cli/


def modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if set(parts) & OUTSIDE or any(p.startswith(".") or p.endswith(".egg-info") for p in parts):
            continue
        name = ".".join(("plugmt", *parts)).removesuffix(".__init__")
        found[name] = path
    return found


def imports(path: Path, known: set[str], top_level_only: bool = False) -> set[str]:
    """The plugmt modules `path` imports (a name resolved to the longest known module)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    resolved = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name:
            resolved.add(name)
    return resolved


def graph() -> dict[str, set[str]]:
    found = modules()
    edges = {}
    for name, path in found.items():
        # A package's own __init__ is not an edge of its modules (they import their siblings).
        edges[name] = {n for n in imports(path, set(found)) if n != name and not name.startswith(n + ".")}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, each as the path that closes it."""
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_imports_point_one_way():
    assert cycles(graph()) == []


def test_the_halves_meet_only_in_the_contract_and_the_store_builds_nothing():
    edges = graph()
    crossing = [
        (a, b)
        for a, targets in edges.items()
        for b in targets
        if (a.startswith("plugmt.decoders") and b.startswith("plugmt.encoders"))
        or (a.startswith("plugmt.encoders") and b.startswith("plugmt.decoders"))
        or (
            a.startswith("plugmt.storage")
            and b.startswith(("plugmt.encoders", "plugmt.decoders", "plugmt.registry", "plugmt.layers"))
        )
        or (b.startswith("plugmt.cli") and not a.startswith(FRONT_ENDS))
    ]
    assert crossing == []


def test_the_contract_starts_no_tensorflow_and_no_file_is_long():
    found = modules()
    top = imports(found["plugmt.thought"], {"tensorflow", "keras"} | set(found), top_level_only=True)
    assert not top & {"tensorflow", "keras"}
    long = {name: n for name, path in found.items() if (n := len(path.read_text().splitlines())) > MOST_LINES}
    assert long == {}


def test_the_cycle_check_sees_a_cycle():
    edges = graph()
    assert "plugmt.thought" in edges["plugmt.registry"]
    assert cycles({**edges, "plugmt.thought": {"plugmt.registry"}})
