"""A code location's tables: the registry's, plus a default table for each source file no entry matches;
and the one source file that feeds a table."""

import fnmatch
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.names import RESERVED, table_name_for
from jobforge_dagster.registry.patterns import PatternIndex, literal_path, literal_prefix
from jobforge_dagster.registry.problems import RegistryProblem
from jobforge_dagster.registry.spec import MAX_TABLE_NAME, TableSpec
from jobforge_dagster.sources.scan import SourceFile, scan_source, source_file_at
from jobforge_dagster.storage.paths import DataPath, is_remote

LOG = logging.getLogger(__name__)


def default_table_name(relative: str) -> str:
    """`sub/My File.csv` -> `sub_my_file`: the path under source/ without its suffix, made a safe identifier."""
    return table_name_for(str(PurePosixPath(relative).with_suffix("")))


def literal_pattern(relative: str) -> str:
    """A pattern matching exactly `relative`: `[`, `*` and `?` in a file name are taken as they are."""
    return re.sub(r"([\[*?])", r"[\1]", relative)


def claimed_names(tables: Iterable[TableSpec], reserved: Iterable[str] | Mapping[str, str]) -> dict[str, str]:
    """Table name -> what holds it: a model (or what `reserved` maps the name to), a table (its name in staged,
    bronze and silver), a gold name."""
    taken = dict(reserved) if isinstance(reserved, Mapping) else {name: f"the model {name!r}" for name in reserved}
    for table in tables:
        taken[table.name] = f"table {table.name!r}"
        taken.setdefault(table.gold_table, f"the gold name of table {table.name!r}")
    return taken


def name_refusal(name: str, taken: dict[str, str]) -> str | None:
    """Why a file cannot have the default table `name`, or None."""
    if len(name) > MAX_TABLE_NAME:
        return (
            f"refused: its default table name would be {len(name)} characters long (at most {MAX_TABLE_NAME}); "
            "rename it or declare it in the registry"
        )
    if name in taken:
        return (
            f"refused: its default table name {name!r} is {taken[name]}; declare it in the registry under another name"
        )
    return None


def default_tables(candidates: dict[str, list[SourceFile]], refused: dict[str, str]) -> list[TableSpec]:
    """A default table per name one file alone would take; files sharing a name are all refused, since which
    one is meant cannot be told (and a newcomer must not take over a table)."""
    tables = []
    for name, files in candidates.items():
        if len(files) == 1:
            tables.append(TableSpec(name=name, pattern=literal_pattern(files[0].relative), declared=False))
            continue
        for file in files:
            others = ", ".join(other.display for other in files if other is not file)
            refused[file.display] = f"refused: its default table name {name!r} is also that of {others}; rename one"
    return tables


def registry_refusal(relative: str, problems: list[RegistryProblem]) -> str | None:
    """Why a file no loaded entry matches gets no default table because of the registry: the entry whose pattern
    matches it was refused (it is not loaded with defaults instead), or the registry cannot be read at all."""
    for problem in problems:
        if problem.pattern is not None and fnmatch.fnmatchcase(relative, problem.pattern):
            return f"refused: its registry entry is refused ({problem}); fix the entry, then reload the code location"
    unreadable = next((problem for problem in problems if problem.table is None and problem.field is None), None)
    if unreadable is not None:
        return f"refused: the registry cannot be read ({unreadable}), so which files it declares is unknown"
    return None


@dataclass(frozen=True)
class SourceTables:
    """A code location's tables, the files refused one (`source/...` -> why), the names taken, and the
    registry's refused entries."""

    tables: list[TableSpec]
    refused: dict[str, str]
    taken: dict[str, str]
    problems: list[RegistryProblem] = field(default_factory=list)
    refusals: dict[str, str] = field(default_factory=dict)  # stand-in of a refused entry -> why it is refused

    @cached_property
    def index(self) -> PatternIndex:
        return PatternIndex(self.tables)

    def spec_for(self, relative_path: str) -> TableSpec | None:
        """The first table whose pattern matches a path relative to source/."""
        return self.index.first(relative_path)

    def refusal(self, file: SourceFile) -> str | None:
        """Why a file no table matches has none: as found when the tables were collected, else checked now
        (for a file that arrived since); None for a file a reload would give a default table."""
        if file.display in self.refused:
            return self.refused[file.display]
        found = file.problem or registry_refusal(file.relative, self.problems)
        return found or name_refusal(default_table_name(file.relative), self.taken)


def list_source_files(source_dir: Path) -> list[str]:
    """Regular source files (or links to them) that may be read, under `source_dir`, as sorted POSIX paths
    relative to it."""
    return sorted(file.relative for file in scan_source(source_dir) if file.problem is None and file.path.is_file())


def find_source_file(spec: TableSpec, source_dir: Path) -> Path | None:
    """The one source file a table's pattern matches, None if there is none; several is an error, and so is
    a file refused before any read (a FIFO, a device, a link out of the folder, a name that is not UTF-8).
    A pattern without wildcards is one stat; otherwise only the files starting as the pattern does are stat'ed."""
    literal = literal_path(spec.pattern)
    if literal is not None and "/" not in literal and not is_remote(source_dir):
        matches = [found] if (found := source_file_at(source_dir, literal)) is not None else []
    else:
        listed = scan_source(source_dir, literal_prefix(spec.pattern))
        matches = sorted((file for file in listed if spec.matches(file.relative)), key=lambda f: f.key)
    if len(matches) > 1:
        raise ValueError(
            f"table {spec.name!r}: pattern {spec.pattern!r} matches {len(matches)} files in {source_dir}: "
            f"{[file.key for file in matches[:5]]}; a table takes one source file"
        )
    if not matches:
        return None
    if matches[0].problem is not None:
        raise SourceDataError(matches[0].problem, file=matches[0].display)
    return matches[0].path


def stand_ins(problems: list[RegistryProblem], taken: Mapping[str, str]) -> dict[str, tuple[TableSpec, str]]:
    """A stand-in table for each refused entry with a safe, free name and a valid file pattern, with the refusal:
    its file stays its own (never loaded with defaults instead) and its step fails saying why."""
    found: dict[str, tuple[TableSpec, str]] = {}
    for table, refused in group_by_table(problems).items():
        pattern = next((problem.pattern for problem in refused if problem.pattern), None)
        if pattern is None or table in taken:
            continue
        try:
            spec = TableSpec(name=table, pattern=pattern, description=f"refused registry entry {table!r}")
        except ValueError:
            continue
        found[table] = (spec, "; ".join(str(problem) for problem in refused))
    return found


def group_by_table(problems: list[RegistryProblem]) -> dict[str, list[RegistryProblem]]:
    by_table: dict[str, list[RegistryProblem]] = {}
    for problem in problems:
        if problem.table is not None:
            by_table.setdefault(problem.table, []).append(problem)
    return by_table


def collect_tables(
    registry: SourceRegistry, source_dir: Path, reserved: Iterable[str] | Mapping[str, str] = RESERVED
) -> SourceTables:
    """Declared tables, a stand-in for each refused entry (see `stand_ins`), and a default table for each
    source file that no pattern matches. A file refused before any read, matched by a refused entry without a
    stand-in, or whose default name is taken (by a declared or refused table or gold name, by a `reserved`
    model, by another file) or too long, gets no table; it is logged with the reason, and the rest load."""
    taken = claimed_names(registry.tables, reserved)
    standing = stand_ins(registry.problems, taken)
    declared = [*registry.tables, *(spec for spec, _ in standing.values())]
    index = PatternIndex(declared)
    taken = {p.table: f"the refused registry entry {p.table!r}" for p in registry.problems if p.table} | taken
    candidates: dict[str, list[SourceFile]] = {}
    refused: dict[str, str] = {}
    for file in sorted(scan_source(source_dir), key=lambda file: file.key):
        if index.first(file.relative) is not None or (file.problem is None and not file.path.is_file()):
            continue  # declared (its run refuses a bad file), or a dangling link
        name = default_table_name(file.relative)
        if reason := file.problem or registry_refusal(file.relative, registry.problems) or name_refusal(name, taken):
            refused[file.display] = reason
        else:
            candidates.setdefault(name, []).append(file)
    defaults = default_tables(candidates, refused)
    for problem in registry.problems:
        LOG.warning(f"registry entry refused: {problem}")
    for display, reason in refused.items():
        LOG.warning(f"{display}: {reason}")
    refusals = {name: reason for name, (_, reason) in standing.items()}
    taken |= claimed_names(defaults, ())
    return SourceTables([*declared, *defaults], refused, taken, registry.problems, refusals)


@dataclass
class TableFiles:
    """One table's source file, looked for once per step and shared by change detection and the batch."""

    spec: TableSpec
    source_dir: DataPath

    @cached_property
    def source(self) -> DataPath | None:
        """The one file the table's pattern matches, None if there is none (several, or a refused file, is an
        error; see `find_source_file`)."""
        return find_source_file(self.spec, self.source_dir)
