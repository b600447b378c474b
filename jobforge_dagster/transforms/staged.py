"""Source file -> staged: every value as the string in the file (an empty field is ""), plus row provenance."""

from datetime import datetime
from pathlib import Path

import polars as pl

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.layers import BATCH_ID, INGESTED_AT, SOURCE_FILE, SOURCE_LINE, SOURCE_ROW
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.scan import FORMATS
from jobforge_dagster.transforms.source_csv import read_csv
from jobforge_dagster.transforms.source_read import SourceRead, read_jsonl, read_parquet


def read_source(path: Path, spec: TableSpec, display_name: str) -> SourceRead:
    """Scan a source file with every column as a string and no type inference, after checking it parses.

    CSV files are validated first (strict RFC 4180: every record has the header's number of fields, quotes
    closed, valid text), so a bad file fails with its line number instead of silently padded nulls. A declared
    table's file is read with its entry's separator and encoding; an undeclared one's separator is sniffed.
    """
    if path.stat().st_size == 0:
        raise SourceDataError(
            "the file is empty (0 bytes); a CSV source needs at least a header line", file=display_name
        )
    fmt = FORMATS.get(path.suffix.lower())
    if fmt == "csv":
        return read_csv(path, spec, display_name)
    if fmt == "jsonl":
        return read_jsonl(path, display_name)
    if fmt == "parquet":
        return read_parquet(path, display_name)
    raise SourceDataError(f"unsupported file type {path.suffix!r} (supported: {sorted(FORMATS)})", file=display_name)


def add_provenance(frame: pl.LazyFrame, source_file: str, batch_id: str, ingested_at: datetime) -> pl.LazyFrame:
    """Append `_source_file`, `_source_row` (1-based data record), `_source_line` (as `read_source` set it; null if
    the frame has none), `_ingested_at` and `_batch_id`."""
    if SOURCE_LINE not in frame.collect_schema().names():
        frame = frame.with_columns(pl.lit(None, dtype=pl.Int64).alias(SOURCE_LINE))
    return frame.with_row_index(SOURCE_ROW, offset=1).select(
        pl.all().exclude(SOURCE_ROW, SOURCE_LINE),
        pl.lit(source_file, dtype=pl.String).alias(SOURCE_FILE),
        pl.col(SOURCE_ROW).cast(pl.Int64),
        pl.col(SOURCE_LINE).cast(pl.Int64),
        pl.lit(ingested_at, dtype=pl.Datetime("us", "UTC")).alias(INGESTED_AT),
        pl.lit(batch_id, dtype=pl.String).alias(BATCH_ID),
    )
