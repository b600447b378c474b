"""The seed's catalog API: record a successful layer transition in the catalog in one call."""

from pathlib import Path

import pyarrow.parquet as pq

from jobforge_dagster.catalog.describe import describe_parquet
from jobforge_dagster.catalog.models import CatalogEntry, LayerTransitionLog, TableMetadata
from jobforge_dagster.catalog.store import CatalogManager


def update_catalog_on_transition(
    catalog: CatalogManager,
    transition_log: LayerTransitionLog,
    target_path: Path,
    domain: str | CatalogEntry,
    *,
    footer: pq.FileMetaData | None = None,
) -> TableMetadata:
    """Record a transition whose file is in place at `target_path`: describe it (from `footer` if given), save its
    table metadata and the lineage log (target file and rows out filled in if missing), and announce it as an
    OpenLineage COMPLETE. `domain` is the table's domain, or its whole catalog entry. Returns the table metadata.
    """
    target_path = Path(target_path)
    entry = domain if isinstance(domain, CatalogEntry) else CatalogEntry(domain=domain)
    relative = catalog.root.relative(target_path)
    metadata = describe_parquet(
        target_path, transition_log.target_layer, entry, file_path=relative, facts=transition_log, footer=footer
    )
    update = {"target_file": transition_log.target_file or relative}
    if transition_log.row_count_out is None:
        update["row_count_out"] = metadata.row_count
    catalog.record_transition(transition_log.model_copy(update=update), metadata)
    return metadata
