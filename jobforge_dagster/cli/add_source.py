"""`jobforge add-source FILE`: a file just downloaded, understood, previewed and registered in one step.

    jobforge add-source FILE [--name NAME] [--preview] [--write] [--registry FILE_OR_NAME]

Prints what was found in the file (separator, encoding, byte order mark, line endings, header, records, codes
with leading zeros, candidate keys, numbers under each convention, NOC codes) and the registry entry proposed
for it. `--preview` shows the first rows of staged, bronze, silver and gold as a run would build them, and the
rows silver would set aside, without running anything or writing under the data root. `--write` adds the entry
to the registry after validating it, leaving every other entry's text as it was.
"""

import argparse
from pathlib import Path

from jobforge_dagster.intake.preview import preview_table
from jobforge_dagster.intake.proposal import append_entry, proposed_spec
from jobforge_dagster.intake.report import render_preview, render_report
from jobforge_dagster.intake.understand import Intake, known_noc_codes, understand
from jobforge_dagster.registry.file import SourceRegistry, registry_file
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.storage.data_root import DataRoot

NAME = "add-source"


def add_parser(commands: argparse._SubParsersAction) -> None:
    add = commands.add_parser(NAME, help="understand a new file, preview its layers, register it")
    add.add_argument("file", type=Path, help="the file, in the source folder or anywhere (copy it there to load it)")
    add.add_argument("--name", help="the table's name (default: from the file name)")
    add.add_argument("--preview", action="store_true", help="show the first rows of each layer, nothing written")
    add.add_argument("--write", action="store_true", help="add the proposed entry to the registry")
    add.add_argument("--registry", help="the registry: a YAML file or a bundled name (default: $JOBFORGE_REGISTRY)")


def relative_to_source(path: Path, root: DataRoot) -> str:
    """The file's path under the source folder, or its name when it is elsewhere (where it is to be copied)."""
    resolved, source = path.resolve(), Path(str(root.source_dir())).resolve()
    return resolved.relative_to(source).as_posix() if resolved.is_relative_to(source) else path.name


def run(arguments: argparse.Namespace, root: DataRoot) -> tuple[int, str]:
    """(exit status, what to print): 0, or 1 when the preview shows a run would fail or the entry is refused."""
    path: Path = arguments.file
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not a file")
    registry = SourceRegistry.load(arguments.registry)
    registry_path = registry_file(arguments.registry)
    relative = relative_to_source(path, root)
    intake = understand(path, relative, known_noc_codes(root), arguments.name)
    declared = registry.spec_for(relative)
    printed, status = [render_report(intake, declared.name if declared else None)], 0
    if arguments.preview:
        preview = preview_table(path, declared or proposed_spec(intake.entry), f"source/{relative}", root)
        printed.append(render_preview(preview))
        status = 1 if preview.error else 0
    if arguments.write and status:
        printed.append("not written: the preview shows a run would fail; fix the file or the entry first")
    elif arguments.write:
        done, said = write(intake, declared, registry_path, root)
        printed.append(said)
        status = status or (0 if done else 1)
    return status, "\n\n".join(printed)


def write(intake: Intake, declared: TableSpec | None, registry: Path, root: DataRoot) -> tuple[bool, str]:
    """Add the proposed entry to the registry; (whether it was added, what to say)."""
    if declared is not None:
        return False, f"not written: source/{intake.relative} is already declared as table {declared.name!r}"
    loaded = append_entry(registry, intake.entry)
    table = loaded.tables[-1]
    where = root.source_dir() / intake.relative
    copy = "" if where.exists() else f"; copy {intake.path} to {where} so a run finds it"
    return True, f"added table {table.name!r} to {registry}{copy}; reload the code location, then materialize it"
