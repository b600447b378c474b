"""`jobforge check`'s work: the registry and the source folder validated without running anything. Every
refused registry entry, every refused file, and every table whose file a run would fail on (its layers built in
memory, as `jobforge add-source --preview` builds them) is a problem."""

from dataclasses import dataclass, field
from pathlib import Path

from jobforge_dagster.intake.preview import preview_table
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.tables import collect_tables, find_source_file
from jobforge_dagster.storage.data_root import DataRoot


@dataclass
class CheckReport:
    """Every problem found, the tables checked against their file, and the tables without one (not a problem:
    a registry may declare files a source folder does not hold)."""

    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    without_file: list[str] = field(default_factory=list)


def check_sources(registry: SourceRegistry, root: DataRoot) -> CheckReport:
    """Validate the registry and the source folder of `root`; nothing is written."""
    report = CheckReport(problems=[str(problem) for problem in registry.problems])
    source = root.source_dir()
    if not source.exists():
        report.problems.append(f"the source folder does not exist: {root.looked_in()}")
        return report
    sources = collect_tables(registry, source)
    report.problems += [f"{display}: {reason}" for display, reason in sources.refused.items()]
    for spec in sources.tables:
        if spec.name not in sources.refusals:
            check_table(spec, root, report)
    return report


def check_table(spec: TableSpec, root: DataRoot, report: CheckReport) -> None:
    """The table's file found and built in memory, layer by layer; what would stop a run is a problem."""
    try:
        path = find_source_file(spec, root.source_dir())
    except ValueError as error:  # several files, or a file refused before any read
        report.problems.append(f"table {spec.name!r}: {error}")
        return
    if path is None:
        report.without_file.append(spec.name)
        return
    display = root.relative(path)
    preview = preview_table(Path(path), spec, display, root, rows=0)
    report.checked.append(spec.name)
    if preview.error:
        report.problems.append(f"table {spec.name!r} ({display}): a run would fail at {preview.error}")
