"""Silver -> gold: the business-ready table. By default the silver table itself; a registry entry may
name one of the transforms below (`gold_transform:`).

Each transform is followed by its column lineage (`<name>_lineage`): from the silver column names, which gold
column comes from which silver column(s) and how (see `column_lineage`). `GOLD_LINEAGE` pairs them by name.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from jobforge_dagster.layers import PROVENANCE_COLUMNS, SOURCE_ROW
from jobforge_dagster.transforms.lineage import ColumnLineage, carried, indirect, provenance_carried, transformed

GoldTransform = Callable[[pl.LazyFrame], pl.LazyFrame]
#: A gold transform's column lineage, from the silver column names.
GoldLineage = Callable[[list[str]], ColumnLineage]

#: COPS codes that are not unit groups: `00000` (all occupations), `TEER_n`, `NOC1_n`.
UNIT_GROUP = r"^\d{5}$"
ALL_OCCUPATIONS = "00000"
YEAR_COLUMN = re.compile(r"^col_(\d{4})$")
#: Columns of an OaSIS rating table that identify the row rather than rate an attribute.
OASIS_INDEX = ("oasis_code", "oasis_label")


def provenance(frame: pl.LazyFrame) -> list[str]:
    names = frame.collect_schema().names()
    return [column for column in PROVENANCE_COLUMNS if column in names]


def data_columns(frame: pl.LazyFrame) -> list[str]:
    return [column for column in frame.collect_schema().names() if column not in PROVENANCE_COLUMNS]


def identity(silver: pl.LazyFrame) -> pl.LazyFrame:
    """Gold is the validated silver table."""
    return silver


def identity_lineage(columns: list[str]) -> ColumnLineage:
    return carried(columns)


def is_aggregate(code: str = "noc_code") -> pl.Expr:
    """True for COPS rows that aggregate occupations rather than name one unit group."""
    column = pl.col(code)
    return (column.str.contains(UNIT_GROUP).not_() | (column == ALL_OCCUPATIONS)).alias("is_aggregate")


def dim_noc(silver: pl.LazyFrame) -> pl.LazyFrame:
    """One row per NOC 2021 code at every level, with its parent, and TEER for unit groups."""
    code = pl.col("noc_code")
    length = code.str.len_chars()
    return silver.select(
        "noc_code",
        "level",
        "level_name",
        "title",
        "definition",
        pl.when(length > 1).then(code.str.slice(0, length - 1)).alias("parent_code"),
        code.str.slice(0, 1).alias("broad_category"),
        pl.when(length == 5).then(code.str.slice(1, 1).cast(pl.Int8)).alias("teer"),
        *provenance(silver),
    )


def year_columns(names: list[str]) -> list[str]:
    """The COPS year columns (`col_2023` ...) among `names`: the columns `cops_long` melts."""
    return [name for name in names if YEAR_COLUMN.match(name)]


def dim_noc_lineage(columns: list[str]) -> ColumnLineage:
    kept = carried(["noc_code", "level", "level_name", "title", "definition"])
    derived = {
        "parent_code": [transformed("noc_code", "the code without its last character; null at level 1")],
        "broad_category": [transformed("noc_code", "first character of the code")],
        "teer": [transformed("noc_code", "second digit of a five-digit code, as Int8")],
    }
    return kept.merged(ColumnLineage(fields=derived)).merged(provenance_carried(columns))


def aggregate_flag(code: str = "noc_code") -> ColumnLineage:
    """Lineage of `is_aggregate`."""
    description = f"true unless {code} is a five-digit unit group, or {code} is {ALL_OCCUPATIONS}"
    return ColumnLineage(fields={"is_aggregate": [transformed(code, description)]})


def cops_long(silver: pl.LazyFrame) -> pl.LazyFrame:
    """COPS year columns (`col_2023` ...) as rows of `noc_code`, `year`, `value`; aggregates flagged."""
    years = year_columns(data_columns(silver))
    if not years:
        raise ValueError("cops_long needs year columns such as col_2024")
    long = silver.unpivot(on=years, index=["noc_code", *provenance(silver)], variable_name="year", value_name="value")
    return long.select(
        "noc_code",
        is_aggregate(),
        pl.col("year").str.slice(4).cast(pl.Int16),
        "value",
        *provenance(silver),
    ).sort(SOURCE_ROW, "year")


def unpivoted(on: list[str], variable: tuple[str, str], value: tuple[str, str]) -> ColumnLineage:
    """Lineage of an unpivot over columns `on`: the `variable` column from each column's name, the `value`
    column from its cells (each a (name, how) pair), rows re-ordered by source row."""
    (variable_name, from_name), (value_name, from_cells) = variable, value
    return ColumnLineage(
        fields={
            variable_name: [transformed(column, f"unpivot: {from_name}") for column in on],
            value_name: [transformed(column, f"unpivot: {from_cells}") for column in on],
        },
        dataset=[indirect(SOURCE_ROW, "SORT", "rows ordered by source row")],
    )


def cops_long_lineage(columns: list[str]) -> ColumnLineage:
    years = year_columns(columns)
    unpivot = unpivoted(years, ("year", "the year in the column's name (col_2024 -> 2024)"), ("value", "the cell"))
    return carried(["noc_code"]).merged(aggregate_flag()).merged(unpivot).merged(provenance_carried(columns))


def cops_flagged(silver: pl.LazyFrame) -> pl.LazyFrame:
    """COPS tables without year columns, with aggregate rows flagged next to the code."""
    names = data_columns(silver)
    return silver.select(
        "noc_code", is_aggregate(), *[name for name in names if name != "noc_code"], *provenance(silver)
    )


def cops_flagged_lineage(columns: list[str]) -> ColumnLineage:
    return carried(columns).merged(aggregate_flag())


def rating_columns(columns: list[str]) -> list[str]:
    """The OaSIS rating columns of a silver table: every data column but the code and the label."""
    return [column for column in columns if column not in (*PROVENANCE_COLUMNS, *OASIS_INDEX)]


def oasis_long(silver: pl.LazyFrame) -> pl.LazyFrame:
    """OaSIS wide rating tables as rows of `oasis_code`, `noc_code`, `attribute`, `rating`."""
    attributes = rating_columns(data_columns(silver))
    long = silver.unpivot(
        on=attributes, index=["oasis_code", *provenance(silver)], variable_name="attribute", value_name="rating"
    )
    return long.select(
        "oasis_code",
        pl.col("oasis_code").str.slice(0, 5).alias("noc_code"),
        "attribute",
        "rating",
        *provenance(silver),
    ).sort(SOURCE_ROW, maintain_order=True)


def noc_code_of_oasis() -> ColumnLineage:
    """Lineage of `noc_code` taken from `oasis_code`."""
    return ColumnLineage(fields={"noc_code": [transformed("oasis_code", "first five characters (the unit group)")]})


def oasis_long_lineage(columns: list[str]) -> ColumnLineage:
    unpivot = unpivoted(rating_columns(columns), ("attribute", "the rating column's name"), ("rating", "the cell"))
    return carried(["oasis_code"]).merged(noc_code_of_oasis()).merged(unpivot).merged(provenance_carried(columns))


def with_noc_code(silver: pl.LazyFrame) -> pl.LazyFrame:
    """OaSIS text tables keyed by `oasis_code`, with the unit group's `noc_code` (its first five digits) beside it."""
    names = data_columns(silver)
    return silver.select(
        "oasis_code",
        pl.col("oasis_code").str.slice(0, 5).alias("noc_code"),
        *[name for name in names if name != "oasis_code"],
        *provenance(silver),
    )


@dataclass(frozen=True)
class LongForm:
    """How a long-form gold transform melts silver: one gold row per (silver row, measure column) cell.

    `measures` picks the melted columns from silver's data columns, `value` is the gold column holding the cell,
    and `source_column` is an expression over gold giving back the silver column each row came from.
    `drops_nulls` says whether the transform leaves out null cells (a documented filter).
    """

    measures: Callable[[list[str]], list[str]]
    value: str
    source_column: pl.Expr = field(compare=False)
    drops_nulls: bool = False


#: The long-form gold transforms, by name. COPS `year` 2024 came from `col_2024`; OaSIS `attribute` is the
#: silver column's name.
LONG_FORMS: dict[str, LongForm] = {
    "cops_long": LongForm(year_columns, "value", pl.format("col_{}", pl.col("year").cast(pl.String).str.zfill(4))),
    "oasis_long": LongForm(rating_columns, "rating", pl.col("attribute")),
}


def with_noc_code_lineage(columns: list[str]) -> ColumnLineage:
    return carried(columns).merged(noc_code_of_oasis())


#: Named gold transforms a registry entry may choose with `gold_transform:`.
GOLD_TRANSFORMS: dict[str, GoldTransform] = {
    "identity": identity,
    "dim_noc": dim_noc,
    "cops_long": cops_long,
    "cops_flagged": cops_flagged,
    "oasis_long": oasis_long,
    "with_noc_code": with_noc_code,
}


#: Each transform's column lineage, by the same names.
GOLD_LINEAGE: dict[str, GoldLineage] = {
    "identity": identity_lineage,
    "dim_noc": dim_noc_lineage,
    "cops_long": cops_long_lineage,
    "cops_flagged": cops_flagged_lineage,
    "oasis_long": oasis_long_lineage,
    "with_noc_code": with_noc_code_lineage,
}


def gold_lineage(name: str | None, silver_columns: list[str]) -> ColumnLineage:
    """Column lineage of the named gold transform over a silver table with these columns."""
    return GOLD_LINEAGE[name or "identity"](silver_columns)


def gold_transform(name: str | None) -> GoldTransform:
    if name is None:
        return identity
    try:
        return GOLD_TRANSFORMS[name]
    except KeyError:
        raise ValueError(f"unknown gold transform {name!r}; known: {sorted(GOLD_TRANSFORMS)}") from None
