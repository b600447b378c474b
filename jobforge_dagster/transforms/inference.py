"""Type inference for undeclared tables: a text column becomes a number or a date only when every non-null value
parses and writes back as exactly the same text (`120000` -> 120000; `00010`, `+5`, `1e3` stay text).

Numbers are read under the table's number convention: the one under which most of its columns are numbers
(`42,50` is a number in a French-Canadian export). A column whose values all have the same decimals becomes a
fixed-scale decimal, which keeps `42.50` as written; a float only takes plain decimals of varying scale.

Booleans are never inferred: `true` read as a boolean is written back as `true` by polars and DuckDB but as
`True` by Python, so no spelling survives every writer; a 0/1 column is an int64 column anyway.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl

from jobforge_dagster.layers import PROVENANCE_COLUMNS, QUARANTINE_REASON
from jobforge_dagster.registry.numbers import PLAIN, NumberFormat
from jobforge_dagster.transforms.numbers import (
    InferredNumber,
    infer_conventions,
    infer_numbers,
    likely_format,
    parse_number,
)

#: A float is inferred only in plain decimal notation, and only in the range where polars, DuckDB and Python
#: all write it back without an exponent (Python writes 0.00001 as `1e-05`).
PLAIN_DECIMAL = r"^-?\d+\.\d+$"
SMALLEST_PLAIN = 1e-4
LARGEST_PLAIN = 1e15
ISO_DATE = "%Y-%m-%d"


@dataclass(frozen=True)
class Candidate:
    """A type a text column may take: its registry name, how text parses to it, and when a parse is allowed."""

    name: str
    dtype: pl.DataType
    parse: Callable[[pl.Expr, bool], pl.Expr]  # (text, strict); not strict: text that does not parse gives null
    allowed: Callable[[pl.Expr, pl.Expr], pl.Expr]  # (text, parsed) -> True where the parse may be kept


def no_limit(text: pl.Expr, parsed: pl.Expr) -> pl.Expr:
    return pl.lit(True)


def plain_float(text: pl.Expr, parsed: pl.Expr) -> pl.Expr:
    size = parsed.abs()
    in_range = (size == 0) | ((size >= SMALLEST_PLAIN) & (size < LARGEST_PLAIN))
    return text.str.contains(PLAIN_DECIMAL) & in_range


#: Narrowest first: the first candidate every value of a column fits is its type.
CANDIDATES: tuple[Candidate, ...] = (
    Candidate("int64", pl.Int64(), lambda text, strict: text.cast(pl.Int64, strict=strict), no_limit),
    Candidate("float64", pl.Float64(), lambda text, strict: text.cast(pl.Float64, strict=strict), plain_float),
    Candidate("date", pl.Date(), lambda text, strict: text.str.to_date(ISO_DATE, strict=strict), no_limit),
)
BY_NAME = {candidate.name: candidate for candidate in CANDIDATES}


@dataclass(frozen=True)
class InferredType:
    """The type a text column was given (`int64`, `decimal(38,2)`, `float64`, `date`), how many non-null values
    it holds, and the number convention a number was read under."""

    type: str
    values: int
    format: NumberFormat = PLAIN

    @property
    def dtype(self) -> pl.DataType:
        if self.type.startswith("decimal("):
            return pl.Decimal(*(int(part) for part in self.type[len("decimal(") : -1].split(",")))
        return BY_NAME[self.type].dtype

    def parse(self, text: pl.Expr) -> pl.Expr:
        """The text as this type, strictly: a value that does not parse raises."""
        if self.type in BY_NAME and self.type != "int64":
            return BY_NAME[self.type].parse(text, True)
        return parse_number(text, self.format, self.dtype, strict=True)


def text_columns(frame: pl.LazyFrame) -> list[str]:
    """Data columns of type String (provenance and quarantine columns excluded)."""
    skipped = {*PROVENANCE_COLUMNS, QUARANTINE_REASON}
    return [name for name, dtype in frame.collect_schema().items() if dtype == pl.String and name not in skipped]


def fits(text: pl.Expr, candidate: Candidate) -> pl.Expr:
    """True when every non-null value parses to the candidate and writes back as the same text."""
    parsed = candidate.parse(text, False)
    same = parsed.cast(pl.String).eq_missing(text)
    kept = text.is_null() | (same & candidate.allowed(text, parsed))
    return kept.fill_null(False).all()


def table_types(frame: pl.LazyFrame, columns: list[str]) -> tuple[NumberFormat, dict[str, InferredType]]:
    """The convention under which most of `columns` are numbers writing back as written (PLAIN when none is), and
    the type each column takes under it (`infer_types`), the numbers from the same passes over the frame."""
    conventions = infer_conventions(frame, columns) if columns else {}
    fmt = likely_format(conventions)
    return fmt, typed_columns(frame, columns, fmt, conventions.get(fmt, {}))


def infer_types(
    frame: pl.LazyFrame, columns: list[str] | None = None, fmt: NumberFormat | None = None
) -> dict[str, InferredType]:
    """The type each text column (default: all) can take without changing a value: a number under `fmt` (default:
    the table's convention, `table_types`), else a plain float, else a date. Columns holding no value at all, or a
    value no type keeps, are left out (they stay text)."""
    columns = text_columns(frame) if columns is None else columns
    if fmt is None:
        return table_types(frame, columns)[1]
    return typed_columns(frame, columns, fmt, infer_numbers(frame, columns, fmt))


def typed_columns(
    frame: pl.LazyFrame, columns: list[str], fmt: NumberFormat, numbers: Mapping[str, InferredNumber]
) -> dict[str, InferredType]:
    """The `numbers` found under `fmt` as types, and the first other type each remaining column fits."""
    typed = {column: InferredType(found.type_name, found.values, fmt) for column, found in numbers.items()}
    rest = [column for column in columns if column not in typed]
    others = [candidate for candidate in CANDIDATES[1:] if fmt == PLAIN or candidate.name != "float64"]
    return typed | other_types(frame, rest, others)


def other_types(frame: pl.LazyFrame, columns: list[str], candidates: list[Candidate]) -> dict[str, InferredType]:
    """The first of `candidates` each column fits, in one pass over the frame."""
    if not columns or not candidates:
        return {}
    tests = [pl.col(column).count().alias(f"{index}") for index, column in enumerate(columns)]
    tests += [
        fits(pl.col(column), candidate).alias(f"{index}:{candidate.name}")
        for index, column in enumerate(columns)
        for candidate in candidates
    ]
    verdicts = frame.select(tests).collect().row(0, named=True)
    inferred = {}
    for index, column in enumerate(columns):
        values = verdicts[f"{index}"]
        found = next((c.name for c in candidates if verdicts[f"{index}:{c.name}"]), None)
        if values and found is not None:
            inferred[column] = InferredType(found, values)
    return inferred


def cast_inferred(frame: pl.LazyFrame, inferred: dict[str, InferredType]) -> pl.LazyFrame:
    """The frame with each inferred column parsed to its type; strict, so a value that no longer parses raises."""
    return frame.with_columns(found.parse(pl.col(column)).alias(column) for column, found in inferred.items())


def inference_transforms(inferred: dict[str, InferredType]) -> list[str]:
    """One lineage-log line per inferred column, or one saying every column stays text."""
    if not inferred:
        return ["inferred types: none, every column stays text"]
    formats = {found.format for found in inferred.values()} - {PLAIN}
    convention = [f"numbers read as written with {fmt.label}" for fmt in formats]
    return convention + [
        f"inferred type: {column} -> {found.type} ({found.values} value{'' if found.values == 1 else 's'})"
        for column, found in inferred.items()
    ]


def inferred_names(inferred: dict[str, InferredType]) -> dict[str, str]:
    """Column -> registry type name, as the catalog and the lineage log record it."""
    return {column: found.type for column, found in inferred.items()}


def carried_types(frame: pl.LazyFrame) -> dict[str, str]:
    """Inferred columns as a later layer of an undeclared table sees them: its data columns of an inferable type
    (before silver, such a table holds text only)."""
    names = {candidate.dtype: candidate.name for candidate in CANDIDATES}
    return {
        column: f"decimal({dtype.precision},{dtype.scale})" if isinstance(dtype, pl.Decimal) else names[dtype]
        for column, dtype in frame.collect_schema().items()
        if (dtype in names or isinstance(dtype, pl.Decimal)) and column not in PROVENANCE_COLUMNS
    }
