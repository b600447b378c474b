"""Catalog (tables, columns, batches) and lineage (one log per layer transition), as pydantic models on disk."""

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
from dagster import MetadataValue, TableColumn, TableColumnConstraints, TableSchema
from pydantic import BaseModel, Field

from jobforge_dagster.config import JobForgeConfig
from jobforge_dagster.storage import write_model


def utc_now() -> datetime:
    return datetime.now(UTC)


class ColumnMetadata(BaseModel):
    name: str
    data_type: str
    nullable: bool
    null_count: int | None = None
    description: str = ""


class TableMetadata(BaseModel):
    table_name: str
    layer: str
    domain: str
    file_path: str = Field(description="Parquet file, relative to the data root.")
    row_count: int
    column_count: int
    file_size_bytes: int
    columns: list[ColumnMetadata]
    description: str = ""
    business_purpose: str = ""
    upstream_tables: list[str] = Field(default_factory=list)
    batch_id: str | None = None
    source_sha256: str | None = None
    updated_at: datetime = Field(default_factory=utc_now)


class TransitionStatus(StrEnum):
    SUCCESS = "success"
    PARTIAL = "partial"  # succeeded, with rows set aside in quarantine
    FAILED = "failed"


class LayerTransitionLog(BaseModel):
    transition_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    table: str
    batch_id: str
    source_layer: str
    target_layer: str
    source_files: list[str]
    target_file: str | None
    row_count_in: int | None
    row_count_out: int | None
    quarantined_rows: int = 0
    quarantine_file: str | None = None
    transforms_applied: list[str] = Field(default_factory=list)
    started_at: datetime
    completed_at: datetime = Field(default_factory=utc_now)
    status: TransitionStatus
    errors: list[str] = Field(default_factory=list)
    source_sha256: str | None = None
    run_id: str | None = None


class BatchRecord(BaseModel):
    """One version of one source file."""

    batch_id: str
    table: str
    source_file: str
    sha256: str
    size_bytes: int
    first_seen_at: datetime = Field(default_factory=utc_now)


class TransitionFacts(BaseModel):
    """What an asset knows about a transition before its output is written; travels as output metadata."""

    table: str
    batch_id: str
    source_sha256: str
    source_layer: str
    source_files: list[str]
    rows_in: int | None = None
    transforms: list[str] = Field(default_factory=list)
    quarantined_rows: int = 0
    quarantine_file: str | None = None
    source_fingerprint: str | None = Field(
        default=None, description="Size, mtime and inode of the source file when it was hashed (staged only)."
    )
    started_at: datetime = Field(default_factory=utc_now)

    @classmethod
    def start(
        cls, table: str, batch: BatchRecord, source_layer: str, source_files: list[str], rows_in: int | None
    ) -> "TransitionFacts":
        return cls(
            table=table,
            batch_id=batch.batch_id,
            source_sha256=batch.sha256,
            source_layer=source_layer,
            source_files=source_files,
            rows_in=rows_in,
        )

    def failed(self, target_layer: str, run_id: str | None, error: BaseException) -> LayerTransitionLog:
        return self.log(
            target_layer,
            run_id,
            target_file=None,
            row_count_out=None,
            status=TransitionStatus.FAILED,
            errors=[f"{type(error).__name__}: {error}"],
        )

    def to_metadata(self) -> dict[str, MetadataValue]:
        metadata: dict[str, MetadataValue] = {
            "table": MetadataValue.text(self.table),
            "batch_id": MetadataValue.text(self.batch_id),
            "source_sha256": MetadataValue.text(self.source_sha256),
            "source_layer": MetadataValue.text(self.source_layer),
            "source_files": MetadataValue.json(self.source_files),
            "transforms": MetadataValue.json(self.transforms),
            "quarantined_rows": MetadataValue.int(self.quarantined_rows),
            "started_at": MetadataValue.text(self.started_at.isoformat()),
        }
        if self.rows_in is not None:
            metadata["rows_in"] = MetadataValue.int(self.rows_in)
        if self.quarantine_file is not None:
            metadata["quarantine_file"] = MetadataValue.text(self.quarantine_file)
        if self.source_fingerprint is not None:
            metadata["source_fingerprint"] = MetadataValue.text(self.source_fingerprint)
        return metadata

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> "TransitionFacts | None":
        """Rebuild from output metadata; None when the output was not a medallion transition."""
        raw = {key: getattr(value, "value", value) for key, value in metadata.items()}
        if "batch_id" not in raw:
            return None
        return cls.model_validate({name: raw[name] for name in cls.model_fields if name in raw})

    def log(self, target_layer: str, run_id: str | None, **outcome: Any) -> LayerTransitionLog:
        status = outcome.pop("status", None) or (
            TransitionStatus.PARTIAL if self.quarantined_rows else TransitionStatus.SUCCESS
        )
        return LayerTransitionLog(
            table=self.table,
            batch_id=self.batch_id,
            source_layer=self.source_layer,
            target_layer=target_layer,
            source_files=self.source_files,
            row_count_in=self.rows_in,
            quarantined_rows=self.quarantined_rows,
            quarantine_file=self.quarantine_file,
            transforms_applied=self.transforms,
            started_at=self.started_at,
            source_sha256=self.source_sha256,
            run_id=run_id,
            status=status,
            **outcome,
        )


def parquet_row_count(path: Path) -> int:
    """Row count from the parquet footer, without reading data."""
    return pq.read_metadata(path).num_rows


def generate_table_metadata(
    parquet_path: Path,
    layer: str,
    domain: str,
    description: str = "",
    business_purpose: str = "",
    upstream_tables: list[str] | None = None,
    *,
    file_path: str | None = None,
    batch_id: str | None = None,
    source_sha256: str | None = None,
    footer: pq.FileMetaData | None = None,
) -> TableMetadata:
    """Describe a parquet file from its footer alone (read here unless given): rows, columns, types, null counts."""
    parquet_path = Path(parquet_path)
    footer = footer or pq.read_metadata(parquet_path)
    schema = pl.read_parquet_schema(parquet_path)
    null_counts = [0] * footer.num_columns
    for group in range(footer.num_row_groups):
        row_group = footer.row_group(group)
        for index in range(footer.num_columns):
            statistics = row_group.column(index).statistics
            if statistics is None or not statistics.has_null_count or null_counts[index] is None:
                null_counts[index] = None
            else:
                null_counts[index] += statistics.null_count
    columns = [
        ColumnMetadata(
            name=name,
            data_type=str(dtype),
            nullable=null_counts[index] is None or null_counts[index] > 0,
            null_count=null_counts[index],
        )
        for index, (name, dtype) in enumerate(schema.items())
    ]
    return TableMetadata(
        table_name=parquet_path.stem,
        layer=layer,
        domain=domain,
        file_path=file_path or parquet_path.name,
        row_count=footer.num_rows,
        column_count=len(columns),
        file_size_bytes=parquet_path.stat().st_size,
        columns=columns,
        description=description,
        business_purpose=business_purpose,
        upstream_tables=list(upstream_tables or []),
        batch_id=batch_id,
        source_sha256=source_sha256,
    )


def dagster_metadata(table: TableMetadata, uri: str) -> dict[str, MetadataValue]:
    """The catalog facts as metadata Dagster's UI understands."""
    schema = TableSchema(
        columns=[
            TableColumn(
                name=column.name,
                type=column.data_type,
                description=column.description or None,
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


class CatalogManager:
    """Reads and writes the JSON catalog under `<data root>/catalog/`."""

    def __init__(self, config: JobForgeConfig) -> None:
        self.config = config

    def _table_file(self, layer: str, table: str) -> Path:
        return self.config.catalog_tables_dir() / layer / f"{table}.json"

    def save_table_metadata(self, metadata: TableMetadata) -> Path:
        path = self._table_file(metadata.layer, metadata.table_name)
        write_model(path, metadata)
        return path

    def load_table_metadata(self, table: str, layer: str) -> TableMetadata | None:
        path = self._table_file(layer, table)
        return TableMetadata.model_validate_json(path.read_text("utf-8")) if path.exists() else None

    def list_tables(self, layer: str | None = None) -> list[TableMetadata]:
        root = self.config.catalog_tables_dir()
        pattern = f"{layer}/*.json" if layer else "*/*.json"
        return [TableMetadata.model_validate_json(p.read_text("utf-8")) for p in sorted(root.glob(pattern))]

    def save_lineage_log(self, log: LayerTransitionLog) -> Path:
        path = self.config.catalog_lineage_dir() / f"{log.table}--{log.transition_id}.json"
        write_model(path, log)
        return path

    def get_lineage_logs(self, batch_id: str | None = None, table: str | None = None) -> list[LayerTransitionLog]:
        """Transition logs, oldest first, optionally for one batch or one table."""
        logs = [
            LayerTransitionLog.model_validate_json(path.read_text("utf-8"))
            for path in self.config.catalog_lineage_dir().glob("*.json")
        ]
        selected = [
            log
            for log in logs
            if (batch_id is None or log.batch_id == batch_id) and (table is None or log.table == table)
        ]
        return sorted(selected, key=lambda log: (log.started_at, log.completed_at))

    def save_batch(self, batch: BatchRecord) -> Path:
        path = self.config.catalog_batches_dir() / f"{batch.batch_id}.json"
        if not path.exists():
            write_model(path, batch)
        return path

    def list_batches(self, table: str | None = None) -> list[BatchRecord]:
        """Every recorded version of a table's source file (all tables if None), oldest first."""
        batches = [
            BatchRecord.model_validate_json(path.read_text("utf-8"))
            for path in self.config.catalog_batches_dir().glob("*.json")
        ]
        return sorted(
            (batch for batch in batches if table is None or batch.table == table), key=lambda b: b.first_seen_at
        )

    def get_batch(self, batch_id: str) -> BatchRecord | None:
        path = self.config.catalog_batches_dir() / f"{batch_id}.json"
        return BatchRecord.model_validate_json(path.read_text("utf-8")) if path.exists() else None
