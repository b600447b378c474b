"""A written parquet file described from its footer (rows, columns, types, null counts), its columns' lineage and,
in gold, the data dictionary."""

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobforge_dagster.catalog.documentation import with_dictionary, with_lineage
from jobforge_dagster.catalog.models import (
    CatalogEntry,
    ColumnMetadata,
    LayerTransitionLog,
    TableMetadata,
    TransitionFacts,
)
from jobforge_dagster.storage.parquet import read_footer, scan_parquet
from jobforge_dagster.storage.paths import as_path

if TYPE_CHECKING:
    import pyarrow.parquet as pq


def parquet_row_count(path: Path) -> int:
    """Row count from the parquet footer, without reading data."""
    return read_footer(path).num_rows


def null_counts(footer: "pq.FileMetaData") -> list[int | None]:
    """Nulls per column from the row-group statistics; None where a row group has no null count."""
    counts: list[int | None] = [0] * footer.num_columns
    for group in range(footer.num_row_groups):
        row_group = footer.row_group(group)
        for index in range(footer.num_columns):
            statistics = row_group.column(index).statistics
            if statistics is None or not statistics.has_null_count or counts[index] is None:
                counts[index] = None
            else:
                counts[index] += statistics.null_count
    return counts


def describe_columns(path: Path, footer: "pq.FileMetaData", inferred: Collection[str] = ()) -> list[ColumnMetadata]:
    """Each column's type and nulls; `inferred` names the columns whose type silver inferred from text."""
    nulls = null_counts(footer)
    schema = scan_parquet(path).collect_schema()
    return [
        ColumnMetadata(
            name=name,
            data_type=str(dtype),
            nullable=nulls[index] is None or nulls[index] > 0,
            null_count=nulls[index],
            inferred_from="string" if name in inferred else None,
        )
        for index, (name, dtype) in enumerate(schema.items())
    ]


def describe_parquet(
    path: Path,
    layer: str,
    entry: CatalogEntry,
    *,
    file_path: str,
    facts: TransitionFacts | LayerTransitionLog | None = None,
    footer: "pq.FileMetaData | None" = None,
    table_name: str | None = None,
    previous: TableMetadata | None = None,
) -> TableMetadata:
    """Describe a parquet file from its footer (read here unless given): rows, columns, types, null counts;
    batch and source sha256 from the transition's facts or log; each column's transforms and source headers
    from the facts' column lineage and `previous` (the catalog entry of what the transition read); in gold, the
    data dictionary's table and column entries. `table_name` names a file written under a temporary name
    (default: the file's stem).
    """
    path = as_path(path)
    footer = footer or read_footer(path)
    columns = describe_columns(path, footer, facts.inferred_types if facts else ())
    if facts is not None:
        columns = with_lineage(columns, layer, facts.column_lineage, previous)
    metadata = TableMetadata(
        table_name=table_name or path.stem,
        layer=layer,
        domain=entry.domain,
        file_path=file_path,
        row_count=footer.num_rows,
        column_count=len(columns),
        file_size_bytes=path.stat().st_size,
        columns=columns,
        description=entry.description,
        business_purpose=entry.business_purpose,
        upstream_tables=entry.upstream_tables,
        batch_id=facts.batch_id if facts else None,
        source_sha256=facts.source_sha256 if facts else None,
        source_dialect=facts.source_dialect if facts else None,
        number_format=facts.number_format if facts else None,
    )
    return with_dictionary(metadata)


def generate_table_metadata(
    path: Path, layer: str, domain: str | CatalogEntry = "general", *, file_path: str | None = None, **given: Any
) -> TableMetadata:
    """The seed's name for `describe_parquet`: `domain` is the table's domain or its whole catalog entry;
    `file_path` defaults to `<layer>/<file name>`."""
    entry = domain if isinstance(domain, CatalogEntry) else CatalogEntry(domain=domain)
    return describe_parquet(path, layer, entry, file_path=file_path or f"{layer}/{as_path(path).name}", **given)
