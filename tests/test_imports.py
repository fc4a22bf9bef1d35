"""Import structure of the package: no cycles, and the space layer never imports latency.

Every ``import`` statement counts, including those inside functions (a lazy import is
still a dependency); only imports under ``if TYPE_CHECKING:`` are left out, as they never
run. A child module's implicit import of its parent package is not an edge.

Run as a script to print the strongly connected components of the module graph:
``python tests/test_imports.py``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "nascli"
# No import cycles and no allowed exception: a new one fails this test.
KNOWN_CYCLES: list[list[str]] = []


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """Package modules imported by ``tree``.

    ``from a import b``: ``a.b`` when it is a module, else ``a`` (``a`` is loaded either
    way, but only as the parent of ``a.b``, like any package a child module lives in).
    """
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)  # the ``else`` branch does run
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = module.split(".")
                    keep = len(parts) - child.level + (1 if is_package else 0)
                    base = ".".join(parts[:keep] + ([base] if base else []))
                for alias in child.names:
                    name = f"{base}.{alias.name}"
                    found.add(name if name in modules else base)
            stack.append(child)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the package modules it imports."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = _imports(tree, name, path.name == "__init__.py", set(files))
        graph[name] = {t for t in targets if t in files} - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_the_package_has_no_import_cycles() -> None:
    assert cycles(import_graph()) == KNOWN_CYCLES


def test_the_space_layer_does_not_import_latency_search_or_commands() -> None:
    graph = import_graph()
    for module, targets in graph.items():
        if module.startswith(("nascli.spaces", "nascli.layers", "nascli.keyrows", "nascli.cost")):
            bad = sorted(
                t for t in targets
                if t.startswith(("nascli.latency", "nascli.search", "nascli.commands"))
            )  # fmt: skip
            assert not bad, f"{module} imports {bad}"


def test_the_checker_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


if __name__ == "__main__":
    found = [c for c in cycles(import_graph()) if c not in KNOWN_CYCLES]
    for component in found:
        print(" <-> ".join(component))
    sys.exit(1 if found else 0)
