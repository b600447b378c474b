"""A file's columns profiled from their text: codes with leading zeros, candidate keys, numbers under each
convention, NOC 2021 and OaSIS codes and whether they resolve against `dim_noc.noc_code`."""

from collections.abc import Collection, Sequence
from itertools import combinations
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from jobforge_dagster.intake.dialect import Dialect
from jobforge_dagster.registry.names import unique_snake_case
from jobforge_dagster.registry.numbers import CONVENTIONS, NumberFormat
from jobforge_dagster.sources.dialect import decode
from jobforge_dagster.transforms.numbers import infer_conventions, likely_format

#: A value starting with a zero followed by another digit: a code a number would shorten (`00010`, `0012.5`).
LEADING_ZERO = r"^0[0-9]"
#: A code: one token of letters and digits, perhaps with `.`, `_` or `-` (`00010.00`, `TEER_0`, `11-1031.00`).
CODE = r"^[0-9A-Za-z][0-9A-Za-z._-]*$"
NOC_UNIT = r"^[0-9]{5}$"
NOC_ANY = r"^[0-9]{1,5}$"
NOC_SHORTENED = r"^[0-9]{1,4}$"
OASIS = r"^[0-9]{5}\.[0-9]{2}$"
OASIS_SHORTENED = r"^[0-9]{5}(\.[0-9])?$"
#: Share of a column's values that must be codes of one kind for the column to be of that kind (the others are
#: aggregates such as `TEER_0`, or mistakes).
CODE_SHARE = 0.9
#: Keys of two or more columns are sought among the first KEY_COLUMNS never-empty columns, up to MAX_KEY_SIZE.
KEY_COLUMNS = 10
MAX_KEY_SIZE = 3
MAX_KEYS = 5
EXAMPLES = 3


class CodeColumn(BaseModel):
    """A column of NOC 2021 codes (`noc`: unit groups, or codes of any level) or OaSIS profile codes (`oasis`)."""

    kind: Literal["noc", "oasis"]
    codes: int = Field(description="Values that are codes of this kind (shortened ones included).")
    shortened: int = Field(description="Codes a spreadsheet shortened (`10` for `00010`, `10010` for `10010.00`).")
    others: list[str] = Field(description=f"Up to {EXAMPLES} values that are not codes (aggregates such as TEER_0).")
    distinct: int = Field(description="Distinct codes, shortened ones restored.")
    resolved: int = Field(description="Distinct codes whose NOC code (an OaSIS code's first five digits) is known.")
    unresolved: list[str] = Field(description=f"Up to {EXAMPLES} distinct codes that do not resolve.")
    every_known: bool = Field(description="Every known code is in the column: it is the code list itself.")


class NumberFit(BaseModel):
    """A column that is a number under a convention, and the type it would take."""

    format: NumberFormat
    type: str = Field(description="`int64`, or `decimal(38,S)` with the scale the values are written with.")


class ColumnProfile(BaseModel):
    """One column, its values trimmed (as silver trims them) and blanks counted as empty."""

    header: str = Field(description="The header cell as spelled.")
    name: str = Field(description="Its bronze name.")
    values: int = Field(description="Cells that are not empty.")
    empty: int
    distinct: int = Field(description="Distinct non-empty values.")
    leading_zeros: bool = Field(description="A code column with leading zeros (`00010`): it must stay text.")
    numbers: list[NumberFit] = Field(default_factory=list, description="Conventions under which it is a number.")
    codes: CodeColumn | None = None


class Profile(BaseModel):
    """A file's records and columns, its candidate keys and its most likely number convention."""

    model_config = ConfigDict(extra="forbid")

    records: int
    columns: list[ColumnProfile]
    keys: list[list[str]] = Field(description="Candidate keys (bronze names): unique and never empty, minimal.")
    number_format: NumberFormat = Field(description="The convention under which most columns are numbers.")
    known_codes: int = Field(default=0, description="NOC codes the code columns were resolved against (0: none).")

    def column(self, name: str) -> ColumnProfile:
        """The column of bronze name `name`."""
        return next(column for column in self.columns if column.name == name)

    def numbers(self, fmt: NumberFormat) -> dict[str, str]:
        """Bronze name -> type, for the columns that are numbers under `fmt`."""
        return {column.name: fit.type for column in self.columns for fit in column.numbers if fit.format == fmt}


def read_text(path: Path, dialect: Dialect) -> pl.DataFrame:
    """The file as the staged layer reads it: every value the text in the file (an empty field is "")."""
    text, _ = decode(path.read_bytes(), path.name, dialect.encoding)
    return pl.read_csv(
        text.encode("utf-8"),
        infer_schema=False,
        separator=dialect.separator,
        new_columns=dialect.header,
        empty_string_is_null=False,
        raise_if_empty=False,
    )


def trimmed(frame: pl.DataFrame) -> pl.DataFrame:
    """Every value trimmed, blanks null: what silver sees."""
    return frame.select(
        pl.when(pl.col(name).str.strip_chars() != "").then(pl.col(name).str.strip_chars()).alias(name)
        for name in frame.columns
    )


def profile_frame(
    frame: pl.DataFrame, known_codes: Collection[str] = (), formats: Sequence[NumberFormat] = CONVENTIONS
) -> Profile:
    """Profile a frame of text columns (header names as spelled); `known_codes` are `dim_noc.noc_code`'s values."""
    values = trimmed(frame)
    names = dict(zip(frame.columns, unique_snake_case(frame.columns), strict=True))
    codes = {header: code_column(values.get_column(header), set(known_codes)) for header in frame.columns}
    numbers = infer_conventions(values.lazy(), frame.columns, formats)
    stats = values.select(
        *(pl.col(header).count().alias(f"{i}:values") for i, header in enumerate(frame.columns)),
        *(pl.col(header).drop_nulls().n_unique().alias(f"{i}:distinct") for i, header in enumerate(frame.columns)),
        *(leading_zeros(pl.col(header)).alias(f"{i}:zeros") for i, header in enumerate(frame.columns)),
    ).row(0, named=True)
    columns = [
        ColumnProfile(
            header=header,
            name=names[header],
            values=stats[f"{i}:values"],
            empty=frame.height - stats[f"{i}:values"],
            distinct=stats[f"{i}:distinct"],
            leading_zeros=stats[f"{i}:zeros"],
            numbers=[
                NumberFit(format=fmt, type=found[header].type_name) for fmt, found in numbers.items() if header in found
            ],
            codes=codes[header],
        )
        for i, header in enumerate(frame.columns)
    ]
    repaired = values.with_columns(repair(pl.col(c.header), c.codes) for c in columns if c.codes and c.codes.shortened)
    keys = candidate_keys(repaired, key_order(columns))
    return Profile(
        records=frame.height,
        columns=columns,
        keys=[[names[h] for h in key] for key in keys],
        number_format=likely_format(numbers),
        known_codes=len(set(known_codes)),
    )


def leading_zeros(value: pl.Expr) -> pl.Expr:
    """True for a column of codes (nulls aside) of which at least one starts with a zero and another digit."""
    return value.str.contains(LEADING_ZERO).any() & (value.is_null() | value.str.contains(CODE)).all()


def code_column(values: pl.Series, known: set[str]) -> CodeColumn | None:
    """The column as NOC or OaSIS codes, if at least CODE_SHARE of its values are; None otherwise."""
    present = values.drop_nulls()
    if present.is_empty():
        return None
    share = {pattern: present.str.contains(pattern).mean() for pattern in (OASIS, OASIS_SHORTENED, NOC_UNIT, NOC_ANY)}
    if share[OASIS] > 0 and share[OASIS] + share[OASIS_SHORTENED] >= CODE_SHARE:
        return resolved_codes(present, "oasis", (OASIS, OASIS_SHORTENED), OASIS_SHORTENED, known)
    if share[NOC_UNIT] >= CODE_SHARE:
        return resolved_codes(present, "noc", (NOC_ANY,), NOC_SHORTENED, known)
    if share[NOC_ANY] == 1 and share[NOC_UNIT] > 0 and known and present.is_in(list(known)).all():
        return resolved_codes(present, "noc", (NOC_ANY,), None, known)
    return None


def resolved_codes(
    present: pl.Series, kind: Literal["noc", "oasis"], shapes: Sequence[str], shortened: str | None, known: set[str]
) -> CodeColumn:
    """Counts of a code column: its codes (shortened ones restored), the values that are not codes, resolution."""
    is_code = pl.any_horizontal(pl.col("v").str.contains(shape) for shape in shapes)
    frame = present.to_frame("v").with_columns(is_code.alias("code"))
    codes = frame.filter("code").get_column("v")
    short = codes.str.contains(shortened).sum() if shortened else 0
    restored = codes.to_frame("v").select(repair(pl.col("v"), kind if shortened else None)).get_column("v").unique()
    noc = restored.str.slice(0, 5) if kind == "oasis" else restored
    unresolved = restored.filter(~noc.is_in(list(known))).sort()
    return CodeColumn(
        kind=kind,
        codes=codes.len(),
        shortened=short,
        others=frame.filter(~pl.col("code")).get_column("v").unique(maintain_order=True).head(EXAMPLES).to_list(),
        distinct=restored.len(),
        resolved=restored.len() - unresolved.len(),
        unresolved=unresolved.head(EXAMPLES).to_list(),
        every_known=bool(known) and len(known - set(noc.to_list())) == 0,
    )


def repair(value: pl.Expr, codes: "CodeColumn | str | None") -> pl.Expr:
    """Codes a spreadsheet shortened, restored as silver's `pad_codes` (`10` -> `00010`) or `decimal_codes`
    (`10010` -> `10010.00`, `31100.1` -> `31100.10`) would."""
    kind = codes.kind if isinstance(codes, CodeColumn) else codes
    if kind == "noc":
        return pl.when(value.str.contains(NOC_SHORTENED)).then(value.str.zfill(5)).otherwise(value)
    if kind == "oasis":
        whole, tenths = value.str.contains(NOC_UNIT), value.str.contains(r"^[0-9]{5}\.[0-9]$")
        return pl.when(whole).then(value + ".00").when(tenths).then(value + "0").otherwise(value)
    return value


def key_order(columns: list[ColumnProfile]) -> list[str]:
    """Never-empty columns in the order keys are sought: code columns first, then in file order."""
    complete = [column for column in columns if column.empty == 0]
    return [c.header for c in sorted(complete, key=lambda c: c.codes is None and not c.leading_zeros)]


def candidate_keys(values: pl.DataFrame, order: list[str]) -> list[list[str]]:
    """Minimal column sets (of the smallest size that has any) unique over every record, never empty: single
    columns among `order`, else combinations of up to MAX_KEY_SIZE of its first KEY_COLUMNS."""
    if values.height < 2:
        return []
    for size in range(1, MAX_KEY_SIZE + 1):
        pool = order if size == 1 else order[:KEY_COLUMNS]
        sets = list(combinations(pool, size))
        if not sets:
            break
        counts = values.select(
            pl.struct(*columns).n_unique().alias(str(index)) for index, columns in enumerate(sets)
        ).row(0)
        found = [list(columns) for columns, count in zip(sets, counts, strict=True) if count == values.height]
        if found:
            return found[:MAX_KEYS]
    return []
