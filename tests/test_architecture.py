"""The seams between rooms, checked: no import cycle (imports inside functions count), no
private name imported from another module, functions and modules of a readable size.

The layering itself (which room may import which) is import-linter's contracts in
pyproject.toml, run by `lint-imports` in .ci/run; docs/architecture.md explains it."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "rewardkit"
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 500


def sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (or a self-import)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_counting_imports_inside_functions():
    """grimp's graph of every import in src/, at module level or inside a function."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("rewardkit")
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    assert strongly_connected(edges) == []


def test_the_cycle_finder_finds_cycles():
    """The check above can fail: a → b → c → a and d → d are found, e → a is not a cycle."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}, "e": {"a"}}
    assert sorted(strongly_connected(graph)) == [["a", "b", "c"], ["d"]]


def test_no_private_name_is_imported_from_another_module():
    offenders = []
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [a.name for a in node.names] + node.module.split(".")
                private = [n for n in names if n.startswith("_") and not n.endswith("__")]
                if private and node.module.startswith("rewardkit"):
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno} {private}")
    assert offenders == []


def test_functions_and_modules_stay_readable():
    """No function over ~80 lines, no module over 500 (torchtune's small rooms)."""
    long_functions, long_modules = [], []
    for path in sources():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long_modules.append(str(path.relative_to(SRC)))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long_functions.append(
                        f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({lines} lines)"
                    )
    assert long_functions == [] and long_modules == []
