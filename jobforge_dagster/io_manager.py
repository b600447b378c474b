"""Provenance parquet IO manager on dagster-polars: atomic zstd parquet per layer and table, catalogued."""

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow.parquet as pq
from dagster import InitResourceContext, InputContext, MetadataValue, OutputContext, ResourceDependency
from dagster_polars import PolarsParquetIOManager

from jobforge_dagster.catalog import (
    CatalogManager,
    TransitionFacts,
    dagster_metadata,
    generate_table_metadata,
)
from jobforge_dagster.config import JobForgeConfig
from jobforge_dagster.errors import SourceChangedError, SourceDataError
from jobforge_dagster.layers import SOURCE, Layer
from jobforge_dagster.parquet import sink_parquet_atomic, stamp_layer
from jobforge_dagster.storage import fingerprint, link_atomic

if TYPE_CHECKING:
    from upath import UPath

#: Parquet key-value metadata written into every layer file, read back by the next layer.
PARQUET_META_KEYS = ("batch_id", "source_sha256", "table", "source_layer")


def keep_batch(config: JobForgeConfig, layer: Layer, table: str, batch_id: str, retention: int | None) -> Path:
    """Keep the file just written as `<layer>/<table>/batch=<id>.parquet` (a hard link: no copy) and drop
    the oldest batch files beyond `retention` (None: keep all)."""
    current = config.table_path(layer, table)
    kept = config.batch_path(layer, table, batch_id)
    kept.parent.mkdir(parents=True, exist_ok=True)
    link_atomic(current, kept)
    if retention:
        history = sorted(kept.parent.glob("batch=*.parquet"), key=lambda path: path.stat().st_mtime_ns)
        for old in history[: max(len(history) - retention, 0)]:
            if old != kept:
                old.unlink(missing_ok=True)
    return kept


class LayerWriteError(RuntimeError):
    """Writing a layer's parquet failed; the previous file, if any, is untouched."""


class ProvenanceParquetIOManager(PolarsParquetIOManager):
    """Writes `<data root>/<layer>/<table>.parquet` atomically with `_layer` stamped, and mirrors the catalog.

    Asset keys are `[layer, table]`. Inputs load lazily as `pl.LazyFrame` (or eagerly if annotated
    `pl.DataFrame`). Each write saves the table's catalog JSON and, for medallion transitions, a lineage log.
    """

    jobforge: ResourceDependency[JobForgeConfig]

    def setup_for_execution(self, context: InitResourceContext) -> None:
        from upath import UPath

        self._base_path = UPath(self.jobforge.data_root)

    def _get_path(self, context: InputContext | OutputContext) -> "UPath":
        from upath import UPath

        layer, table = self._layer_and_table(context)
        return UPath(self.jobforge.table_path(layer, table))

    @staticmethod
    def _layer_and_table(context: InputContext | OutputContext) -> tuple[Layer, str]:
        path = context.asset_key.path
        if len(path) != 2 or path[0] not in Layer.__members__.values():
            raise ValueError(f"asset key {path} is not [layer, table] with a layer in {[m.value for m in Layer]}")
        return Layer(path[0]), path[1]

    def scan_df_from_path(self, path: "UPath", context: InputContext, partition_key: str | None = None) -> pl.LazyFrame:
        # dagster-polars passes rechunk= and retries= to pl.scan_parquet, which polars 2 removed.
        return pl.scan_parquet(str(path))

    def write_df_to_path(self, context: OutputContext, df: pl.DataFrame, path: "UPath") -> None:
        self.sink_df_to_path(context, df.lazy(), path)

    def sink_df_to_path(self, context: OutputContext, df: pl.LazyFrame, path: "UPath") -> pq.FileMetaData | None:
        layer, _ = self._layer_and_table(context)
        return self._write(df, path, layer, TransitionFacts.from_metadata(context.output_metadata))

    def _write(
        self, frame: pl.LazyFrame, path: "UPath", layer: Layer, facts: TransitionFacts | None
    ) -> pq.FileMetaData | None:
        metadata = {} if facts is None else {f"jobforge.{key}": str(getattr(facts, key)) for key in PARQUET_META_KEYS}
        before_commit = self._source_guard(facts) if facts is not None and facts.source_layer == SOURCE else None
        return sink_parquet_atomic(stamp_layer(frame, layer), path, metadata, before_commit=before_commit)

    def _source_guard(self, facts: TransitionFacts) -> Callable[[int], None]:
        """For staged writes: the source must be unchanged and every record it holds must have been read."""
        source = self.jobforge.source_dir() / facts.source_files[0].removeprefix(f"{SOURCE}/")

        def guard(rows: int) -> None:
            if facts.source_fingerprint is not None and fingerprint(source) != facts.source_fingerprint:
                raise SourceChangedError(
                    f"{facts.source_files[0]} changed while it was being read; run again once it is complete"
                )
            if facts.rows_in is not None and rows != facts.rows_in:
                raise SourceDataError(
                    f"read {rows} records but the file holds {facts.rows_in}", file=facts.source_files[0]
                )

        return guard

    def handle_output(self, context: OutputContext, obj: pl.LazyFrame | pl.DataFrame | None) -> None:
        if obj is None:
            return
        layer, table = self._layer_and_table(context)
        path = self._get_path(context)
        facts = TransitionFacts.from_metadata(context.output_metadata)
        catalog = CatalogManager(self.jobforge)
        relative = self.jobforge.relative(path)
        try:
            footer = self._write(obj.lazy(), path, layer, facts)
        except Exception as error:
            if facts is not None:
                catalog.save_lineage_log(facts.failed(layer.value, context.run_id, error))
            origin = f"{facts.source_files[0]} -> " if facts else ""
            raise LayerWriteError(f"{origin}{relative}: {error}") from error

        definition = {key: getattr(value, "value", value) for key, value in (context.definition_metadata or {}).items()}
        table_metadata = generate_table_metadata(
            path,
            layer.value,
            domain=str(definition.get("domain", "general")),
            description=str(definition.get("description", "")),
            business_purpose=str(definition.get("business_purpose", "")),
            upstream_tables=list(definition.get("upstream_tables") or []),
            file_path=relative,
            batch_id=facts.batch_id if facts else None,
            source_sha256=facts.source_sha256 if facts else None,
            footer=footer,
        )
        catalog.save_table_metadata(table_metadata)
        metadata = dagster_metadata(table_metadata, uri=path.as_uri())
        if facts is not None and layer is not Layer.GOLD:
            kept = keep_batch(self.jobforge, layer, table, facts.batch_id, definition.get("retention_batches"))
            metadata["batch_file"] = MetadataValue.path(self.jobforge.relative(kept))
        if facts is not None:
            log = facts.log(layer.value, context.run_id, target_file=relative, row_count_out=table_metadata.row_count)
            catalog.save_lineage_log(log)
            metadata |= {"rows_out": table_metadata.row_count, "transition_id": log.transition_id}
        context.add_output_metadata(metadata)
