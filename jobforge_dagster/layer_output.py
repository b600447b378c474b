"""The contract between a layer asset and the IO manager, and the write it asks for.

An asset hands the IO manager a `LayerOutput`: the frame plus everything the write must record (transition
facts, the table's catalog entry, a guard to run before the file is committed). `write_layer` is free of
Dagster: it writes the parquet atomically, keeps the batch, and records the catalog and the lineage log.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from jobforge_dagster.batches import keep_batch, stamp
from jobforge_dagster.catalog import (
    CatalogEntry,
    CatalogManager,
    LayerTransitionLog,
    TableMetadata,
    TransitionFacts,
    update_catalog_on_transition,
)
from jobforge_dagster.data_root import DataRoot
from jobforge_dagster.errors import LayerWriteError
from jobforge_dagster.layers import Layer
from jobforge_dagster.parquet import sink_parquet_atomic, stamp_layer


@dataclass(frozen=True)
class LayerOutput:
    """One layer of one table, ready to be written."""

    frame: pl.LazyFrame | pl.DataFrame
    facts: TransitionFacts
    entry: CatalogEntry
    guard: Callable[[int], None] | None = None  # called with the row count; may raise to abandon the write


@dataclass(frozen=True)
class WrittenLayer:
    """What a write left on disk: the file, its catalog entry, its lineage log and its kept batch (if any)."""

    path: Path
    table: TableMetadata
    log: LayerTransitionLog
    kept: Path | None


def write_layer(root: DataRoot, layer: Layer, table: str, output: LayerOutput, run_id: str | None) -> WrittenLayer:
    """Write `<layer>/<table>.parquet` atomically, then keep the batch and record catalog and lineage.

    A failed write leaves the previous file in place and is logged as a failed transition.
    """
    path = root.table_path(layer, table)
    relative = root.relative(path)
    facts = output.facts.model_copy(update={"target_file": relative})
    catalog = CatalogManager(root)
    try:
        footer = sink_parquet_atomic(
            stamp_layer(output.frame.lazy(), layer), path, stamp(facts), before_commit=output.guard
        )
    except Exception as error:
        catalog.record_failure(facts, run_id, error)
        origin = facts.source_files[0] if facts.source_files else facts.source_layer
        raise LayerWriteError(f"{origin} -> {relative}: {error}") from error
    kept = None
    if layer is not Layer.GOLD:  # gold holds the current version only
        kept = keep_batch(root, layer, table, facts.batch_id, output.entry.retention_batches)
    log = facts.log(run_id, target_file=relative, row_count_out=footer.num_rows if footer else None)
    metadata = update_catalog_on_transition(catalog, log, path, output.entry, footer=footer)
    return WrittenLayer(path, metadata, log, kept)
