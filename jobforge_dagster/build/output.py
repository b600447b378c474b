"""The contract between a layer asset and the IO manager, and the write it asks for.

An asset hands the IO manager a `LayerOutput`: the frame plus everything the write must record (transition
facts, the table's catalog entry, a guard to run before the file is committed). `write_layer` is free of
Dagster: it writes the parquet atomically, keeps the batch, and records the catalog and the lineage log.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from jobforge_dagster.batches.history import keep_batch
from jobforge_dagster.batches.stamps import stamp
from jobforge_dagster.catalog.models import (
    CatalogEntry,
    FileSeal,
    LayerTransitionLog,
    TableMetadata,
    TransitionFacts,
)
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.catalog.transitions import update_catalog_on_transition
from jobforge_dagster.errors import LayerWriteError
from jobforge_dagster.layers import Layer
from jobforge_dagster.storage.atomic import AtomicGroup, atomic_group, hidden_temporary, move_into_place
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.files import fingerprint
from jobforge_dagster.storage.parquet import read_local_footer, sink_parquet, stamp_layer


@dataclass(frozen=True)
class LayerOutput:
    """One layer of one table, ready to be written."""

    frame: pl.LazyFrame | pl.DataFrame
    facts: TransitionFacts
    entry: CatalogEntry
    guard: Callable[[int], None] | None = None  # called with the row count; may raise to abandon the write
    prewritten: Path | None = None  # a candidate file already written (and checked) beside the layer file


@dataclass(frozen=True)
class PublishedLayer:
    """A layer whose file already holds its batch under the current table version: reported, never rewritten."""

    layer: Layer
    table: str
    batch_id: str


@dataclass(frozen=True)
class WrittenLayer:
    """What a write left on disk: the file, its catalog entry, its lineage log and its kept batch (if any)."""

    path: Path
    table: TableMetadata
    log: LayerTransitionLog
    kept: Path | None


def write_layer(
    catalog: CatalogManager, layer: Layer, table: str, output: LayerOutput, run_id: str | None
) -> WrittenLayer:
    """Write `<layer>/<table>.parquet` with its catalog entry and lineage log, all or none, then keep the batch and
    seal the file (its sha256 with its fingerprint once in place, for `versions.layer_intact`).

    The parquet, the catalog JSON and the lineage log are written to temporaries first and renamed into place
    together, so a failure (a full disk included) leaves the previous files, consistent with each other, and is
    logged as a failed transition.
    """
    root = catalog.root
    path = root.table_path(layer, table)
    relative = root.relative(path)
    output = replace(output, facts=output.facts.model_copy(update={"target_file": relative}))
    try:
        with atomic_group() as group:
            metadata, log = write_transition(catalog, group, layer, path, output, run_id)
    except Exception as error:
        raise write_failure(catalog, path, output, run_id, error) from error
    catalog.lineage.completed(log, metadata)
    kept = None
    if layer is not Layer.GOLD:  # gold holds the current version only
        kept = keep_batch(root, layer, table, output.facts.batch_id, output.entry.retention_batches)
    seal = FileSeal(sha256=metadata.file_sha256 or "", fingerprint=fingerprint(path))  # taken after the last link
    catalog.save_seal(layer.value, table, seal)
    return WrittenLayer(path, metadata, log, kept)


def write_failure(
    catalog: CatalogManager, path: Path, output: LayerOutput, run_id: str | None, error: Exception
) -> LayerWriteError:
    """Log a failed write as a failed transition (when there is room) and describe it."""
    origin = output.facts.source_files[0] if output.facts.source_files else output.facts.source_layer
    message = f"{origin} -> {catalog.root.relative(path)}: {error}"
    try:
        catalog.record_failure(output.facts, run_id, error)
    except OSError as unlogged:  # e.g. the disk is still full: the write's own error matters more
        message += f" (the failed transition could not be logged either: {unlogged})"
    return LayerWriteError(message)


def stage_candidate(
    catalog: CatalogManager, layer: Layer, table: str, output: LayerOutput, run_id: str | None
) -> Path:
    """Write a layer's new file under a hidden temporary name beside the current one, to be checked first."""
    path = catalog.root.table_path(layer, table)
    candidate = hidden_temporary(path)
    try:
        sink_parquet(stamp_layer(output.frame.lazy(), layer), candidate, stamp(output.facts))
    except Exception as error:
        candidate.unlink(missing_ok=True)
        raise write_failure(catalog, path, output, run_id, error) from error
    return candidate


def reject_candidate(root: DataRoot, table: str, candidate: Path, batch_id: str) -> Path:
    """Set a candidate that failed its blocking checks aside as `rejected/<table>/<batch>.parquet`."""
    rejected = root.rejected_path(table, batch_id)
    move_into_place(candidate, rejected)
    return rejected


def write_transition(
    catalog: CatalogManager, group: AtomicGroup, layer: Layer, path: Path, output: LayerOutput, run_id: str | None
) -> tuple[TableMetadata, LayerTransitionLog]:
    """The layer file, its catalog entry and its lineage log, written to the group's temporaries."""
    if output.prewritten is not None:
        temporary = output.prewritten
        group.adopt(temporary, path)
        footer = read_local_footer(temporary)
    else:
        temporary = group.path(path)
        footer = sink_parquet(stamp_layer(output.frame.lazy(), layer), temporary, stamp(output.facts))
    if output.guard is not None:
        output.guard(footer.num_rows)
    log = output.facts.log(run_id, target_file=output.facts.target_file, row_count_out=footer.num_rows)
    metadata = update_catalog_on_transition(
        catalog, log, path, output.entry, footer=footer, group=group, written_at=temporary
    )
    return metadata, log
