"""Errors that name the file, row and column of bad input."""


class SourceDataError(ValueError):
    """Bad input in a source file or a layer built from it."""

    def __init__(
        self, message: str, *, file: str, row: int | None = None, column: str | None = None, line: int | None = None
    ) -> None:
        """`row` is the 1-based data record (as `_source_row`); `line` the 1-based physical line, header included."""
        self.file, self.row, self.column, self.line = file, row, column, line
        where = file
        if line is not None:
            where += f", line {line}"
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


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
