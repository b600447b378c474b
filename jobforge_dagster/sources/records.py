"""A source file read back record by record: the exact text of the record that starts on a physical line.

Lines end at `\\n` (a carriage return alone is data), the header is line 1, as `_source_line` counts them.
"""

import csv
import io
import itertools
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from jobforge_dagster.errors import TraceError
from jobforge_dagster.sources.scan import FORMATS
from jobforge_dagster.storage.files import open_regular
from jobforge_dagster.storage.parquet import scan_parquet


@dataclass(frozen=True)
class SourceText:
    """One source file's bytes (a batch's archive, or the source itself), read as its format says."""

    path: Path
    encoding: str = "utf8"
    separator: str = ","

    @property
    def format(self) -> str:
        return FORMATS.get(self.path.suffix.lower(), "csv")

    def line_count(self) -> int:
        """Physical lines: `\\n` characters, plus one for a last line without one."""
        lines, last = 0, b"\n"
        with open_regular(self.path) as handle:
            while chunk := handle.read(1 << 20):
                lines, last = lines + chunk.count(b"\n"), chunk[-1:]
        return lines + (last != b"\n")

    def lines_from(self, line: int) -> Iterator[str]:
        """Decoded physical lines from `line` on (1-based), each with its `\\n`."""
        handle = open_regular(self.path)  # closed when the generator is
        try:
            for raw in itertools.islice(handle, line - 1, None):
                yield raw.decode(self.encoding)
        finally:
            handle.close()

    def csv_record_text(self, line: int) -> str:
        """The text of the CSV record that starts on `line`: lines until every quote is closed."""
        text = ""
        for physical in self.lines_from(line):
            text += physical
            if text.count('"') % 2 == 0:
                break
        if not text:
            raise TraceError(f"line {line} is past the end of {self.path.name}")
        return text.removesuffix("\n").removesuffix("\r") if text.endswith("\n") else text

    def csv_records_at(self, starts: Collection[int]) -> dict[int, str]:
        """The text of each CSV record that starts on one of the lines `starts`, from one pass over the file."""
        wanted, found = set(starts), {}
        current, text = None, ""
        with open_regular(self.path) as handle:
            for number, raw in enumerate(handle, start=1):
                if current is None and number in wanted:
                    current, text = number, ""
                if current is None:
                    continue
                text += raw.decode(self.encoding)
                if text.count('"') % 2 == 0:
                    found[current], current = text.removesuffix("\n").removesuffix("\r"), None
                    if len(found) == len(wanted):
                        break
        if current is not None:
            found[current] = text
        return found

    def parse(self, text: str) -> list[str]:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=self.separator), [])

    @cached_property
    def header_names(self) -> list[str]:
        return self.parse(self.csv_record_text(1).removeprefix("\ufeff"))

    def header(self) -> list[str]:
        return self.header_names

    def record(self, record: int, line: int | None, raw: str | None = None) -> tuple[str | None, dict[str, Any] | None]:
        """(raw text, header -> cell) of a record; record 0 is the header itself. `raw` is the CSV record's text
        when it was read already (`csv_records_at`)."""
        if self.format == "parquet":
            row = scan_parquet(self.path).slice(record - 1, 1).collect().to_dicts()
            return None, ({name: str(value) for name, value in row[0].items()} if row else None)
        if self.format == "jsonl":
            raw = next(self.lines_from(line or record), "").rstrip("\n")
            return raw, json.loads(raw) if raw else None
        if record == 0:  # the header: its text as its cells are read, without a byte order mark
            raw = self.csv_record_text(1).removeprefix("\ufeff")
            return raw, {name: name for name in self.header()}
        raw = raw if raw is not None else self.csv_record_text(line if line is not None else record + 1)
        return raw, dict(zip(self.header(), self.parse(raw), strict=False))
