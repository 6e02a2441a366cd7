"""The import graph between the packages of ``dunning`` and ``dunning_ops``: ``python -m dunning_ops.imports``.

A node is a first-level package or module (``dunning.app``, ``dunning.store``, ``dunning_ops.cli``, ...); an
arrow A -> B means some module of A imports one of B. Every import counts - at module level, inside a function
or under ``TYPE_CHECKING`` - so an import moved into a function does not hide a cycle. The source is read, not
run. Exits 1 when the graph has a cycle or when the runtime package (``dunning``, what Lambda ships) imports
the operator package (``dunning_ops``).

Options: ``--json`` prints the graph as JSON; ``--lazy`` also lists the imports of first-party modules made
inside a function.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("dunning", "dunning_ops")
RUNTIME, OPERATOR = PACKAGES


@dataclass(frozen=True)
class LazyImport:
    """A first-party import made inside a function."""

    file: str
    line: int
    module: str


@dataclass
class ImportGraph:
    edges: dict[str, set[str]] = field(default_factory=dict)
    lazy: list[LazyImport] = field(default_factory=list)

    @property
    def nodes(self) -> list[str]:
        return sorted(set(self.edges) | {b for targets in self.edges.values() for b in targets})

    def cycles(self) -> list[list[str]]:
        """Groups of nodes that import each other, directly or round a loop (strongly connected, size > 1)."""
        return [group for group in _strongly_connected(self.edges) if len(group) > 1]

    def runtime_to_operator(self) -> list[tuple[str, str]]:
        """Arrows from the runtime package into the operator package (never allowed)."""
        return sorted((a, b) for a, targets in self.edges.items() for b in targets
                      if _top(a) == RUNTIME and _top(b) == OPERATOR)


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {name} not found")
    return Path(next(iter(spec.submodule_search_locations)))


def module_name(root: Path, package: str, path: Path) -> str:
    parts = [package, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def node_of(module: str, known: set[str]) -> str | None:
    """The graph node of a first-party module: its first-level package (or module), else the package."""
    parts = module.split(".")
    if parts[0] not in PACKAGES:
        return None
    if len(parts) > 1 and ".".join(parts[:2]) in known:
        return ".".join(parts[:2])
    return parts[0]


def build_graph() -> ImportGraph:
    graph = ImportGraph()
    sources: dict[str, tuple[Path, Path]] = {}
    for package in PACKAGES:
        root = package_dir(package)
        for path in sorted(root.rglob("*.py")):
            if "__pycache__" not in path.parts:
                sources[module_name(root, package, path)] = (root, path)
    known = {".".join(m.split(".")[:2]) for m in sources}
    for module, (root, path) in sources.items():
        source = node_of(module, known)
        assert source is not None
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, in_function in _imports(tree):
            for imported in _imported_modules(node, module, is_package, set(sources)):
                target = node_of(imported, known)
                if target is None:
                    continue
                lazy = LazyImport(str(path.relative_to(root.parent)), node.lineno, imported)
                if in_function and lazy not in graph.lazy:
                    graph.lazy.append(lazy)
                if target != source:
                    graph.edges.setdefault(source, set()).add(target)
    return graph


def _imports(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement, with whether it sits inside a function."""

    def visit(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, in_function
            yield from visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    return visit(tree, False)


def _imported_modules(node: ast.Import | ast.ImportFrom, module: str, is_package: bool,
                      modules: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:  # relative: from the module's package, one level up per extra dot
        package = module.split(".") if is_package else module.split(".")[:-1]
        base = ".".join(package[: len(package) - node.level + 1])
        origin = f"{base}.{node.module}" if node.module else base
    else:
        origin = node.module or ""
    # ``from dunning import settings`` imports the module dunning.settings
    return [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin for alias in node.names]


def _top(node: str) -> str:
    return node.split(".")[0]


def _strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in sorted(set(edges) | {b for targets in edges.values() for b in targets}):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                groups.append(sorted(group))
    return groups


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dunning_ops.imports", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the graph as JSON")
    parser.add_argument("--lazy", action="store_true", help="also list first-party imports inside functions")
    args = parser.parse_args(argv)
    graph = build_graph()
    cycles, upward = graph.cycles(), graph.runtime_to_operator()
    if args.json:
        print(json.dumps({"edges": {a: sorted(b) for a, b in sorted(graph.edges.items())}, "cycles": cycles,
                          "runtime_to_operator": upward,
                          **({"lazy": [vars(i) for i in graph.lazy]} if args.lazy else {})}, indent=2))
    else:
        width = max(len(n) for n in graph.nodes)
        for node in graph.nodes:
            print(f"{node.ljust(width)} -> {', '.join(sorted(graph.edges.get(node, ()))) or '-'}")
        if args.lazy:
            print(f"\nfirst-party imports inside a function: {len(graph.lazy)}")
            for lazy in graph.lazy:
                print(f"  {lazy.file}:{lazy.line} {lazy.module}")
        shown = "; ".join(f"{', '.join(c)} (import each other)" for c in cycles)
        print(f"\ncycles: {shown or 'none'}")
        print(f"{RUNTIME} -> {OPERATOR}: {', '.join(f'{a} -> {b}' for a, b in upward) if upward else 'none'}")
    return 1 if cycles or upward else 0


if __name__ == "__main__":
    raise SystemExit(main())
