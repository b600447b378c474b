"""Errors that name the file, line, record and column of bad input."""


def place(line: int | None = None, record: int | None = None, column: str | None = None) -> str:
    """One record's place, said the same way by every layer: `line 3 (record 2), column 'Pay'`.

    `line` is the 1-based physical line the record starts on (the header is line 1), `record` the 1-based data
    record (`_source_row`), `column` the header as spelled in the file."""
    parts = []
    if line is not None:
        parts.append(f"line {line}" + (f" (record {record})" if record is not None else ""))
    elif record is not None:
        parts.append(f"record {record}")
    if column is not None:
        parts.append(f"column {column!r}")
    return ", ".join(parts)


def where(file: str, line: int | None = None, record: int | None = None, column: str | None = None) -> str:
    """`source/a.csv, line 3 (record 2), column 'Pay'`: a file and a place in it (see `place`)."""
    found = place(line, record, column)
    return f"{file}, {found}" if found else file


class SourceDataError(ValueError):
    """Bad input in a source file or a layer built from it."""

    def __init__(
        self,
        message: str,
        *,
        file: str,
        line: int | None = None,
        record: int | None = None,
        column: str | None = None,
        value: str | None = None,
    ) -> None:
        """`line` is the 1-based physical line, header included; `record` the 1-based data record (as
        `_source_row`); `column` the header as spelled in the file; `value` the cell, when one is at fault."""
        self.file, self.line, self.record, self.column, self.value = file, line, record, column, value
        super().__init__(f"{where(file, line, record, column)}: {message}")


class SourceChangedError(RuntimeError):
    """The source file was modified or replaced while a run read it."""


class LayerWriteError(RuntimeError):
    """Writing a layer's parquet failed; the previous file, if any, is untouched."""


class QueryError(ValueError):
    """A gold query that was refused or failed, with the reason."""


class TraceError(ValueError):
    """A trace that cannot be answered: an unknown table or source, a line outside the file, a missing batch."""


class BlockingChecksFailed(RuntimeError):
    """A new gold failed a blocking check and was set aside; the last good gold stays published."""


class ConfigurationError(RuntimeError):
    """A deployment setting that JobForge cannot run safely with (e.g. object storage without pool limits)."""
