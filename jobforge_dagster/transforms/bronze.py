"""Staged -> bronze: technical standardisation (column names, renames, declared casts)."""

import polars as pl

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.layers import PROVENANCE_COLUMNS, SOURCE_ROW
from jobforge_dagster.naming import unique_snake_case

#: How many bad cells an error message lists.
MAX_REPORTED = 5


def column_mapping(columns: list[str], renames: dict[str, str]) -> dict[str, str]:
    """Staged header -> bronze name: unique snake_case, then declared renames."""
    data_columns = [column for column in columns if column not in PROVENANCE_COLUMNS]
    normalised = unique_snake_case(data_columns)
    unknown = sorted(set(renames) - set(normalised))
    if unknown:
        raise ValueError(f"renames name columns the file does not have: {unknown}; columns are {normalised}")
    mapping = {old: renames.get(new, new) for old, new in zip(data_columns, normalised, strict=True)}
    targets = list(mapping.values())
    repeated = sorted({name for name in targets if targets.count(name) > 1})
    if repeated:
        raise ValueError(f"renames produce duplicate column names: {repeated}")
    return mapping


def _cast(column: str, dtype: pl.DataType) -> pl.Expr:
    value = pl.col(column).str.strip_chars()
    if dtype == pl.Date:
        return value.str.to_date(strict=False)
    if dtype == pl.Boolean:
        lowered = value.str.to_lowercase()
        return (
            pl.when(lowered.is_in(["true", "t", "yes", "y", "1"]))
            .then(True)
            .when(lowered.is_in(["false", "f", "no", "n", "0"]))
            .then(False)
            .otherwise(None)
        )
    return value.cast(dtype, strict=False)


def standardise(frame: pl.LazyFrame, mapping: dict[str, str], types: dict[str, pl.DataType]) -> pl.LazyFrame:
    """Rename to bronze names and apply declared casts (blank cells become null, other failures stay visible)."""
    unknown = sorted(set(types) - set(mapping.values()))
    if unknown:
        raise ValueError(f"types name columns the table does not have: {unknown}")
    renamed = frame.rename(mapping)
    return renamed.with_columns(_cast(column, dtype).alias(column) for column, dtype in types.items())


def check_casts(staged: pl.LazyFrame, mapping: dict[str, str], types: dict[str, pl.DataType], source_file: str) -> None:
    """Raise a SourceDataError naming row, column and value for the first cells that fail their cast."""
    if not types:
        return
    renamed = staged.rename(mapping)
    failures = []
    for column, dtype in types.items():
        raw = pl.col(column).str.strip_chars()
        failed = raw.is_not_null() & (raw != "") & _cast(column, dtype).is_null()
        failures.append(
            renamed.filter(failed)
            .select(pl.col(SOURCE_ROW), pl.lit(column).alias("column"), pl.col(column).alias("value"))
            .head(MAX_REPORTED)
        )
    bad = pl.concat(failures).sort(SOURCE_ROW).head(MAX_REPORTED).collect()
    if bad.height:
        header = {new: old for old, new in mapping.items()}
        first = bad.row(0, named=True)
        others = "; ".join(f"row {r[SOURCE_ROW]} {r['column']}={r['value']!r}" for r in bad.rows(named=True)[1:])
        raise SourceDataError(
            f"value {first['value']!r} is not a valid {types[first['column']]}"
            + (f" (also: {others})" if others else ""),
            file=source_file,
            row=first[SOURCE_ROW],
            column=header[first["column"]],
        )
