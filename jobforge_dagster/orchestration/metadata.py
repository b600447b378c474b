"""JobForge's facts as the metadata Dagster's UI shows: tables, transitions and what each layer's step found."""

from dagster import (
    AssetKey,
    MetadataValue,
    TableColumn,
    TableColumnConstraints,
    TableColumnDep,
    TableColumnLineage,
    TableSchema,
)

from jobforge_dagster.build.output import PublishedLayer
from jobforge_dagster.build.steps import StepReport
from jobforge_dagster.catalog.models import TableMetadata, TransitionFacts
from jobforge_dagster.orchestration.keys import STATUS_KEY
from jobforge_dagster.storage.data_root import DataRoot


def table_metadata_for_dagster(table: TableMetadata, uri: str) -> dict[str, MetadataValue]:
    """The catalog facts of a written table as metadata Dagster's UI understands."""
    schema = TableSchema(
        columns=[
            TableColumn(
                name=column.name,
                type=column.data_type,
                description=column.shown_description(),
                constraints=TableColumnConstraints(nullable=column.nullable),
            )
            for column in table.columns
        ]
    )
    return {
        "dagster/row_count": MetadataValue.int(table.row_count),
        "dagster/column_schema": MetadataValue.table_schema(schema),
        "dagster/uri": MetadataValue.url(uri),
        "dagster/table_name": MetadataValue.text(f"{table.layer}.{table.table_name}"),
        "dagster/storage_kind": MetadataValue.text("parquet"),
        "path": MetadataValue.path(table.file_path),
        "file_size_bytes": MetadataValue.int(table.file_size_bytes),
    }


def transition_metadata_for_dagster(facts: TransitionFacts) -> dict[str, MetadataValue]:
    """A transition's facts as display metadata (written by the IO manager after the file is in place)."""
    metadata: dict[str, MetadataValue] = {
        "batch_id": MetadataValue.text(facts.batch_id),
        "source_sha256": MetadataValue.text(facts.source_sha256),
        "source_layer": MetadataValue.text(facts.source_layer),
        "source_files": MetadataValue.json(facts.source_files),
        "transforms": MetadataValue.json(facts.transforms),
        "quarantined_rows": MetadataValue.int(facts.quarantined_rows),
    }
    if facts.rows_in is not None:
        metadata["rows_in"] = MetadataValue.int(facts.rows_in)
    if facts.quarantine_file is not None:
        metadata["quarantine_file"] = MetadataValue.text(facts.quarantine_file)
    return metadata


def step_metadata(report: StepReport, staged_key: AssetKey) -> dict[str, MetadataValue]:
    """What a layer's step found, as display metadata; bronze's column lineage points at its staged asset."""
    metadata: dict[str, MetadataValue] = {}
    if report.column_mapping is not None:
        lineage = TableColumnLineage(
            deps_by_column={
                new: [TableColumnDep(asset_key=staged_key, column_name=old)]
                for old, new in report.column_mapping.items()
            }
        )
        metadata["dagster/column_lineage"] = MetadataValue.column_lineage(lineage)
        metadata["renamed_columns"] = MetadataValue.json(report.renamed_columns)
    figures = {
        "schema_drift": report.schema_drift,
        "null_tokens": report.null_tokens,
        "repaired_codes": report.repaired_codes,
        "inferred_types": report.inferred_types,
        "input_batches": report.input_batches,
    }
    return metadata | {name: MetadataValue.json(value) for name, value in figures.items() if value is not None}


def published_metadata(
    root: DataRoot, published: PublishedLayer, version: str, table: TableMetadata | None
) -> dict[str, MetadataValue]:
    """A current layer as Dagster shows it: the published file's catalog entry (rows, columns, path), its batch,
    marked current (nothing rewritten)."""
    path = root.table_path(published.layer, published.table)
    described = table_metadata_for_dagster(table, root.storage.uri(path)) if table is not None else {}
    return {
        STATUS_KEY: MetadataValue.text("current"),
        "batch_id": MetadataValue.text(published.batch_id),
        "table_version": MetadataValue.text(version),
        "path": MetadataValue.path(root.relative(path)),
    } | described
