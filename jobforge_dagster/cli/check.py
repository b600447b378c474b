"""`jobforge check`: the registry and the source folder validated without running anything, for a pre-commit
hook or CI. Exit status 0, or 1 with every problem listed.

    jobforge check [--registry FILE_OR_NAME]
"""

import argparse

from jobforge_dagster.intake.check import check_sources
from jobforge_dagster.registry.file import SourceRegistry, registry_file
from jobforge_dagster.storage.data_root import DataRoot

NAME = "check"


def add_parser(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser(NAME, help="validate the registry and the source folder, running nothing")
    check.add_argument("--registry", help="the registry: a YAML file or a bundled name (default: $JOBFORGE_REGISTRY)")


def run(arguments: argparse.Namespace, root: DataRoot) -> tuple[int, str]:
    registry = SourceRegistry.load(arguments.registry)
    report = check_sources(registry, root)
    summary = (
        f"{len(registry.tables)} registry entries loaded from {registry_file(arguments.registry)}; "
        f"{len(report.checked)} tables "
        f"checked against their file in {root.source_dir()}; {len(report.without_file)} without a file"
    )
    if not report.problems:
        return 0, f"ok: {summary}"
    listed = "\n".join(f"  {problem}" for problem in report.problems)
    return 1, f"{len(report.problems)} problem(s):\n{listed}\n{summary}"
