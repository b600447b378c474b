"""JobForge's facts as the metadata Dagster's UI shows: tables, transitions and what each layer's step found, and
the data dictionary on the asset specs (descriptions, owners, the gold column schema with each column's meaning)."""

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
from jobforge_dagster.catalog.models import ColumnMetadata, TableMetadata, TransitionFacts
from jobforge_dagster.dictionary.model import default_dictionary
from jobforge_dagster.dictionary.text import column_bilingual, table_markdown
from jobforge_dagster.layers import PROVENANCE_COLUMNS, Layer
from jobforge_dagster.orchestration.keys import STATUS_KEY
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.storage.data_root import DataRoot

#: What each layer is, under the table's own description.
LAYER_DESCRIPTIONS = {
    Layer.STAGED: "Source as it is: every value the string in the file, plus row provenance.",
    Layer.BRONZE: "Unique snake_case column names, null tokens, declared renames and casts.",
    Layer.SILVER: "Trimmed, blanks as null, validated and de-duplicated on the key; rejects in quarantine.",
    Layer.GOLD: "The published table: each column's meaning in English and French is in the Columns table.",
}
UNDECLARED = (
    "A source file with no registry entry: columns are named from its header and typed from its text; what they "
    "mean is not documented."
)


def asset_description(table: str, layer: Layer, undocumented: str = UNDECLARED, refusal: str | None = None) -> str:
    """The dictionary's purpose, publisher, licence and edition of the table (at every layer), then what the layer
    is; `undocumented` stands in for a table the dictionary does not declare; a refused registry entry says why."""
    dictionary = default_dictionary()
    about = table_markdown(dictionary.table_doc(table)) if dictionary.is_declared(table) else undocumented
    if refusal:
        about = f"REFUSED registry entry, nothing is loaded: {refusal}"
    return f"{about}\n\n**{layer.value}**: {LAYER_DESCRIPTIONS[layer]}"


def registry_description(spec: TableSpec) -> str:
    """What the registry says of a table the dictionary does not declare."""
    return spec.description or (spec.name if spec.declared else UNDECLARED)


def table_owners(table: str) -> list[str] | None:
    dictionary = default_dictionary()
    return [dictionary.table_doc(table).owner] if dictionary.is_declared(table) else None


def spec_metadata(table: str) -> dict[str, MetadataValue] | None:
    """A declared gold table's columns with their meaning in English and French (`dagster/column_schema` on the
    asset spec, sent once per code-location load); the UI takes types from the latest materialization and the
    descriptions from here."""
    dictionary = default_dictionary()
    if not dictionary.is_declared(table):
        return None
    columns = [*dictionary.table_entry(table).columns, *PROVENANCE_COLUMNS]
    described = [dictionary.column_doc(table, column) for column in columns]
    schema = TableSchema(
        columns=[TableColumn(name=doc.column, type="", description=column_bilingual(doc)) for doc in described]
    )
    return {"dagster/column_schema": MetadataValue.table_schema(schema)}


def materialized_description(table: TableMetadata, column: ColumnMetadata) -> str | None:
    """A column's description on a materialization: none for a declared gold table (its asset spec has them),
    else the catalog's (an undeclared gold column's header and guessed role, a type inferred from text)."""
    if table.layer == Layer.GOLD.value and default_dictionary().is_declared(table.table_name):
        return None
    if column.description_en or column.description_fr:
        return column_bilingual(column)
    return column.shown_description()


def table_metadata_for_dagster(table: TableMetadata, uri: str) -> dict[str, MetadataValue]:
    """The catalog facts of a written table as metadata Dagster's UI understands."""
    schema = TableSchema(
        columns=[
            TableColumn(
                name=column.name,
                type=column.data_type,
                description=materialized_description(table, column),
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
