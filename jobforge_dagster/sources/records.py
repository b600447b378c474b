"""A source file read back record by record: the exact text of the record that starts on a physical line.

Lines end at `\\n` (a carriage return alone is data), the header is line 1, as `_source_line` counts them.
"""

import csv
import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
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

    def parse(self, text: str) -> list[str]:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=self.separator), [])

    def header(self) -> list[str]:
        return self.parse(self.csv_record_text(1).removeprefix("\ufeff"))

    def record(self, record: int, line: int | None) -> tuple[str | None, dict[str, Any] | None]:
        """(raw text, header -> cell) of a record; record 0 is the header itself."""
        if self.format == "parquet":
            row = scan_parquet(self.path).slice(record - 1, 1).collect().to_dicts()
            return None, ({name: str(value) for name, value in row[0].items()} if row else None)
        if self.format == "jsonl":
            raw = next(self.lines_from(line or record), "").rstrip("\n")
            return raw, json.loads(raw) if raw else None
        if record == 0:
            raw = self.csv_record_text(1)
            return raw, {name: name for name in self.header()}
        raw = self.csv_record_text(line if line is not None else record + 1)
        return raw, dict(zip(self.header(), self.parse(raw), strict=False))
