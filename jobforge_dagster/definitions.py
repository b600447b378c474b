"""The one place that assembles JobForge's Definitions."""

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor
from dagster_duckdb import DuckDBResource

from jobforge_dagster.assets import medallion_assets, oasis_attribute_dimension
from jobforge_dagster.config import JobForgeConfig
from jobforge_dagster.io_manager import ProvenanceParquetIOManager
from jobforge_dagster.registry import SourceRegistry

#: Source to gold for every table. In-process: one Python process runs every step (see README, design notes).
medallion_pipeline = define_asset_job(
    "medallion_pipeline",
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description="Every registered table, source -> staged -> bronze -> silver -> gold.",
)


def build_definitions(config: JobForgeConfig | None = None, registry: SourceRegistry | None = None) -> Definitions:
    """Definitions for a data root (default: from the environment) and a registry (default: sources.yaml)."""
    config = config or JobForgeConfig.from_env()
    registry = registry or SourceRegistry.load()
    tables = registry.with_unregistered(config.source_dir())
    models = [model for model in (oasis_attribute_dimension(tables),) if model is not None]
    return Definitions(
        assets=[*(medallion_assets(spec) for spec in tables), *models],
        jobs=[medallion_pipeline],
        resources={
            "jobforge": config,
            "io_manager": ProvenanceParquetIOManager(jobforge=config),
            "duckdb": DuckDBResource(database=":memory:"),
        },
        executor=in_process_executor,
    )


defs = build_definitions()
