"""Numbers as text: text parsed under a number convention (`registry.numbers`), and inference of the text columns
that are numbers writing back exactly as written (`42,50` -> 42.50, scale kept)."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from jobforge_dagster.layers import SOURCE_ROW
from jobforge_dagster.registry.numbers import CONVENTIONS, DIGITS, PLAIN, NumberFormat

#: Precision of every inferred decimal (the largest polars keeps); its scale is the one its values are written with.
DECIMAL_PRECISION = 38
#: How many unparsable cells `bad_numbers` lists by default.
MAX_REPORTED = 5
#: Every character a number may hold under some convention, as a regex class of what is not one.
NOT_A_NUMBER = "[^-0-9.,' \u00a0\u202f]"
#: The marks themselves: decimal marks and thousands separators.
MARKS = (".", ",", "'", " ", "\u00a0", "\u202f")


def scale_of(dtype: pl.DataType) -> int | None:
    """Decimals a numeric type keeps: 0 for integers, the scale of a decimal, None (any) for floats."""
    if dtype.is_integer():
        return 0
    return dtype.scale if isinstance(dtype, pl.Decimal) else None


def parse_number(text: pl.Expr, fmt: NumberFormat, dtype: pl.DataType, strict: bool = False) -> pl.Expr:
    """`text` as `dtype` (integer, float or decimal) read under `fmt`, whitespace not trimmed. Not strict: null where
    the text is not a number written under `fmt`, has more decimals than `dtype` keeps, or does not fit `dtype`;
    strict: those raise, naming the value."""
    plain = text
    for separator in fmt.thousands_separators:
        plain = plain.str.replace_all(separator, "", literal=True)
    if fmt.decimal_mark == ",":
        plain = plain.str.replace(",", ".", literal=True)
    written = text.str.contains(fmt.pattern(scale_of(dtype)))
    if strict:
        return pl.when(written).then(plain).otherwise(pl.lit(f"not a number ({fmt.label}): ") + text).cast(dtype)
    return pl.when(written).then(plain).cast(dtype, strict=False)


def write_number(value: pl.Expr, fmt: NumberFormat) -> pl.Expr:
    """A number as text under `fmt`: grouped by threes with its first thousands separator, its decimal mark."""
    text = value.cast(pl.String)
    if fmt == PLAIN:
        return text
    digits = text.str.strip_prefix("-")
    whole = digits.str.extract(f"^({DIGITS}+)", 1)
    if fmt.thousands_separators:
        mark = fmt.thousands_separators[0]
        reversed_groups = whole.str.reverse().str.replace_all(f"({DIGITS}{{3}})", "${1}" + mark)
        whole = reversed_groups.str.reverse().str.strip_prefix(mark)
    fraction = fmt.decimal_mark + digits.str.extract(rf"\.({DIGITS}+)$", 1)
    sign = pl.when(text.str.starts_with("-")).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, whole, fraction], ignore_nulls=True)


class BadNumber(BaseModel):
    """A cell of a declared numeric column that is not a number under the table's format."""

    row: int = Field(description="1-based data record (as `_source_row`).")
    column: str
    value: str


def unparsable(text: pl.Expr, fmt: NumberFormat, dtype: pl.DataType) -> pl.Expr:
    """True where a cell holds text (trimmed, not empty) that is not a `dtype` written under `fmt`."""
    trimmed = text.str.strip_chars()
    return trimmed.is_not_null() & (trimmed != "") & parse_number(trimmed, fmt, dtype).is_null()


def bad_numbers(
    frame: pl.LazyFrame, columns: Mapping[str, pl.DataType], fmt: NumberFormat, limit: int = MAX_REPORTED
) -> list[BadNumber]:
    """The first `limit` cells (by row, then column order) of `columns` that do not parse as their type under `fmt`;
    rows are `_source_row` when the frame has it, else 1-based positions."""
    if SOURCE_ROW not in frame.collect_schema().names():
        frame = frame.with_row_index(SOURCE_ROW, offset=1)
    masks = {column: unparsable(pl.col(column), fmt, dtype) for column, dtype in columns.items()}
    cells = (pl.when(mask).then(pl.col(column)).alias(column) for column, mask in masks.items())
    flagged = (
        frame.filter(pl.any_horizontal(*masks.values()))
        .select(pl.col(SOURCE_ROW), *cells)
        .sort(SOURCE_ROW)
        .head(limit)
        .collect()
    )
    bad = [
        BadNumber(row=row[SOURCE_ROW], column=column, value=row[column])
        for row in flagged.rows(named=True)
        for column in columns
        if row[column] is not None
    ]
    return bad[:limit]


class InferredNumber(BaseModel):
    """A text column every value of which is a number that writes back as written, under `format`."""

    model_config = ConfigDict(frozen=True)

    type: Literal["int64", "decimal"]
    scale: int = Field(default=0, description="Decimals every value is written with (0 for int64).")
    values: int = Field(description="Non-null values in the column.")
    format: NumberFormat = PLAIN

    @property
    def dtype(self) -> pl.DataType:
        return pl.Int64() if self.type == "int64" else pl.Decimal(DECIMAL_PRECISION, self.scale)

    @property
    def type_name(self) -> str:
        """`int64` or `decimal(38,2)`, as the registry spells a type."""
        return self.type if self.type == "int64" else f"decimal({DECIMAL_PRECISION},{self.scale})"


def infer_numbers(frame: pl.LazyFrame, columns: Sequence[str], fmt: NumberFormat = PLAIN) -> dict[str, InferredNumber]:
    """The text columns (nulls ignored, text not trimmed) whose every value is a number under `fmt` that writes back
    as exactly the same text: int64 without decimals, else a fixed-scale decimal when all have as many decimals."""
    return infer_conventions(frame, columns, (fmt,))[fmt]


def infer_conventions(
    frame: pl.LazyFrame, columns: Sequence[str], formats: Sequence[NumberFormat] = CONVENTIONS
) -> dict[NumberFormat, dict[str, InferredNumber]]:
    """`infer_numbers` under each of `formats`. A column is tested once per distinct `signature` (formats that
    differ only in marks its values never hold give it the same verdict), in three passes over the frame."""
    marks = column_marks(frame, columns)
    tested: dict[tuple[str, tuple[object, ...]], NumberFormat] = {}
    for fmt in formats:
        for column in columns:
            if marks[column] is not None:
                tested.setdefault((column, signature(fmt, marks[column])), fmt)
    found = infer_pairs(frame, [(column, fmt) for (column, _), fmt in tested.items()], marks)
    inferred: dict[NumberFormat, dict[str, InferredNumber]] = {fmt: {} for fmt in formats}
    for fmt in formats:
        for column in columns:
            if marks[column] is None:
                continue
            tested_as = found.get((column, tested[(column, signature(fmt, marks[column]))]))
            if tested_as is not None:
                inferred[fmt][column] = tested_as.model_copy(update={"format": fmt})
    return inferred


def column_marks(frame: pl.LazyFrame, columns: Sequence[str]) -> dict[str, frozenset[str] | None]:
    """The marks (decimal marks and thousands separators) a column's values hold; None when a value holds a
    character no number written under any convention has."""
    holds = [
        pl.col(c).str.contains(mark, literal=True).any().alias(f"{i}:{m}")
        for i, c in enumerate(columns)
        for m, mark in enumerate(MARKS)
    ]
    others = (pl.col(c).str.contains(NOT_A_NUMBER).any().alias(f"{i}:other") for i, c in enumerate(columns))
    row = frame.select(*others, *holds).collect().row(0, named=True)
    return {
        c: None if row[f"{i}:other"] else frozenset(mark for m, mark in enumerate(MARKS) if row[f"{i}:{m}"])
        for i, c in enumerate(columns)
    }


def signature(fmt: NumberFormat, marks: frozenset[str]) -> tuple[object, ...]:
    """What of `fmt` a column holding `marks` can tell: the marks it uses, and how grouped values write back."""
    separators = fmt.thousands_separators
    grouping = separators[0] if separators and separators[0] in marks else bool(separators)
    used = tuple(separator for separator in separators if separator in marks)
    return (fmt.decimal_mark if fmt.decimal_mark in marks else "", used, grouping)


def infer_pairs(
    frame: pl.LazyFrame,
    pairs: list[tuple[str, NumberFormat]],
    marks: Mapping[str, frozenset[str] | None] | None = None,
) -> dict[tuple[str, NumberFormat], InferredNumber]:
    """Per (column, format): the number type the column takes, if every value writes back as written. One pass
    finds the decimals each column is written with, a second checks the write-back of the candidate type.

    A grouping format whose separators a column never holds (its `marks`) writes it back as written exactly when
    the same format without separators does and no value has four digits or more before the decimal mark: that
    verdict is taken from the ungrouped pair when it is tested too, instead of grouping every value."""
    shapes = frame.select(shape_tests(pairs)).collect().row(0) if pairs else ()
    candidates = {}
    for index, (_, fmt) in enumerate(pairs):
        values, matching, fewest, most, long = shapes[5 * index : 5 * index + 5]
        if values and matching == values and fewest == most:
            kind = "int64" if most == 0 else "decimal"
            candidates[index] = InferredNumber(type=kind, scale=most, values=values, format=fmt)
    ungrouped = ungrouped_pairs(pairs, candidates.keys(), marks or {})
    checks = [
        writes_back(pl.col(pairs[i][0]), found).alias(str(i)) for i, found in candidates.items() if i not in ungrouped
    ]
    passed = frame.select(checks).collect().row(0, named=True) if checks else {}
    for index, plain in ungrouped.items():
        passed[str(index)] = passed[str(plain)] and not shapes[5 * index + 4]
    return {pairs[index]: found for index, found in candidates.items() if passed[str(index)]}


def ungrouped_pairs(
    pairs: list[tuple[str, NumberFormat]], candidates: Iterable[int], marks: Mapping[str, frozenset[str] | None]
) -> dict[int, int]:
    """Candidate pairs under a grouping format whose separators their column never holds -> the candidate pair of
    the same column under the same decimal mark with no separator."""
    index_of = {pair: index for index, pair in enumerate(pairs)}
    kept = set(candidates)
    ungrouped = {}
    for index in kept:
        column, fmt = pairs[index]
        held = marks.get(column)
        if not fmt.thousands_separators or held is None or held & set(fmt.thousands_separators):
            continue
        plain = index_of.get((column, NumberFormat(decimal_mark=fmt.decimal_mark)))
        if plain is not None and plain in kept:
            ungrouped[index] = plain
    return ungrouped


def shape_tests(pairs: list[tuple[str, NumberFormat]]) -> list[pl.Expr]:
    """Per (column, format): non-null values, values written as a number under the format, fewest and most decimals,
    and (grouping formats) whether a value has four digits or more before any mark."""
    tests = []
    for index, (column, fmt) in enumerate(pairs):
        text = pl.col(column)
        shaped = text.str.contains(fmt.pattern())
        mark = r"\." if fmt.decimal_mark == "." else ","
        decimals = text.str.extract(f"{mark}({DIGITS}+)$", 1).str.len_chars().fill_null(0)
        shaped_decimals = pl.when(shaped).then(decimals)
        long = text.str.contains(f"^-?{DIGITS}{{4}}").any() if fmt.thousands_separators else pl.lit(False)
        tests += [
            text.count().alias(f"{index}:values"),
            shaped.sum().alias(f"{index}:matching"),
            shaped_decimals.min().fill_null(0).alias(f"{index}:fewest"),
            shaped_decimals.max().fill_null(0).alias(f"{index}:most"),
            long.alias(f"{index}:long"),
        ]
    return tests


def writes_back(text: pl.Expr, found: InferredNumber) -> pl.Expr:
    """True when every non-null value parses to `found`'s type and writes back as the same text."""
    parsed = parse_number(text, found.format, found.dtype)
    same = write_number(parsed, found.format).eq_missing(text)
    return (text.is_null() | same).fill_null(False).all()


def cast_numbers(frame: pl.LazyFrame, inferred: Mapping[str, InferredNumber]) -> pl.LazyFrame:
    """The frame with each inferred column parsed to its type; strict, so a value that no longer parses raises."""
    return frame.with_columns(
        parse_number(pl.col(column), found.format, found.dtype, strict=True).alias(column)
        for column, found in inferred.items()
    )


def likely_format(inferred: Mapping[NumberFormat, Mapping[str, InferredNumber]]) -> NumberFormat:
    """The format under which most columns are numbers (the first in order on a tie; PLAIN when none is)."""
    best = max(inferred, key=lambda fmt: len(inferred[fmt]), default=PLAIN)
    return best if inferred.get(best) else PLAIN
