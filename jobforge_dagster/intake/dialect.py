"""A CSV file's whole dialect, read from its bytes for `jobforge add-source`: encoding, byte order mark, line
endings, separator, header, records, records spanning lines."""

import codecs
import csv
import io
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.sources.dialect import decode, registry_separator, sniff_separator

LineEnding = Literal["LF", "CRLF", "CR", "mixed", "none"]


class Dialect(BaseModel):
    """How a CSV file is written, as found in its bytes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoding: str = Field(description="Text encoding: utf-8, or the declared one (e.g. cp1252).")
    bom: bool = Field(description="The file starts with a UTF-8 byte order mark (not part of the first header cell).")
    line_ending: LineEnding = Field(description="What ends the records: LF, CRLF, CR alone, mixed, none (one line).")
    separator: str
    separator_found: str = Field(description="How the separator was chosen: sniffed (and from what), or declared.")
    header: list[str] = Field(description="Header cells as spelled: byte order mark removed, padding kept.")
    records: int = Field(description="Data records: the header and blank lines excluded.")
    lines: int = Field(description="Physical lines (ending at LF; a last line without one counts).")
    multiline_records: int = Field(description="Records spanning several lines (an LF inside a quoted field).")
    blank_lines: int = Field(default=0, description="Empty lines after the header.")

    @property
    def separator_line(self) -> str:
        return registry_separator(self.separator)


def detect_dialect(
    path: Path, display_name: str | None = None, encoding: str | None = None, separator: str | None = None
) -> Dialect:
    """The dialect of the CSV file at `path`; `encoding` and `separator` as declared, or None to detect them."""
    return dialect_of(path.read_bytes(), display_name or path.name, encoding, separator)


def dialect_of(data: bytes, file: str, encoding: str | None = None, separator: str | None = None) -> Dialect:
    """The dialect of a CSV file's bytes (see `detect_dialect`); `file` names it in errors."""
    text, bom = decode(data, file, encoding)
    if not text.strip("\r\n"):
        raise SourceDataError("the file holds no text; a CSV source needs at least a header line", file=file, line=1)
    found = "declared in the registry"
    if separator is None:
        separator, found = sniff_separator(text)
    header, records, multiline, blank = read_records(text, separator, file)
    return Dialect(
        encoding=codecs.lookup(encoding).name if encoding else "utf-8",
        bom=bom,
        line_ending=line_ending(text),
        separator=separator,
        separator_found=found,
        header=header,
        records=records,
        lines=text.count("\n") + (not text.endswith("\n")),
        multiline_records=multiline,
        blank_lines=blank,
    )


def read_records(text: str, separator: str, file: str) -> tuple[list[str], int, int, int]:
    """Header, data records, records spanning several lines and blank lines, parsed strictly by the csv module
    (as the staged reader parses the header)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    records = multiline = blank = 0
    try:
        header = next(reader, [])
        previous = reader.line_num
        for record in reader:
            if record:
                records += 1
                # a CR alone inside a field moves line_num too, but a line ends at LF only
                multiline += reader.line_num - previous > 1 and any("\n" in field for field in record)
            else:
                blank += 1
            previous = reader.line_num
    except csv.Error as error:
        reason = f"cannot be parsed with separator {separator!r}: {error}"
        raise SourceDataError(reason, file=file, line=reader.line_num) from error
    if not header or header == [""]:
        raise SourceDataError("the first line is empty: no header", file=file, line=1)
    return header, records, multiline, blank


def line_ending(text: str) -> LineEnding:
    """What ends the records of `text` (a line break inside a quoted field is data, not an ending)."""
    if "\n" not in text:
        return "CR" if "\r" in text else "none"
    if '"' not in text:
        crlf = text.count("\r\n")
        lf = text.count("\n") - crlf
    else:
        crlf = lf = 0
        quoted = False
        for line in text.split("\n")[:-1]:
            quoted ^= line.count('"') % 2 == 1
            if not quoted:
                crlf, lf = (crlf + 1, lf) if line.endswith("\r") else (crlf, lf + 1)
    if crlf and lf:
        return "mixed"
    return "CRLF" if crlf else "LF" if lf else "none"


