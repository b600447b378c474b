"""The seed's catalog API: record a successful layer transition in the catalog in one call."""

from pathlib import Path
from typing import TYPE_CHECKING

from jobforge_dagster.catalog.describe import describe_parquet
from jobforge_dagster.catalog.documentation import previous_layer_table
from jobforge_dagster.catalog.models import CatalogEntry, LayerTransitionLog, TableMetadata
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.storage.atomic import AtomicGroup
from jobforge_dagster.storage.files import sha256_file
from jobforge_dagster.storage.paths import as_path

if TYPE_CHECKING:
    import pyarrow.parquet as pq


def update_catalog_on_transition(
    catalog: CatalogManager,
    transition_log: LayerTransitionLog,
    target_path: Path,
    domain: str | CatalogEntry,
    *,
    footer: "pq.FileMetaData | None" = None,
    group: AtomicGroup | None = None,
    written_at: Path | None = None,
) -> TableMetadata:
    """Record a transition of the file at `target_path`: describe it (from `footer` if given; each column traced
    back through the catalog entry of the layer it was read from) with its sha256, save its table metadata and the
    lineage log (target file and rows out filled in if missing). `domain` is the table's domain, or its whole
    catalog entry. Returns the table metadata.

    Alone, the file must be in place, and the transition is announced (OpenLineage COMPLETE). With `group`, the
    two JSON files join that atomic group, committed with the layer file written at `written_at`; the caller
    announces the transition once the group is committed.
    """
    target_path = as_path(target_path)
    entry = domain if isinstance(domain, CatalogEntry) else CatalogEntry(domain=domain)
    relative = catalog.root.relative(target_path)
    read = previous_layer_table(transition_log.source_layer, transition_log.source_files)
    metadata = describe_parquet(
        written_at or target_path,
        transition_log.target_layer,
        entry,
        file_path=relative,
        facts=transition_log,
        footer=footer,
        table_name=target_path.stem,
        previous=catalog.load_table_metadata(read[1], read[0]) if read else None,
    )
    metadata = metadata.model_copy(update={"file_sha256": sha256_file(written_at or target_path)})
    update = {"target_file": transition_log.target_file or relative}
    if transition_log.row_count_out is None:
        update["row_count_out"] = metadata.row_count
    record(catalog, transition_log.model_copy(update=update), metadata, group)
    return metadata


def record(
    catalog: CatalogManager, log: LayerTransitionLog, metadata: TableMetadata, group: AtomicGroup | None
) -> None:
    """Save the lineage log and the table's entry now, or as part of `group`: the entry last, since on object
    storage the objects appear in this order (README)."""
    if group is None:
        catalog.record_transition(log, metadata)
        return
    group.write_model(catalog.lineage_file(log), log)
    group.write_model(catalog.table_file(metadata.layer, metadata.table_name), metadata)
