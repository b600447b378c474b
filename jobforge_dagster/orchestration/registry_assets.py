"""The registry file and the source folder as two observable assets of the `jobforge` group, each observed and
checked in every run of the main job, so that what the code location loaded and what a run finds are seen in the UI
without reading a traceback.

- `jobforge/registry`: its description and observation list the refused entries (file, line, table, field); its
  check `entries_valid` fails (severity ERROR) naming each.
- `jobforge/source_folder`: its observation says which tables have a file; its check `files_found` fails the run
  when the data root does not exist or no table of the job has a source file, naming where it looked and the
  variables that choose it; a partial miss warns.
"""

import hashlib
import warnings
from collections.abc import Callable

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    BetaWarning,
    DataVersion,
    Failure,
    MetadataValue,
    ObserveResult,
    SourceAsset,
    asset_check,
    observable_source_asset,
)

from jobforge_dagster.orchestration.keys import FILES_CHECK, REGISTRY_CHECK, REGISTRY_KEY, SOURCE_FOLDER_KEY
from jobforge_dagster.orchestration.resources import DataRootResource
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.problems import RegistryProblem
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.survey import survey
from jobforge_dagster.sources.tables import SourceTables

GROUP = "jobforge"


def registry_summary(problems: list[RegistryProblem], loaded: int, file: str) -> str:
    """What the registry asset's description and check say: tables loaded, entries refused and why."""
    if not problems:
        return f"{file}: {loaded} tables declared, every entry loaded."
    refused = len({problem.table for problem in problems})
    lines = "\n".join(f"- {problem}" for problem in problems)
    return f"{file}: {refused} entr{'y' if refused == 1 else 'ies'} refused, {loaded} tables loaded.\n\n{lines}"


def digest(text: str) -> DataVersion:
    return DataVersion(hashlib.sha256(text.encode()).hexdigest()[:16])


def observable(key: AssetKey, description: str, kind: str) -> Callable[[Callable[..., ObserveResult]], SourceAsset]:
    """An observable source asset of the `jobforge` group (observable source assets are beta in Dagster 1.13)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        return observable_source_asset(
            key=key, group_name=GROUP, description=description, tags={f"dagster/kind/{kind}": ""}
        )


def registry_asset(problems: list[RegistryProblem], loaded: int, file: str) -> SourceAsset:
    """`jobforge/registry`: the registry file as the code location loaded it; refused entries in its description
    and its observation."""
    summary = registry_summary(problems, loaded, file)

    def registry() -> ObserveResult:
        refused = MetadataValue.json([str(problem) for problem in problems])
        return ObserveResult(
            data_version=digest(summary), metadata={"file": file, "tables_loaded": loaded, "refused": refused}
        )

    return observable(REGISTRY_KEY, summary, "yaml")(registry)


def registry_check(problems: list[RegistryProblem], loaded: int, file: str) -> AssetChecksDefinition:
    """`entries_valid`: fails while an entry of the registry is refused, naming each (also in the run's log)."""

    @asset_check(asset=REGISTRY_KEY, name=REGISTRY_CHECK, description=f"Every entry of {file} loads.")
    def entries_valid(context: AssetCheckExecutionContext) -> AssetCheckResult:
        for problem in problems:
            context.log.error(f"registry entry refused: {problem}")
        return AssetCheckResult(
            passed=not problems,
            severity=AssetCheckSeverity.ERROR,
            description=registry_summary(problems, loaded, file),
            metadata={"refused": MetadataValue.json([str(problem) for problem in problems])},
        )

    return entries_valid


def source_folder_asset(tables: list[TableSpec]) -> SourceAsset:
    """`jobforge/source_folder`: the data root and its source folder; observed, which of `tables` have a file."""

    def source_folder(data_root: DataRootResource) -> ObserveResult:
        found = survey(data_root.get(), tables)
        metadata = {
            "looked_in": found.looked_in,
            "found": len(found.found),
            "missing": MetadataValue.json(found.missing),
        }
        return ObserveResult(data_version=digest(repr((sorted(found.found), found.missing))), metadata=metadata)

    about = (
        "The data root and its source folder ($JOBFORGE_DATA_ROOT, $JOBFORGE_SOURCE_ROOT): which tables have a file."
    )
    return observable(SOURCE_FOLDER_KEY, about, "folder")(source_folder)


def files_check(tables: list[TableSpec]) -> AssetChecksDefinition:
    """`files_found`: the run fails when the data root does not exist or none of `tables` has a source file; a
    table without one is a warning."""

    @asset_check(
        asset=SOURCE_FOLDER_KEY,
        name=FILES_CHECK,
        description="The data root exists and the job's tables have their source files.",
    )
    def files_found(context: AssetCheckExecutionContext, data_root: DataRootResource) -> AssetCheckResult:
        found = survey(data_root.get(), tables)
        if found.nothing:
            raise Failure(description=found.message(), metadata={"looked_in": found.looked_in})
        if found.missing:
            context.log.warning(found.message())
        return AssetCheckResult(
            passed=not found.missing,
            severity=AssetCheckSeverity.WARN,
            description=found.message(),
            metadata={"found": len(found.found), "missing": MetadataValue.json(found.missing)},
        )

    return files_found


def what_loaded_and_found(
    registry: SourceRegistry, sources: SourceTables, present: list[TableSpec], name: str
) -> tuple[list[SourceAsset], list[AssetChecksDefinition]]:
    """The registry and source folder assets, and their checks; `files_found` expects the tables whose file was
    there at load (every loadable table when none was)."""
    loaded = len(registry.tables)
    expected = present or [spec for spec in sources.tables if spec.name not in sources.refusals]
    assets = [registry_asset(registry.problems, loaded, name), source_folder_asset(expected)]
    return assets, [registry_check(registry.problems, loaded, name), files_check(expected)]
