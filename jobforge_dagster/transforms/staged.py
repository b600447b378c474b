"""Source file -> staged: every value as the string in the file, plus row provenance."""

import csv
from datetime import datetime
from pathlib import Path

import polars as pl

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.layers import BATCH_ID, INGESTED_AT, SOURCE_FILE, SOURCE_ROW
from jobforge_dagster.registry import FORMATS, TableSpec

UTF8 = {"utf8", "utf-8", "utf_8"}


def read_source(path: Path, spec: TableSpec, display_name: str) -> pl.LazyFrame:
    """Scan a source file with every column as a string and no type inference."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt == "csv":
        if spec.encoding.lower() in UTF8:
            header = read_header(path, spec.separator, display_name)
            return pl.scan_csv(
                path, infer_schema=False, separator=spec.separator, new_columns=header, raise_if_empty=False
            )
        try:
            text = path.read_bytes().decode(spec.encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise SourceDataError(f"cannot decode as {spec.encoding}: {error}", file=display_name) from error
        return pl.read_csv(text.encode("utf-8"), infer_schema=False, separator=spec.separator).lazy()
    if fmt == "jsonl":
        frame = pl.scan_ndjson(path, infer_schema_length=None)
    elif fmt == "parquet":
        frame = pl.scan_parquet(path)
    else:
        raise SourceDataError(
            f"unsupported file type {path.suffix!r} (supported: {sorted(FORMATS)})", file=display_name
        )
    return frame.select(pl.all().cast(pl.String))


def read_header(path: Path, separator: str, display_name: str) -> list[str]:
    """The header record, parsed by the csv module: polars keeps doubled quotes (`""`) in header names."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle, delimiter=separator), [])
    except UnicodeDecodeError as error:
        raise SourceDataError(
            f"header is not valid UTF-8 ({error}); declare the file's encoding", file=display_name
        ) from error
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in seen:
            raise SourceDataError(
                f"duplicate header name {name!r} in columns {seen[name]} and {position}", file=display_name
            )
        seen[name] = position
    return header


def add_provenance(frame: pl.LazyFrame, source_file: str, batch_id: str, ingested_at: datetime) -> pl.LazyFrame:
    """Append `_source_file`, `_source_row` (1-based data record), `_ingested_at` and `_batch_id`."""
    return frame.with_row_index(SOURCE_ROW, offset=1).select(
        pl.all().exclude(SOURCE_ROW),
        pl.lit(source_file, dtype=pl.String).alias(SOURCE_FILE),
        pl.col(SOURCE_ROW).cast(pl.Int64),
        pl.lit(ingested_at, dtype=pl.Datetime("us", "UTC")).alias(INGESTED_AT),
        pl.lit(batch_id, dtype=pl.String).alias(BATCH_ID),
    )
