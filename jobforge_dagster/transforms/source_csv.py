"""Reading a CSV source strictly (RFC 4180): every record has the header's number of fields, quotes closed, valid
text; a bad record fails with its physical line."""

import csv
import io
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import polars as pl

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.dialect import SourceDialect, decode, not_utf8_file, one_column_refusal, source_dialect
from jobforge_dagster.transforms.source_read import SourceRead, header_lines, with_lines

#: Longest CSV record accepted (a field of several megabytes is fine).
MAX_LINE_BYTES = 32 * 1024 * 1024


#: The validation pass streams: a small memory budget, no progress bar on the console.
VALIDATION_SETTINGS = {"memory_limit": "512MB", "preserve_insertion_order": False}


#: The header record must fit in this many bytes.
HEADER_BYTES = 1024 * 1024
#: Why a file with a line that ends with a carriage return alone is refused.
CR_ALONE = "lines end with a carriage return alone (CR); save the file with LF or CRLF line endings"


#: Widest CSV accepted; files wider than WIDE_COLUMNS are validated with a memory budget grown per column.
MAX_COLUMNS = 10_000


WIDE_COLUMNS = 1_000


def read_csv(path: Path, spec: TableSpec, display_name: str) -> SourceRead:
    """A CSV source read as `source_dialect` decides: UTF-8 validated by DuckDB and scanned by polars, another
    declared encoding decoded to UTF-8 in Python."""
    dialect = source_dialect(path, spec)
    if dialect.converted:
        read = read_decoded_csv(path, dialect, display_name)
    else:
        read = read_utf8_csv(path, dialect.separator, display_name)
    return replace(read, dialect=dialect)


def read_utf8_csv(path: Path, separator: str, display_name: str) -> SourceRead:
    """A UTF-8 CSV: header parsed, records counted by the strict validation, then scanned with polars."""
    header = read_header(path, separator, display_name)
    records = count_csv_records(path, len(header), separator, display_name)
    final_carriage_return(path, display_name)
    scan = pl.scan_csv(
        path,
        infer_schema=False,
        separator=separator,
        new_columns=header,
        raise_if_empty=False,
        empty_string_is_null=False,
    )
    if scanned_records(scan) != records:
        raise unreadable_csv(path, separator, display_name)
    return SourceRead(with_lines(scan, header_lines(header) + 1), records)


def scanned_records(scan: pl.LazyFrame) -> int | None:
    """The records polars reads, counted while streaming (`pl.len()` maps the whole file into memory: a 1.9 GB file
    made the process 1.9 GB resident; counting the first column's values and nulls reads it in chunks); None when
    the streaming reader finds records it splits otherwise than the chunk boundaries say (a stray quote)."""
    first = pl.first()
    try:
        return int(scan.select(first.count() + first.null_count()).collect(engine="streaming").item())
    except pl.exceptions.ComputeError:
        return None


def unreadable_csv(path: Path, separator: str, display_name: str) -> SourceDataError:
    """The error for a CSV that DuckDB validates but polars splits into other records: a blank line, or a quote
    inside an unquoted field (both readers skip or keep them differently)."""
    for number, line, quoted in physical_lines(path):
        if not quoted and number > 1 and not line.strip(b"\r\n"):
            return SourceDataError("a blank line: a CSV record cannot be empty", file=display_name, line=number)
        if (quoted or b'"' in line) and stray_quote(line.decode("utf-8", "replace"), separator, quoted):
            return SourceDataError(
                'a quote inside an unquoted field (RFC 4180: quote the whole field and double the quote: "2""x")',
                file=display_name,
                line=number,
            )
    return SourceDataError("records cannot be split consistently (check quotes and blank lines)", file=display_name)


def physical_lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """Each physical line (ending at "\\n") with its 1-based number and whether it starts inside a quoted field."""
    quoted = False
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            yield number, line.removeprefix(b"\xef\xbb\xbf") if number == 1 else line, quoted
            if quoted or b'"' in line:
                quoted = line.count(b'"') % 2 != quoted


def stray_quote(line: str, separator: str, quoted: bool) -> bool:
    """True if a quote opens anywhere but at the start of a field (a doubled quote inside a quoted field is data)."""
    field_start, position = not quoted, 0
    while position < len(line):
        char = line[position]
        if quoted and char == '"':
            if line[position + 1 : position + 2] == '"':
                position += 1
            else:
                quoted = False
        elif not quoted and char == '"':
            if not field_start:
                return True
            quoted = True
        field_start = not quoted and char == separator
        position += 1
    return False


#: Files up to this size are validated on a cursor of one shared in-memory DuckDB database (a cursor is far
#: cheaper than a new database); larger ones get their own database, closed afterwards, so the
#: memory DuckDB keeps for its buffers is returned before the layers are written.
SHARED_VALIDATION_MAX_BYTES = 64 * 1024 * 1024

# The csv module locates errors on records up to MAX_LINE_BYTES long (its default limit is 128 KiB).
csv.field_size_limit(MAX_LINE_BYTES)

#: One DuckDB database shared by the validations of small files in this process (created on first use).
_validation_lock = threading.Lock()
_validation_database: duckdb.DuckDBPyConnection | None = None


def validation_connection(size_bytes: int, columns: int = 1) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for validating a file of `size_bytes` and `columns`; use it as a context manager.

    DuckDB holds a vector per column: a wide file gets its own database with 128 KiB more memory per column.
    """
    global _validation_database
    if columns > WIDE_COLUMNS:
        connection = duckdb.connect(config=VALIDATION_SETTINGS | {"memory_limit": f"{512 + columns // 8}MB"})
    elif size_bytes > SHARED_VALIDATION_MAX_BYTES:
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
        with validation_connection(path.stat().st_size, fields) as connection:
            return connection.execute(query, {"path": str(path), "delim": separator}).fetchone()[0]
    except duckdb.Error as error:
        if "Invalid unicode" in str(error) and (refused := not_utf8_file(path, display_name)):
            raise refused from error
        found = csv_error(str(error), display_name)
        if found.line is None:
            raise (
                lone_carriage_return(path, display_name) or mixed_line_endings(path, display_name) or found
            ) from error
        reason = str(found).removeprefix(f"{display_name}, line {found.line}: ")
        line = physical_line(path, found.line, separator)
        raise SourceDataError(reason, file=display_name, line=line, record=found.line - 1) from error


def lone_carriage_return(path: Path, display_name: str) -> SourceDataError | None:
    """The error for a CSV with a line that ends with a carriage return alone (outside quotes), if it has one;
    lines holding a quote are left to the other checks."""
    for number, line, quoted in physical_lines(path):
        body = line.removesuffix(b"\n").removesuffix(b"\r") if line.endswith(b"\n") else line
        if not quoted and b'"' not in line and b"\r" in body:
            return SourceDataError(CR_ALONE, file=display_name, line=number)
    return None


def final_carriage_return(path: Path, display_name: str) -> None:
    """Refuse a CSV whose last byte is a carriage return: its last line ends with CR alone (a file that holds a
    CR alone anywhere else fails the strict reading). Reads one byte, and the file again only to name the line."""
    with open(path, "rb") as handle:
        if handle.seek(0, os.SEEK_END) == 0:
            return
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) != b"\r":
            return
    lines = sum(1 for _ in physical_lines(path))
    raise lone_carriage_return(path, display_name) or SourceDataError(CR_ALONE, file=display_name, line=lines)


def mixed_line_endings(path: Path, display_name: str) -> SourceDataError | None:
    """The error for a CSV whose records end with CRLF on some lines and LF alone on others, if it is one."""
    first: bytes | None = None
    for number, line, quoted in physical_lines(path):
        if quoted or not line.endswith(b"\n"):
            continue
        ending = b"\r\n" if line.endswith(b"\r\n") else b"\n"
        if first is None:
            first = ending
        elif ending != first:
            names = {b"\r\n": "CRLF", b"\n": "LF alone"}
            return SourceDataError(
                f"mixed line endings: line 1 ends with {names[first]}, this line with {names[ending]}; "
                "save the file with one kind",
                file=display_name,
                line=number,
            )
    return None


def physical_line(path: Path, record_line: int, separator: str) -> int:
    """The physical line where DuckDB's `record_line` starts: DuckDB numbers records (header = 1), not lines,
    so the newlines inside the quoted fields of the records before it are added."""
    line = 1
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=separator)
        for _ in range(record_line - 1):
            record = next(reader, None)
            if record is None:
                break
            line += 1 + sum(field.count("\n") for field in record)
    return line


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


def read_decoded_csv(path: Path, dialect: SourceDialect, display_name: str) -> SourceRead:
    """A CSV in a declared encoding other than UTF-8: decoded in Python, checked record by record."""
    text, _ = decode(path.read_bytes(), display_name, dialect.encoding)
    if text.endswith("\r"):
        raise SourceDataError(CR_ALONE, file=display_name, line=text.count("\n") + 1)
    header, records = check_records(text.removeprefix("\ufeff"), dialect.separator, display_name)
    frame = pl.read_csv(
        text.removeprefix("\ufeff").encode("utf-8"),
        infer_schema=False,
        separator=dialect.separator,
        new_columns=header,
        empty_string_is_null=False,
    ).lazy()
    return SourceRead(with_lines(frame, header_lines(header) + 1), records)


def check_records(text: str, separator: str, display_name: str) -> tuple[list[str], int]:
    """(header, data records) of decoded CSV text, parsed strictly; a bad record raises with its line."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    records = 0
    try:
        header = next(reader, [])
        check_header(header, display_name, separator)
        start = reader.line_num + 1
        for record in reader:
            records += 1
            if len(record) != len(header):
                found = f"expected {len(header)} fields, found {len(record)}"
                raise SourceDataError(found, file=display_name, line=start, record=records)
            start = reader.line_num + 1
    except csv.Error as error:
        raise SourceDataError(str(error), file=display_name, line=reader.line_num) from error
    return header, records


def read_header(path: Path, separator: str, display_name: str) -> list[str]:
    """The header record, parsed strictly by the csv module: polars keeps doubled quotes (`""`) in header names."""
    with open(path, "rb") as handle:
        start = handle.read(HEADER_BYTES)
    if b"\r" in start and b"\n" not in start:
        raise SourceDataError(CR_ALONE, file=display_name, line=1)
    text = start.decode("utf-8", errors="replace").removeprefix("\ufeff")
    try:
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True), [])
    except csv.Error as error:
        reason = f"header cannot be parsed: {error}"
        if "unexpected end of data" in str(error):
            reason = "a quoted field of the header is never closed (unterminated quote)"
            if len(start) == HEADER_BYTES:
                reason += f", or the header is longer than {HEADER_BYTES} bytes"
        raise SourceDataError(reason, file=display_name, line=1) from error
    if any("\ufffd" in name for name in header) and (refused := not_utf8_file(path, display_name)):
        raise refused
    check_header(header, display_name, separator)
    return header


def check_header(header: list[str], display_name: str, separator: str) -> None:
    """A header must exist, name each column once, and not be one cell holding another separator (a file that
    would load as one column)."""
    if not header or header == [""]:
        raise SourceDataError("the first line is empty: no header", file=display_name, line=1)
    if len(header) > MAX_COLUMNS:
        raise SourceDataError(
            f"the header has {len(header)} columns; JobForge reads at most {MAX_COLUMNS}", file=display_name, line=1
        )
    if any("\x00" in name for name in header):
        raise SourceDataError("the header holds NUL bytes: not a text file", file=display_name, line=1)
    if (one_column := one_column_refusal(header, display_name, separator)) is not None:
        raise one_column
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in seen:
            raise SourceDataError(
                f"duplicate header name {name!r} in columns {seen[name]} and {position}", file=display_name, line=1
            )
        seen[name] = position
