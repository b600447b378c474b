"""A source read as strings: the frame with `_source_line`, its record count; JSON lines and parquet sources."""

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.layers import SOURCE_LINE
from jobforge_dagster.sources.dialect import SourceDialect

#: Chunk read when counting lines.
CHUNK_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class SourceRead:
    """A source scanned as strings with its `_source_line` column, how many data records the file holds (None if
    not counted), and how a CSV file was read (None for other formats)."""

    frame: pl.LazyFrame
    records: int | None
    dialect: SourceDialect | None = None


def header_lines(header: list[str]) -> int:
    """Physical lines the header record takes (a quoted name may hold newlines)."""
    return 1 + sum(name.count("\n") for name in header)


def with_lines(frame: pl.LazyFrame, first_line: int, multiline: bool = True) -> pl.LazyFrame:
    """Add `_source_line`, last: the physical line where each record starts, the first record on `first_line`.

    A CSV record takes one line plus one per newline inside its quoted fields, so it starts on
    `first_line + record index + newlines in the records before it`; a line ends at "\\n" (a CR alone is data).
    With `multiline` False (JSON lines, one record per line) the line is `first_line + record index`.
    """
    columns = frame.collect_schema().names()
    line = pl.col(SOURCE_LINE).cast(pl.Int64)
    if multiline and columns:
        newlines = pl.sum_horizontal(pl.col(columns).str.count_matches("\n", literal=True)).cast(pl.Int64)
        line = line + newlines.cum_sum() - newlines
    return frame.with_row_index(SOURCE_LINE, offset=first_line).select(*columns, line.alias(SOURCE_LINE))


def read_jsonl(path: Path, display_name: str) -> SourceRead:
    """JSON lines, one object per line: every value read once here, so a bad line fails with its number."""
    frame = pl.scan_ndjson(path, infer_schema_length=None)
    try:
        records = frame.select(pl.len(), pl.all().cast(pl.String).null_count()).collect().item(0, 0)
    except pl.exceptions.PolarsError as error:
        line, reason = jsonl_problem(path) or (None, f"cannot be read as JSON lines: {str(error).splitlines()[0]}")
        raise SourceDataError(reason, file=display_name, line=line) from error
    if count_lines(path) != records:
        line, reason = jsonl_problem(path) or (None, f"{records} records but a different number of lines")
        raise SourceDataError(reason, file=display_name, line=line)
    return SourceRead(with_lines(frame.select(pl.all().cast(pl.String)), 1, multiline=False), records)


def jsonl_problem(path: Path) -> tuple[int, str] | None:
    """The first line that is blank, not a JSON object, or gives a field another JSON type than before."""
    kinds: dict[str, tuple[str, int]] = {}
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                return number, "a blank line: each line must hold one JSON object"
            try:
                record = json.loads(line)
            except ValueError as error:
                return number, f"not valid JSON: {error}"
            if not isinstance(record, dict):
                return number, f"not a JSON object but {json_kind(record)}"
            for key, value in record.items():
                kind = json_kind(value)
                first = kinds.setdefault(key, (kind, number)) if value is not None else (kind, number)
                if first[0] != kind:
                    return number, f"field {key!r} holds {kind} here but {first[0]} on line {first[1]}"
    return None


def json_kind(value: object) -> str:
    """A JSON value's type, for messages."""
    kinds = ((bool, "a boolean"), (int | float, "a number"), (str, "a string"), (list, "an array"), (dict, "an object"))
    return next((name for kind, name in kinds if isinstance(value, kind)), "null")


def count_lines(path: Path) -> int:
    """Physical lines in a file (a last line without "\\n" counts)."""
    lines, last = 0, b"\n"
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            lines, last = lines + chunk.count(b"\n"), chunk[-1:]
    return lines + (last != b"\n")


def read_parquet(path: Path, display_name: str) -> SourceRead:
    """A parquet file, every column cast to string; `_source_line` is null (a parquet file has no lines)."""
    frame = pl.scan_parquet(path)
    try:
        frame.collect_schema()
    except pl.exceptions.PolarsError as error:
        reason = str(error).splitlines()[0].removeprefix("parquet: ")
        raise SourceDataError(f"not a readable parquet file ({reason})", file=display_name) from error
    strings = frame.select(pl.all().cast(pl.String))
    return SourceRead(strings.with_columns(pl.lit(None, dtype=pl.Int64).alias(SOURCE_LINE)), None)
