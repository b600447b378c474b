"""The code that decides what a layer file holds, found from the package's own imports, and its digest.

The build steps' modules (`jobforge_dagster.build`) and every package module they import, directly or not, are
that code. Each module counts by its syntax tree without imports and docstrings, so moving a module (which only
rewrites import lines) leaves the digest as it was, and any edit to the code (a comment too) changes it. The
data dictionary's files count by their text.
"""

import ast
import contextlib
import hashlib
from pathlib import Path

from pydantic import BaseModel

from jobforge_dagster.storage.atomic import atomic_path

PACKAGE_NAME = "jobforge_dagster"
PACKAGE = Path(__file__).resolve().parents[1]
#: Where the code that shapes layer output starts; the modules it imports are followed from here.
OUTPUT_ROOTS = ("build",)
#: Package data that shapes layer output too: the data dictionary (gold's catalog entries) and the OaSIS guide
#: aliases (dim_oasis_attribute). The registry file is not one: each table's own entry is in its version.
OUTPUT_DATA = ("dictionary/glossary.yaml", "dictionary/tables.yaml", "dictionary/oasis_aliases.yaml")
#: The digest kept beside Python's bytecode, in the package's `__pycache__`.
CACHE_NAME = "jobforge-output-code.json"


class KeptDigest(BaseModel):
    """The output code's digest and the state of the package's files it was computed from."""

    files: str
    digest: str


def package_modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package (a copy of it too) by dotted name: `jobforge_dagster.build.steps`, a package by
    its own name."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = (PACKAGE_NAME, *path.relative_to(package).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported(tree: ast.Module, modules: dict[str, Path]) -> set[str]:
    """The package modules a module imports at its top level (`from a.b import c` names `a.b.c` when that is a
    module); the package imports nothing inside functions."""
    found: set[str] = set()
    for node in tree.body:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found |= {name for name in names if name in modules}
    return found


def output_trees(package: Path = PACKAGE, roots: tuple[str, ...] = OUTPUT_ROOTS) -> dict[str, tuple[str, ast.Module]]:
    """The modules under `roots` and every package module they import, directly or not: name -> (source, tree)."""
    modules = package_modules(package)
    prefixes = tuple(f"{PACKAGE_NAME}.{root}" for root in roots)
    pending = [name for name in modules if name.startswith(prefixes)]
    seen: dict[str, tuple[str, ast.Module]] = {}
    while pending:
        name = pending.pop()
        if name not in seen:
            source = modules[name].read_text("utf-8")
            seen[name] = (source, ast.parse(source))
            pending += imported(seen[name][1], modules) - seen.keys()
    return seen


def is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def skipped_lines(body: list[ast.stmt]) -> set[int]:
    """The lines of the import statements and docstrings of a body and of the classes and functions it defines."""
    skipped: set[int] = set()
    if body and is_docstring(body[0]):
        skipped |= set(range(body[0].lineno, body[0].end_lineno + 1))
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            skipped |= set(range(node.lineno, node.end_lineno + 1))
        elif isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            skipped |= skipped_lines(node.body)
    return skipped


def behaviour(source: str, tree: ast.Module) -> str:
    """A module's text without its imports and docstrings: what the code does (comments count too)."""
    skipped = skipped_lines(tree.body)
    return "\n".join(line for number, line in enumerate(source.splitlines(), 1) if number not in skipped)


def code_digest(package: Path = PACKAGE, roots: tuple[str, ...] = OUTPUT_ROOTS) -> str:
    """sha256 over the behaviour of every output module, in an order that does not depend on their names, and
    the text of the output data files the package has."""
    parts = sorted(behaviour(source, tree) for source, tree in output_trees(package, roots).values())
    data = [(package / name).read_text("utf-8") for name in OUTPUT_DATA if (package / name).is_file()]
    return hashlib.sha256("\0".join(parts + data).encode()).hexdigest()


def files_state(package: Path = PACKAGE) -> str:
    """sha256 over the path, size and modification time of every module and YAML file of the package."""
    entries = sorted(
        f"{path.relative_to(package)}\0{stat.st_size}\0{stat.st_mtime_ns}"
        for path in package.rglob("*")
        if path.suffix in {".py", ".yaml"} and "__pycache__" not in path.parts and (stat := path.stat())
    )
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()


def kept_code_digest(package: Path = PACKAGE) -> str:
    """`code_digest(package)`, kept in the package's `__pycache__` while none of its files changed size or
    modification time (as Python keeps bytecode); computed each time where that folder cannot be written."""
    state, kept_file = files_state(package), package / "__pycache__" / CACHE_NAME
    with contextlib.suppress(OSError, ValueError):
        kept = KeptDigest.model_validate_json(kept_file.read_bytes())
        if kept.files == state:
            return kept.digest
    digest = code_digest(package)
    with contextlib.suppress(OSError), atomic_path(kept_file, durable=False) as temporary:
        temporary.write_text(KeptDigest(files=state, digest=digest).model_dump_json())
    return digest
