"""How a CSV source is written, as the staged reader decides it: the separator (declared, or sniffed from the
header and the first records), the encoding (UTF-8 unless declared), the refusals of a file that would load as one
column or is not the text it claims to be."""

import codecs
import csv
import json
import re
from functools import cache
from pathlib import Path

from charset_normalizer import from_bytes
from pydantic import BaseModel, ConfigDict, Field

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.registry.spec import TableSpec

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
#: Bytes read from the start of an undeclared file to sniff its separator.
SNIFF_BYTES = 1 << 20
#: Bytes charset-normalizer is shown to tell the encoding of a file that is not UTF-8.
LIKELY_SAMPLE_BYTES = 4 << 20
#: Bytes read at a time when looking for the first byte that is not UTF-8.
CHUNK_BYTES = 16 << 20


class SourceDialect(BaseModel):
    """How the staged layer read a CSV source: its separator and encoding, and how each was chosen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    separator: str
    separator_found: str = Field(description="`declared in the registry`, the registry's default, or how sniffed.")
    encoding: str = Field(description="What the bytes were read as: `utf-8`, or the declared encoding (e.g. cp1252).")
    encoding_found: str = Field(description="`UTF-8, the default`, or `declared in the registry`.")
    bom: bool = Field(default=False, description="The file starts with a UTF-8 byte order mark (not data).")

    @property
    def converted(self) -> bool:
        """Whether staged holds the text decoded from another encoding (staged is always UTF-8)."""
        return self.encoding not in UTF8_NAMES

    def transforms(self) -> list[str]:
        """What the lineage log says of how the file was read."""
        name = SEPARATOR_NAMES.get(self.separator, "separator")
        lines = [f"separator {json.dumps(self.separator)} ({name}): {self.separator_found}"]
        if self.converted:
            lines.append(f"decoded from {self.encoding} to UTF-8 ({self.encoding_found})")
        return lines


def source_dialect(path: Path, spec: TableSpec) -> SourceDialect:
    """How to read the CSV file at `path` for `spec`: a declared table as its entry says; an undeclared one as
    UTF-8, its separator sniffed from the header and the first SNIFF_RECORDS records."""
    with open(path, "rb") as handle:  # a declared table's file: only whether it starts with a byte order mark
        start = handle.read(len(BOM) if spec.declared else SNIFF_BYTES)
    encoding = codecs.lookup(spec.encoding).name
    found = "declared in the registry" if "encoding" in spec.model_fields_set else "UTF-8, the default"
    dialect = {"encoding": encoding, "encoding_found": found, "bom": start.startswith(BOM)}
    if spec.declared:
        declared = "separator" in spec.model_fields_set
        how = "declared in the registry" if declared else "the registry's default"
        return SourceDialect(separator=spec.separator, separator_found=how, **dialect)
    text = start.decode("utf-8", errors="replace").removeprefix("\ufeff")
    if len(start) == SNIFF_BYTES and "\n" in text:  # a record cut by the end of the sample is not sniffed
        text = text[: text.rindex("\n") + 1]
    separator, how = sniff_separator(text)
    return SourceDialect(separator=separator, separator_found=how, **dialect)

class EncodingRefused(SourceDataError):
    """A file that is not valid UTF-8 and declares no encoding; `likely` is the encoding it most likely is."""

    def __init__(self, message: str, *, file: str, line: int, likely: str | None) -> None:
        super().__init__(message, file=file, line=line)
        self.likely = likely


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


def not_utf8(
    data: bytes, position: int, file: str, line: int | None = None, sample: bytes | None = None
) -> EncodingRefused:
    """The refusal of an undeclared file whose byte at `position` of `data` is the first that is not UTF-8; `line`
    (else counted in `data`) is that byte's line in the file, `sample` (else `data`) what the encoding is told from."""
    likely = likely_encoding(data if sample is None else sample)
    advice = (
        f"it is most likely {likely}: declare `encoding: {likely}` in its registry entry"
        if likely
        else "its encoding could not be told: declare it with `encoding:` in its registry entry"
    )
    return EncodingRefused(
        f"not valid UTF-8: byte 0x{data[position]:02X} in {around(data, position)}; {advice}",
        file=file,
        line=data.count(b"\n", 0, position) + 1 if line is None else line,
        likely=likely,
    )


def first_invalid_utf8(path: Path) -> tuple[int, int] | None:
    """(offset, line) of the first byte of the file that is not UTF-8; None if the whole file is UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                position = offset - pending + error.start
                return position, lines + chunk[: max(position - offset, 0)].count(b"\n") + 1
            offset, lines = offset + len(chunk), lines + chunk.count(b"\n")
    pending = len(decoder.getstate()[0])  # a sequence the file ends in the middle of
    return (offset - pending, lines + 1) if pending else None


def not_utf8_file(path: Path, file: str) -> EncodingRefused | None:
    """The refusal of the file at `path` if it is not valid UTF-8 (see `not_utf8`), else None."""
    found = first_invalid_utf8(path)
    if found is None:
        return None
    position, line = found
    with open(path, "rb") as handle:
        sample = handle.read(LIKELY_SAMPLE_BYTES)
        handle.seek(start := max(position - 200, 0))
        window = handle.read(position - start + 200)
    return not_utf8(window, position - start, file, line=line, sample=sample)


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
