"""The package's import structure, read from the source with `ast` (module-level and
function-level imports alike, and `if TYPE_CHECKING:` imports too: a cycle through a
type hint is still a cycle between the modules' meanings):

- no import cycle among `simulator` modules;
- no cost model imports another cost model (shared pricing lives in `costmodels.base`,
  shared lowering in `graphs.ops`, schemas in `simulator.hardware`);
- nothing outside `simulator/cli/` imports `simulator.cli`;
- `simulator.hardware` prices nothing: it never imports the cost models or the engine.

An edge is the module an import statement names (`from a.b import c` names `a.b.c` when
that is a module, else `a.b`); the implicit import of a parent package's `__init__` is
not an edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from simulator.hardware.classes import CLASSES

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("simulator", "graphs")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules `name` imports, anywhere in its body."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return {m for m in found if m in modules}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing
    itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges.get(v, ()):
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return found


def test_the_walker_sees_function_level_and_module_level_imports(graph):
    assert "simulator.engine.pricing" in graph["simulator.engine"]  # module level, package re-export
    assert "simulator.engine.fastpath" in graph["simulator.predictor"]
    assert "simulator.api" in graph["simulator.cli.calibrate"]  # inside `run`
    assert "simulator.engine.rewrite" in graph["simulator.results"]  # under TYPE_CHECKING


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}}) == [["a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_simulator(graph):
    inside = {
        m: {d for d in deps if d.startswith("simulator")} for m, deps in graph.items() if m.startswith("simulator")
    }
    assert cycles(inside) == []


def test_no_cost_model_imports_a_sibling(graph):
    cost_models = {entry.cost_model.split(":")[0] for entry in CLASSES.values()}
    assert cost_models == {f"simulator.costmodels.{k}" for k in ("cpu", "systolic", "dsp", "gpu")}
    for model in cost_models:
        siblings = graph[model] & (cost_models - {model})
        assert not siblings, f"{model} imports {siblings}"


def test_simulator_cli_is_imported_only_by_the_cli(graph):
    offenders = {
        m: deps for m, deps in graph.items()
        if not (m == "simulator.cli" or m.startswith("simulator.cli."))
        and any(d == "simulator.cli" or d.startswith("simulator.cli.") for d in deps)
    }
    assert not offenders


def test_hardware_prices_nothing(graph):
    for module, deps in graph.items():
        if module.startswith("simulator.hardware"):
            pricing = {d for d in deps if d.startswith(("simulator.costmodels", "simulator.engine"))}
            assert not pricing, f"{module} imports {pricing}"


def test_graphs_never_imports_simulator(graph):
    for module, deps in graph.items():
        if module.startswith("graphs"):
            assert not {d for d in deps if d.startswith("simulator")}, module
