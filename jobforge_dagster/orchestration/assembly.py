"""JobForge's Definitions for a data root and a registry: assets, checks, jobs, sensors, schedule, resources.

`MedallionComponent` (the defs folder's component) calls `build_definitions`; tests call it directly.
"""

from dataclasses import dataclass

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from dagster_duckdb import DuckDBResource

from jobforge_dagster.orchestration.automation import Automation
from jobforge_dagster.orchestration.io_manager import LayerIOManager
from jobforge_dagster.orchestration.keys import FORCE_TAG, MAIN_JOB, NEW_FILES_JOB, REBUILD_JOB, REFRESH_JOB
from jobforge_dagster.orchestration.medallion import medallion_assets
from jobforge_dagster.orchestration.new_files import new_file_assets
from jobforge_dagster.orchestration.oasis_attribute import oasis_attribute_dimension
from jobforge_dagster.orchestration.registry_assets import what_loaded_and_found
from jobforge_dagster.orchestration.resources import (
    DataRootResource,
    GoldQueryResource,
    LineageResource,
    TableStepResource,
)
from jobforge_dagster.orchestration.sensors import (
    AUTOMATION_SENSOR_INTERVAL,
    daily_schedule,
    sensor_interval,
    source_sensor,
)
from jobforge_dagster.orchestration.source_versions import source_asset
from jobforge_dagster.registry.file import SourceRegistry, registry_file
from jobforge_dagster.registry.names import OASIS_RATINGS
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.tables import SourceTables, collect_tables, list_source_files
from jobforge_dagster.storage.data_root import DataRoot


def in_process_or_multiprocess() -> dg.ExecutorDefinition:
    """Dagster's `multi_or_in_process_executor` with in-process as the default: run config may still choose
    `execution: {config: {multiprocess: {max_concurrent: N}}}` (one process per step)."""
    stock = dg.multi_or_in_process_executor
    return dg.ExecutorDefinition(
        name="in_process_or_multiprocess",
        config_schema=dg.Field(stock.config_schema.config_type, default_value={"in_process": {}}),
        requirements=stock.get_requirements,
        executor_creation_fn=stock.executor_creation_fn,
        description="In-process unless the run config chooses multiprocess.",
    )


@dataclass(frozen=True)
class TableAssets:
    """Every layer asset (the graph is the same whatever files exist), the assets of tables whose source is
    present (what the main job runs), and those tables."""

    everything: list[dg.AssetsDefinition]
    runnable: list[dg.AssetsDefinition]
    present: list[TableSpec]


def table_assets(root: DataRoot, sources: SourceTables) -> TableAssets:
    """Each table's layer assets; a refused registry entry's stand-in fails saying why."""
    tables = sources.tables
    matched = {table.name for name in list_source_files(root.source_dir()) for table in sources.index.matching(name)}
    present = [spec for spec in tables if spec.name in matched]
    referenced = {table for spec in tables for table in spec.referenced_tables() - {spec.gold_table}}
    by_table = {
        spec.name: medallion_assets(spec, spec.gold_table in referenced, sources.refusals.get(spec.name))
        for spec in tables
    }
    everything, runnable = list(by_table.values()), [by_table[spec.name] for spec in present]
    if (attributes := oasis_attribute_dimension(tables)) is not None:
        everything.append(attributes)
        if all(spec in present for spec in tables if spec.gold_transform == OASIS_RATINGS):
            runnable.append(attributes)
    return TableAssets(everything, runnable, present)


def automation_sensor(observed: list[dg.SourceAsset]) -> dg.AutomationConditionSensorDefinition:
    """Evaluates the automation conditions: always the checks that re-run when a gold table they read changes;
    the layer assets and source observations only when the component turns automation on."""
    return dg.AutomationConditionSensorDefinition(
        "jobforge_automation",
        target=dg.AssetSelection.all() | dg.AssetSelection.assets(*(source.key for source in observed)),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=sensor_interval(AUTOMATION_SENSOR_INTERVAL),
        description="Declarative automation: re-checks after a referenced gold table changes; with `automation:` "
        "in the component's defs.yaml, materializes unsynced tables.",
    )


def resources(root: DataRoot) -> dict[str, object]:
    """The data root; the IO manager that writes layers under it; DuckDB serving gold to checks and queries."""
    duckdb = DuckDBResource(database=":memory:")
    return {
        "data_root": (data_root := DataRootResource.of(root)),
        "lineage": (lineage := LineageResource(data_root=data_root)),
        "io_manager": LayerIOManager(data_root=data_root, lineage=lineage),
        "duckdb": duckdb,
        "gold": (gold := GoldQueryResource(data_root=data_root, duckdb=duckdb)),
        "table_step": TableStepResource(data_root=data_root, gold=gold, lineage=lineage),
    }


def asset_jobs(
    runnable: list[dg.AssetsDefinition],
    family: dg.AssetsDefinition,
    found: list[dg.SourceAsset],
    checks: list[dg.AssetChecksDefinition],
) -> list[UnresolvedAssetJobDefinition]:
    """`medallion_pipeline` (tables with a source file at load; the registry and source folder observed and
    checked), `rebuild` (the same tables, current layers rebuilt too), `table_refresh` (one loaded table per run)
    and `new_file_refresh` (one partition of the `new_files` family per run: a partitioned job, apart)."""
    executor, observed = in_process_or_multiprocess(), dg.AssetSelection.assets(*(asset.key for asset in found))
    aside = dg.AssetSelection.assets(family) | observed | dg.AssetSelection.checks(*checks)
    return [
        dg.define_asset_job(
            MAIN_JOB,
            selection=dg.AssetSelection.assets(*runnable) | observed | dg.AssetSelection.checks(*checks),
            executor_def=executor,
            description="Every table with a source file in source/: staged -> bronze -> silver -> gold, then checks.",
        ),
        dg.define_asset_job(
            REBUILD_JOB,
            selection=dg.AssetSelection.assets(*runnable),
            executor_def=executor,
            tags={FORCE_TAG: "true"},
            description="The main job's tables, rebuilt even when current (choose the assets in the launchpad).",
        ),
        dg.define_asset_job(
            REFRESH_JOB,
            selection=dg.AssetSelection.all() - aside,
            executor_def=executor,
            description="Target of the new_source_files sensor: each run selects one table's four layers and checks.",
        ),
        dg.define_asset_job(
            NEW_FILES_JOB,
            selection=dg.AssetSelection.assets(family),
            executor_def=executor,
            description="Target of the new_source_files sensor for a file that arrived after loading: one "
            "partition (its default table) per run.",
        ),
    ]


def build_definitions(
    root: DataRoot | None = None,
    registry: SourceRegistry | None = None,
    automation: Automation | None = None,
    registry_name: str | None = None,
) -> dg.Definitions:
    """Definitions for a data root (default: from the environment), a registry (default: `$JOBFORGE_REGISTRY` or the
    bundled sample's; `registry_name` names it in messages) and, optionally, declarative automation of the layer
    assets."""
    root, registry = root or DataRoot.from_env(), registry or SourceRegistry.load()
    registry_name = registry_name or registry_file().name
    sources = collect_tables(registry, root.source_dir())
    tables = table_assets(root, sources)
    everything = tables.everything
    observed = [source_asset(spec, automation.observe_cron if automation else None) for spec in sources.tables]
    if automation is not None:
        everything = [automation.apply(assets) for assets in everything]
    family = new_file_assets(sources)
    found, checks = what_loaded_and_found(registry, sources, tables.present, registry_name)
    medallion_pipeline, rebuild, table_refresh, new_file_refresh = asset_jobs(tables.runnable, family, found, checks)
    return dg.Definitions(
        assets=[*found, *observed, *everything, family],
        asset_checks=checks,
        jobs=[medallion_pipeline, rebuild, table_refresh, new_file_refresh],
        sensors=[
            source_sensor(sources, [table_refresh, new_file_refresh], sensor_interval()),
            automation_sensor(observed),
        ],
        schedules=[daily_schedule(medallion_pipeline)],
        resources=resources(root),
        executor=dg.in_process_executor,
    )
