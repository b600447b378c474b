"""Type inference for undeclared tables: a text column becomes int64, float64 or date only when every non-null value
parses and writes back as exactly the same text (`120000` -> 120000; `00010`, `+5`, `1.50`, `1e3` stay text).

Booleans are never inferred: `true` read as a boolean is written back as `true` by polars and DuckDB but as
`True` by Python, so no spelling survives every writer; a 0/1 column is an int64 column anyway.
"""

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from jobforge_dagster.layers import PROVENANCE_COLUMNS, QUARANTINE_REASON

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
    """The type a text column was given, and how many non-null values it holds."""

    type: str
    values: int


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


def infer_types(frame: pl.LazyFrame, columns: list[str] | None = None) -> dict[str, InferredType]:
    """The type each text column (default: all) can take without changing a value, in one pass over the frame.

    Columns holding no value at all, or a value no candidate keeps, are left out (they stay text).
    """
    columns = text_columns(frame) if columns is None else columns
    if not columns:
        return {}
    tests = [pl.col(column).count().alias(f"{index}") for index, column in enumerate(columns)]
    tests += [
        fits(pl.col(column), candidate).alias(f"{index}:{candidate.name}")
        for index, column in enumerate(columns)
        for candidate in CANDIDATES
    ]
    verdicts = frame.select(tests).collect().row(0, named=True)
    inferred = {}
    for index, column in enumerate(columns):
        values = verdicts[f"{index}"]
        found = next((c.name for c in CANDIDATES if verdicts[f"{index}:{c.name}"]), None)
        if values and found is not None:
            inferred[column] = InferredType(found, values)
    return inferred


def cast_inferred(frame: pl.LazyFrame, inferred: dict[str, InferredType]) -> pl.LazyFrame:
    """The frame with each inferred column parsed to its type; strict, so a value that no longer parses raises."""
    return frame.with_columns(BY_NAME[found.type].parse(pl.col(column), True) for column, found in inferred.items())


def inference_transforms(inferred: dict[str, InferredType]) -> list[str]:
    """One lineage-log line per inferred column, or one saying every column stays text."""
    if not inferred:
        return ["inferred types: none, every column stays text"]
    return [
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
        column: names[dtype]
        for column, dtype in frame.collect_schema().items()
        if dtype in names and column not in PROVENANCE_COLUMNS
    }
