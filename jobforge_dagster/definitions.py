"""The one place that assembles JobForge's Definitions."""

from dagster import AssetsDefinition, AssetSelection, Definitions, define_asset_job, in_process_executor
from dagster_duckdb import DuckDBResource

from jobforge_dagster.assets import medallion_assets, oasis_attribute_dimension
from jobforge_dagster.config import JobForgeConfig
from jobforge_dagster.io_manager import ProvenanceParquetIOManager
from jobforge_dagster.registry import SourceRegistry, TableSpec, list_source_files
from jobforge_dagster.sensors import daily_schedule, sensor_interval, source_sensor

MAIN_JOB = "medallion_pipeline"
REFRESH_JOB = "table_refresh"


def has_source(spec: TableSpec, files: list[str]) -> bool:
    return any(spec.matches(name) for name in files)


def build_definitions(config: JobForgeConfig | None = None, registry: SourceRegistry | None = None) -> Definitions:
    """Definitions for a data root (default: from the environment) and a registry (default: sources.yaml).

    Every registry table gets its assets, so the graph is the same whatever files are present;
    `medallion_pipeline` selects the tables whose source file is in `source/` when the code location loads.
    """
    config = config or JobForgeConfig.from_env()
    registry = registry or SourceRegistry.load()
    files = list_source_files(config.source_dir())
    tables = registry.with_unregistered(config.source_dir())
    table_assets = {spec.name: medallion_assets(spec) for spec in tables}
    present: list[AssetsDefinition] = [table_assets[spec.name] for spec in tables if has_source(spec, files)]
    models = []
    attributes = oasis_attribute_dimension(tables)
    if attributes is not None:
        models.append(attributes)
        if all(has_source(spec, files) for spec in tables if spec.gold_transform == "oasis_long"):
            present.append(attributes)
    medallion_pipeline = define_asset_job(
        MAIN_JOB,
        selection=AssetSelection.assets(*present),
        executor_def=in_process_executor,
        description="Every table with a source file in source/: staged -> bronze -> silver -> gold, then checks.",
    )
    table_refresh = define_asset_job(
        REFRESH_JOB,
        selection=AssetSelection.all(),
        executor_def=in_process_executor,
        description="Target of the new_source_files sensor: each run selects one table's four layers and checks.",
    )
    return Definitions(
        assets=[*table_assets.values(), *models],
        jobs=[medallion_pipeline, table_refresh],
        sensors=[source_sensor(tables, table_refresh, sensor_interval())],
        schedules=[daily_schedule(medallion_pipeline)],
        resources={
            "jobforge": config,
            "io_manager": ProvenanceParquetIOManager(jobforge=config),
            "duckdb": DuckDBResource(database=":memory:"),
        },
        executor=in_process_executor,
    )


defs = build_definitions()
