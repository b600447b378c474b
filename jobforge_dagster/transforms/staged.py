"""Source file -> staged: every value as the string in the file (an empty field is ""), plus row provenance."""

import csv
import io
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.layers import BATCH_ID, INGESTED_AT, SOURCE_FILE, SOURCE_LINE, SOURCE_ROW
from jobforge_dagster.registry import FORMATS, TableSpec

UTF8 = {"utf8", "utf-8", "utf_8"}
#: Longest CSV record accepted (a field of several megabytes is fine).
MAX_LINE_BYTES = 32 * 1024 * 1024
#: The validation pass streams: a small memory budget, no progress bar on the console.
VALIDATION_SETTINGS = {"memory_limit": "512MB", "preserve_insertion_order": False}
#: The header record must fit in this many bytes.
HEADER_BYTES = 1024 * 1024


@dataclass(frozen=True)
class SourceRead:
    """A source scanned as strings with its `_source_line` column, and how many data records the file holds
    (None if not counted)."""

    frame: pl.LazyFrame
    records: int | None


def read_source(path: Path, spec: TableSpec, display_name: str) -> SourceRead:
    """Scan a source file with every column as a string and no type inference, after checking it parses.

    CSV files are validated first (strict RFC 4180: every record has the header's number of fields, quotes
    closed, valid text), so a bad file fails with its line number instead of silently padded nulls.
    """
    if path.stat().st_size == 0:
        raise SourceDataError(
            "the file is empty (0 bytes); a CSV source needs at least a header line", file=display_name
        )
    fmt = FORMATS.get(path.suffix.lower())
    if fmt == "csv":
        if spec.encoding.lower() in UTF8:
            return read_utf8_csv(path, spec.separator, display_name)
        return read_decoded_csv(path, spec, display_name)
    if fmt == "jsonl":
        frame = pl.scan_ndjson(path, infer_schema_length=None)
        return SourceRead(with_lines(frame.select(pl.all().cast(pl.String)), 1, multiline=False), None)
    if fmt == "parquet":
        frame = pl.scan_parquet(path).select(pl.all().cast(pl.String))
        return SourceRead(frame.with_columns(pl.lit(None, dtype=pl.Int64).alias(SOURCE_LINE)), None)
    raise SourceDataError(f"unsupported file type {path.suffix!r} (supported: {sorted(FORMATS)})", file=display_name)


def read_utf8_csv(path: Path, separator: str, display_name: str) -> SourceRead:
    """A UTF-8 CSV: header parsed, records counted by the strict validation, then scanned with polars."""
    header = read_header(path, separator, display_name)
    records = count_csv_records(path, len(header), separator, display_name)
    frame = pl.scan_csv(
        path,
        infer_schema=False,
        separator=separator,
        new_columns=header,
        raise_if_empty=False,
        empty_string_is_null=False,
    )
    return SourceRead(with_lines(frame, header_lines(header) + 1), records)


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


#: Files up to this size are validated on a cursor of one shared in-memory DuckDB database (opening a
#: database costs ~12 ms, a cursor 0.2 ms); larger ones get their own database, closed afterwards, so the
#: memory DuckDB keeps for its buffers is returned before the layers are written.
SHARED_VALIDATION_MAX_BYTES = 64 * 1024 * 1024

_validation_lock = threading.Lock()
_validation_database: duckdb.DuckDBPyConnection | None = None


def validation_connection(size_bytes: int) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for validating a file of `size_bytes`; use it as a context manager."""
    global _validation_database
    if size_bytes > SHARED_VALIDATION_MAX_BYTES:
        connection = duckdb.connect(config=VALIDATION_SETTINGS)
    else:
        with _validation_lock:
            if _validation_database is None:
                _validation_database = duckdb.connect(config=VALIDATION_SETTINGS)
            connection = _validation_database.cursor()
    connection.execute("SET enable_progress_bar = false")
    return connection


def count_csv_records(path: Path, fields: int, separator: str, display_name: str) -> int:
    """Data records in a UTF-8 CSV, parsed strictly by DuckDB; a bad record raises with its line number."""
    names = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(fields))
    counts = ", ".join(f"count(c{i})" for i in range(fields))
    query = (
        f"SELECT count(*), {counts} FROM read_csv($path, columns = {{{names}}}, header = true, auto_detect = false,"
        " strict_mode = true, null_padding = false, delim = $delim, quote = '\"', escape = '\"',"
        f" max_line_size = {MAX_LINE_BYTES}, buffer_size = {2 * MAX_LINE_BYTES})"
    )
    try:
        with validation_connection(path.stat().st_size) as connection:
            return connection.execute(query, {"path": str(path), "delim": separator}).fetchone()[0]
    except duckdb.Error as error:
        raise csv_error(str(error), display_name) from error


#: DuckDB CSV error text -> the reason JobForge reports.
CSV_REASONS: tuple[tuple[str, str], ...] = (
    (r"Expected Number of Columns: (\d+) Found: (\d+)", "expected {0} fields, found {1}"),
    (r"Value with unterminated quote found", "a quoted field is never closed (unterminated quote)"),
    (r"Invalid unicode", "not valid UTF-8 text; declare the file's encoding in the registry"),
    (r"Maximum line size of (\d+) bytes exceeded", "a record is longer than {0} bytes"),
    (r"state machine reached an invalid state", "not a parseable CSV (binary data, or quotes that break RFC 4180)"),
)


def csv_error(message: str, display_name: str) -> SourceDataError:
    """A DuckDB CSV error as a SourceDataError: the line, the reason, the start of the offending text."""
    line = re.search(r"CSV Error on Line: (\d+)", message)
    reason = message.strip().splitlines()[0]
    for pattern, text in CSV_REASONS:
        found = re.search(pattern, message)
        if found:
            reason = text.format(*found.groups())
            break
    original = re.search(r"Original Line: (.*)", message)
    if original:
        shown = original.group(1)
        reason += f" (line starts {shown[:120]!r})"
    return SourceDataError(reason, file=display_name, line=int(line.group(1)) if line else None)


def read_decoded_csv(path: Path, spec: TableSpec, display_name: str) -> SourceRead:
    """A CSV in a declared non-UTF-8 encoding: decoded in Python, checked record by record."""
    try:
        text = path.read_bytes().decode(spec.encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise SourceDataError(f"cannot decode as {spec.encoding}: {error}", file=display_name) from error
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=spec.separator, strict=True)
    try:
        header = next(reader, [])
        check_header(header, display_name)
        records = 0
        for record in reader:
            records += 1
            if len(record) != len(header):
                raise SourceDataError(
                    f"expected {len(header)} fields, found {len(record)}", file=display_name, line=reader.line_num
                )
    except csv.Error as error:
        raise SourceDataError(str(error), file=display_name, line=reader.line_num) from error
    frame = pl.read_csv(
        text.encode("utf-8"),
        infer_schema=False,
        separator=spec.separator,
        new_columns=header,
        empty_string_is_null=False,
    ).lazy()
    return SourceRead(with_lines(frame, header_lines(header) + 1), records)


def read_header(path: Path, separator: str, display_name: str) -> list[str]:
    """The header record, parsed by the csv module: polars keeps doubled quotes (`""`) in header names."""
    with open(path, "rb") as handle:
        start = handle.read(HEADER_BYTES).decode("utf-8", errors="replace").removeprefix("\ufeff")
    try:
        header = next(csv.reader(io.StringIO(start, newline=""), delimiter=separator), [])
    except csv.Error as error:
        raise SourceDataError(f"header cannot be parsed: {error}", file=display_name, line=1) from error
    check_header(header, display_name)
    if any("\ufffd" in name for name in header):
        raise SourceDataError(
            "the header is not valid UTF-8; declare the file's encoding in the registry", file=display_name, line=1
        )
    return header


def check_header(header: list[str], display_name: str) -> None:
    """A header must exist and name each column once."""
    if not header or header == [""]:
        raise SourceDataError("the first line is empty: no header", file=display_name, line=1)
    if any("\x00" in name for name in header):
        raise SourceDataError("the header holds NUL bytes: not a text file", file=display_name, line=1)
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in seen:
            raise SourceDataError(
                f"duplicate header name {name!r} in columns {seen[name]} and {position}", file=display_name
            )
        seen[name] = position


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
