"""Small frames and files the unit tests build: layers with provenance columns, sources written to disk."""

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from jobforge_dagster.layers import SOURCE_FILE, SOURCE_LINE, SOURCE_ROW
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.transforms import staged


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def staged_lines(tmp_path: Path, name: str, content: bytes) -> list[int]:
    path = write(tmp_path, name, content)
    read = staged.read_source(path, TableSpec(name="t", pattern=name), f"source/{name}")
    frame = staged.add_provenance(read.frame, f"source/{name}", "t-1", datetime(2026, 1, 1, tzinfo=UTC)).collect()
    assert frame.columns[-5:] == [SOURCE_FILE, SOURCE_ROW, SOURCE_LINE, "_ingested_at", "_batch_id"]
    assert frame[SOURCE_ROW].to_list() == list(range(1, frame.height + 1))
    return frame[SOURCE_LINE].to_list()


def staged_frame(**columns: list[str | None]) -> pl.LazyFrame:
    height = len(next(iter(columns.values())))
    return pl.LazyFrame(columns).with_columns(pl.int_range(1, height + 1, dtype=pl.Int64).alias(SOURCE_ROW))


def with_provenance(frame: pl.DataFrame) -> pl.LazyFrame:
    return frame.lazy().with_columns(
        pl.lit("source/x.csv").alias("_source_file"),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(SOURCE_ROW),
        (pl.int_range(1, pl.len() + 1, dtype=pl.Int64) * 10).alias(SOURCE_LINE),  # records spanning lines
        pl.lit("2026-01-01").str.to_datetime(time_zone="UTC").alias("_ingested_at"),
        pl.lit("x-1").alias("_batch_id"),
        pl.lit("silver").alias("_layer"),
    )
