"""The `new_files` family: staged, bronze, silver and gold of files that arrived after the code location loaded.

A file in source/ that no loaded table matches gets a partition of `DynamicPartitionsDefinition("new_files")`,
keyed by its default table name; the new-source-files sensor adds the partition and requests its run in the
same tick. The step builds the file's default `TableSpec` from the partition key at run time and hands it to
`materialize_table`, so the layers land where that table's own would (`gold/<table>.parquet`), with the same
provenance, catalog, lineage, batches and checks. Definitions stay as loaded; a reload gives the file its own
table and assets over the same files.
"""

import warnings
from collections.abc import Iterator

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetObservation,
    AssetsDefinition,
    DynamicPartitionsDefinition,
    Failure,
    Output,
    PreviewWarning,
    multi_asset,
)

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.layers import Layer
from jobforge_dagster.orchestration.checks import check_specs
from jobforge_dagster.orchestration.keys import medallion_op, table_keys, table_pool
from jobforge_dagster.orchestration.medallion import TableRunConfig, layer_deps, layer_outs, materialize_table
from jobforge_dagster.orchestration.resources import (
    TableStepResource,
)
from jobforge_dagster.quality.rules import table_rule_groups
from jobforge_dagster.registry.names import NEW_FILES
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.arrivals import partition_table
from jobforge_dagster.sources.tables import SourceTables
from jobforge_dagster.storage.data_root import DataRoot

NEW_FILE_PARTITIONS = DynamicPartitionsDefinition(name=NEW_FILES)

#: The family as a table: its asset keys (`<layer>/new_files`), outputs and checks are those every default
#: table gets.
FAMILY = TableSpec(
    name=NEW_FILES,
    pattern="",
    declared=False,
    description="Files that arrived in source/ after the code location loaded, one partition per file (the "
    "partition key is its default table name)",
)


def partitioned_checks(family: TableSpec) -> list[AssetCheckSpec]:
    """The family's gold checks, one result per partition (Dagster marks partitioned checks as preview)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        specs = check_specs(table_rule_groups(family), table_keys(family)[Layer.GOLD])
        return [
            AssetCheckSpec(
                spec.name,
                asset=spec.asset_key,
                description=spec.description,
                blocking=spec.blocking,
                additional_deps=spec.additional_deps,
                partitions_def=NEW_FILE_PARTITIONS,
            )
            for spec in specs
        ]


def partition_spec(context: AssetExecutionContext, sources: SourceTables, root: DataRoot) -> TableSpec:
    """The partition's default table, built now; a Dagster `Failure` saying why there is none (a run without a
    partition key included)."""
    if not context.has_partition_key or not context.partition_key:
        raise Failure(
            description=f"a run of the {NEW_FILES} family needs a partition key: the default table name of one file "
            "in source/ (`sub_my_file` for source/sub/My File.csv), as the new_source_files sensor gives it"
        )
    try:
        spec = partition_table(context.partition_key, sources, root.source_dir())
    except SourceDataError as error:
        raise Failure(description=str(error), metadata={"file": error.file}) from error
    context.log.info(f"partition {context.partition_key!r}: {spec.pattern} as table {spec.name!r} (defaults)")
    return spec


def new_file_assets(sources: SourceTables) -> AssetsDefinition:
    """The four layer assets of every file that arrives after loading, one partition per file."""
    keys = table_keys(FAMILY)

    @multi_asset(
        name=medallion_op(NEW_FILES),
        outs=layer_outs(FAMILY),
        internal_asset_deps=layer_deps(FAMILY, observed=False),
        check_specs=partitioned_checks(FAMILY),
        partitions_def=NEW_FILE_PARTITIONS,
        can_subset=True,
        pool=table_pool(NEW_FILES),
    )
    def _new_files(
        context: AssetExecutionContext, table_step: TableStepResource, config: TableRunConfig
    ) -> Iterator[Output | AssetCheckResult | AssetObservation]:
        step = table_step.get()
        yield from materialize_table(context, step, partition_spec(context, sources, step.root), config, keys)

    return _new_files
