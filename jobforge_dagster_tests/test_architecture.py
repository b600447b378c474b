"""The package's shape, as the design notes describe it (docs/design.md): only `orchestration/` (and
`definitions.py`) import Dagster; no import loop, and none dodged by an import inside a function; short
functions and modules."""

import ast
import subprocess
import sys
from pathlib import Path

from jobforge_dagster.batches.code import package_modules

PACKAGE = Path(__file__).resolve().parents[1] / "jobforge_dagster"
MODULES = package_modules(PACKAGE)
DAGSTER_PLACES = ("jobforge_dagster.orchestration", "jobforge_dagster.definitions")
MAX_FUNCTION_LINES = 40
MAX_MODULE_LINES = 400


def tree(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text("utf-8"))


def imports(name: str) -> set[str]:
    """Every top-level name a module imports (`dagster`, `jobforge_dagster.x.y`)."""
    found: set[str] = set()
    for node in ast.walk(tree(name)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def package_imports(name: str) -> set[str]:
    return {imported for imported in imports(name) if imported in MODULES and imported != name}


def test_only_orchestration_imports_dagster() -> None:
    importers = {
        name
        for name in MODULES
        if any(imported == "dagster" or imported.startswith(("dagster.", "dagster_")) for imported in imports(name))
    }
    assert importers, "the scan found no Dagster import at all"
    assert {name for name in importers if not name.startswith(DAGSTER_PLACES)} == set()


def test_the_pure_packages_import_without_dagster() -> None:
    """Every module outside orchestration/ imports in a process where `import dagster` fails."""
    pure = sorted(name for name in MODULES if not name.startswith(DAGSTER_PLACES))
    script = (
        "import sys\n"
        "for blocked in ('dagster', 'dagster_duckdb', 'dagster_webserver'):\n"
        "    sys.modules[blocked] = None\n"
        f"import importlib\nfor name in {pure!r}:\n    importlib.import_module(name)\n"
        "print(len([name for name in sys.modules if name.startswith('jobforge_dagster')]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) >= len(pure)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while (member := stack.pop()) != node:
                component.append(member)
            component.append(node)
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycles_finds_a_loop() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle() -> None:
    """`a.b` importing `a.b.c` counts too: a package's __init__ is a module like any other."""
    graph = {name: package_imports(name) for name in MODULES}
    assert sum(map(len, graph.values())) > len(MODULES)
    assert cycles(graph) == []


def imported_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    return [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]


def test_no_package_import_inside_a_function() -> None:
    """Only the package's lazy `defs` (so that importing a pure module never loads Dagster) and the lineage
    exporter's emitter (so that a run that announces nothing never loads the OpenLineage client); an optional
    third-party package (upath, for object storage) may be imported where it is needed."""
    inside = [
        f"{name}:{node.lineno}"
        for name in MODULES
        for function in ast.walk(tree(name))
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any(imported.startswith("jobforge_dagster") for imported in imported_names(node))
    ]
    assert sorted(inside) == ["jobforge_dagster.lineage.exporter:40", "jobforge_dagster:15"]


def test_functions_and_modules_are_short() -> None:
    long_functions = [
        f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for name in MODULES
        for node in ast.walk(tree(name))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    long_modules = [
        f"{name}: {lines} lines"
        for name, path in MODULES.items()
        if (lines := len(path.read_text("utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert (long_functions, long_modules) == ([], [])
