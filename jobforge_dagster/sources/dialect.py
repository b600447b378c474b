"""A CSV file's dialect, read from its bytes: encoding, byte order mark, line endings, separator, header, records."""

import codecs
import csv
import io
import json
import re
from functools import cache
from pathlib import Path
from typing import Literal

from charset_normalizer import from_bytes
from pydantic import BaseModel, ConfigDict, Field

from jobforge_dagster.errors import SourceDataError

BOM = b"\xef\xbb\xbf"
UTF8_NAMES = {"utf-8", "utf-8-sig"}
#: Separators recognised in an undeclared file; when two split it equally well, the first wins.
SEPARATORS: tuple[str, ...] = (",", ";", "\t", "|")
SEPARATOR_NAMES: dict[str, str] = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
#: Records (the header included) the separator is sniffed from.
SNIFF_RECORDS = 200
#: Named for a file that is not UTF-8 whenever the detector finds it plausible: short files cannot be told apart
#: from other single-byte encodings by statistics, and Canadian English and French exports use Windows-1252.
PREFERRED_LEGACY = "cp1252"

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


class EncodingRefused(SourceDataError):
    """A file that is not valid UTF-8 and declares no encoding; `likely` is the encoding it most likely is."""

    def __init__(self, message: str, *, file: str, line: int, likely: str | None) -> None:
        super().__init__(message, file=file, line=line)
        self.likely = likely


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


def decode(data: bytes, file: str, encoding: str | None = None) -> tuple[str, bool]:
    """The text without its byte order mark, and whether it had one: UTF-8 unless another `encoding` is declared;
    an undeclared file that is not UTF-8 raises EncodingRefused."""
    if encoding is not None and codecs.lookup(encoding).name not in UTF8_NAMES:
        try:
            return data.decode(encoding), False
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            message = f"not valid {encoding}: byte 0x{data[error.start]:02X} in {around(data, error.start)}"
            raise SourceDataError(message, file=file, line=line) from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise not_utf8(data, error.start, file) from error
    return text.removeprefix("\ufeff"), data.startswith(BOM)


def around(data: bytes, position: int) -> str:
    """The bytes of the line around `position` (at most 20 before, 10 after), for a message."""
    start = max(data.rfind(b"\n", 0, position) + 1, position - 20)
    end = data.find(b"\n", position)
    return repr(data[start : min(position + 11, len(data) if end < 0 else end)].removesuffix(b"\r"))


def not_utf8(data: bytes, position: int, file: str) -> EncodingRefused:
    """The refusal of an undeclared file whose byte at `position` is the first that is not UTF-8."""
    likely = likely_encoding(data)
    advice = (
        f"it is most likely {likely}: declare `encoding: {likely}` in its registry entry"
        if likely
        else "its encoding could not be told: declare it with `encoding:` in its registry entry"
    )
    return EncodingRefused(
        f"not valid UTF-8: byte 0x{data[position]:02X} in {around(data, position)}; {advice}",
        file=file,
        line=data.count(b"\n", 0, position) + 1,
        likely=likely,
    )


def likely_encoding(data: bytes) -> str | None:
    """The encoding `data` most likely is (charset-normalizer's guess, or PREFERRED_LEGACY when plausible)."""
    matches = from_bytes(data)
    plausible = {codecs.lookup(name).name for match in matches for name in match.could_be_from_charset}
    if PREFERRED_LEGACY in plausible:
        return PREFERRED_LEGACY
    best = matches.best()
    return None if best is None else codecs.lookup(best.encoding).name


def sniff_separator(text: str, records: int = SNIFF_RECORDS) -> tuple[str, str]:
    """The separator of SEPARATORS splitting the header and the first `records` records into one number of fields,
    two or more, with every quote where RFC 4180 allows one (so separators inside quoted fields do not count); the
    one giving most fields wins. Failing that, the one splitting the header into most fields; failing that `,`."""
    counts = {separator: field_counts(text, separator, records) for separator in SEPARATORS}
    valid = {separator: found for separator, found in counts.items() if found and found[0] >= 2}
    consistent = [separator for separator, found in valid.items() if len(set(found)) == 1]
    if consistent:
        best = max(consistent, key=lambda separator: valid[separator][0])
        sampled = len(valid[best]) - 1
        return best, f"sniffed: {valid[best][0]} fields in the header and in each of the first {sampled} records"
    if valid:
        best = max(valid, key=lambda separator: valid[separator][0])
        return best, f"sniffed from the header alone ({valid[best][0]} fields): records differ in field count"
    return ",", "sniffed: no comma, semicolon, tab or vertical bar splits the header, so one column"


@cache
def field_pattern(separator: str) -> re.Pattern[str]:
    """One RFC 4180 field: quoted (doubled quotes inside), or unquoted without quote, separator or line break."""
    return re.compile(rf'"[^"]*(?:""[^"]*)*"|[^"{re.escape(separator)}\r\n]*')


def field_counts(text: str, separator: str, limit: int) -> list[int] | None:
    """Fields per record for the first `limit` records (blank lines skipped) under RFC 4180 with `separator`;
    None if a quote stands where RFC 4180 allows none (inside an unquoted field, after a closing quote, unclosed)."""
    field = field_pattern(separator)
    counts: list[int] = []
    fields, position, end = 1, 0, len(text)
    while len(counts) < limit:
        match = field.match(text, position)
        position = match.end()
        char = text[position : position + 1]
        if char == separator:
            fields, position = fields + 1, position + 1
            continue
        if char not in ("\n", "\r", ""):
            return None
        if fields > 1 or match.end() > match.start():
            counts.append(fields)
        fields = 1
        position += 2 if text.startswith("\r\n", position) else 1
        if position >= end:
            break
    return counts


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


def registry_separator(separator: str) -> str:
    """The registry line declaring `separator`: `separator: ";"`, `separator: "\\t"`."""
    return f"separator: {json.dumps(separator)}"


def one_column_refusal(header: list[str], file: str, separator: str = ",") -> SourceDataError | None:
    """The error for a header read with `separator` as ONE cell that holds another separator of SEPARATORS (a file
    that would load as one column), naming the separator seen and the registry line that loads the file; else None."""
    if len(header) != 1:
        return None
    cell = header[0]
    seen = {other: cell.count(other) for other in SEPARATORS if other != separator}
    found = max(seen, key=lambda other: seen[other])
    if not seen[found]:
        return None
    columns = len(next(csv.reader([cell], delimiter=found)))
    name = SEPARATOR_NAMES[found]
    return SourceDataError(
        f"the header is one cell holding {seen[found]} {name}{'s' if seen[found] > 1 else ''} ({cell[:80]!r}), so the "
        f"file would load as one column; to read it as {columns} columns separated by {name}s, declare "
        f"`{registry_separator(found)}` in its registry entry",
        file=file,
        line=1,
    )
