"""Staged -> bronze: technical standardisation (column names, renames, null tokens, declared casts)."""

from dataclasses import dataclass, field

import polars as pl

from jobforge_dagster.errors import SourceDataError, place
from jobforge_dagster.layers import PROVENANCE_COLUMNS, SOURCE_LINE, SOURCE_ROW
from jobforge_dagster.registry.names import unique_snake_case
from jobforge_dagster.registry.numbers import PLAIN, NumberFormat
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.transforms.lineage import ColumnLineage, ColumnOrigin, identity, provenance_carried, transformed
from jobforge_dagster.transforms.numbers import parse_number

#: How many bad cells an error message lists.
MAX_REPORTED = 5

NUMERIC = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.Float64, pl.Decimal)


@dataclass(frozen=True)
class BronzePlan:
    """What bronze does to a staged table: header mapping, null tokens, separators, casts."""

    mapping: dict[str, str]
    types: dict[str, pl.DataType] = field(default_factory=dict)
    null_values: list[str] = field(default_factory=list)
    null_exempt: list[str] = field(default_factory=list)
    thousands_separator: str | None = None
    number_format: NumberFormat = PLAIN

    @property
    def header(self) -> dict[str, str]:
        """Bronze name -> source header."""
        return {new: old for old, new in self.mapping.items()}

    def null_token_columns(self) -> list[str]:
        return [name for name in self.mapping.values() if name not in self.null_exempt] if self.null_values else []


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


def plan_for(spec: TableSpec, staged_columns: list[str]) -> BronzePlan:
    """The table's bronze plan, from its registry entry and its staged columns."""
    mapping = column_mapping(staged_columns, spec.renames)
    return BronzePlan(
        mapping=mapping,
        types=spec.resolve_types(list(mapping.values())),
        null_values=spec.null_values,
        null_exempt=spec.key_columns,
        thousands_separator=spec.thousands_separator,
        number_format=spec.number_format,
    )


def _without_tokens(column: str, plan: BronzePlan) -> pl.Expr:
    value = pl.col(column)
    if column in plan.null_token_columns():
        value = pl.when(value.str.strip_chars().is_in(plan.null_values)).then(None).otherwise(value)
    return value


def _cast(column: str, dtype: pl.DataType, plan: BronzePlan) -> pl.Expr:
    value = _without_tokens(column, plan).str.strip_chars()
    if isinstance(dtype, NUMERIC) and (plan.number_format != PLAIN or isinstance(dtype, pl.Decimal)):
        return parse_number(value, plan.number_format, dtype)  # a decimal never loses digits to its scale
    if plan.thousands_separator and isinstance(dtype, NUMERIC):
        value = value.str.replace_all(plan.thousands_separator, "", literal=True)
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


def standardise(frame: pl.LazyFrame, plan: BronzePlan) -> pl.LazyFrame:
    """Rename to bronze names, null the declared tokens, apply declared casts."""
    renamed = frame.rename(plan.mapping)
    tokens = [_without_tokens(c, plan).alias(c) for c in plan.null_token_columns() if c not in plan.types]
    casts = [_cast(column, dtype, plan).alias(column) for column, dtype in plan.types.items()]
    return renamed.with_columns(*tokens, *casts)


def column_origin(header: str, name: str, plan: BronzePlan, token_columns: list[str]) -> ColumnOrigin:
    """Where bronze column `name` comes from: its staged header, renamed (IDENTITY) or also changed (TRANSFORMATION)."""
    renamed = f"renamed from {header!r}" if header != name else "name kept"
    changes = [f"null tokens {plan.null_values} to null"] if name in token_columns else []
    if name in plan.types:
        separator = f", separator {plan.thousands_separator!r} removed" if plan.thousands_separator else ""
        if plan.number_format != PLAIN and isinstance(plan.types[name], NUMERIC):
            separator = f", read as {plan.number_format.label}"
        changes.append(f"cast to {plan.types[name]}{separator}")
    return transformed(header, "; ".join([renamed, *changes])) if changes else identity(header, renamed)


def lineage(plan: BronzePlan, staged_columns: list[str]) -> ColumnLineage:
    """Each bronze column from its staged header; provenance carried."""
    tokens = plan.null_token_columns()
    fields = {name: [column_origin(header, name, plan, tokens)] for header, name in plan.mapping.items()}
    return ColumnLineage(fields=fields).merged(provenance_carried(staged_columns))


def count_null_tokens(frame: pl.LazyFrame, plan: BronzePlan) -> dict[str, int]:
    """Cells per bronze column that held a declared null token (e.g. `N/A`), only columns that had any."""
    columns = plan.null_token_columns()
    if not columns:
        return {}
    renamed = frame.rename(plan.mapping)
    counts = renamed.select(
        pl.col(column).str.strip_chars().is_in(plan.null_values).sum().alias(column) for column in columns
    ).collect()
    return {column: value for column, value in counts.row(0, named=True).items() if value}


def first_failures(renamed: pl.LazyFrame, failed: dict[str, pl.Expr]) -> list[tuple[int | None, int, str, str]]:
    """(line, record, bronze column, value) of the first MAX_REPORTED cells flagged by `failed`, in file order."""
    lines = pl.col(SOURCE_LINE) if SOURCE_LINE in renamed.collect_schema().names() else pl.lit(None, pl.Int64)
    flagged = (
        renamed.filter(pl.any_horizontal(*failed.values()))
        .select(
            pl.col(SOURCE_ROW),
            lines.alias(SOURCE_LINE),
            *(pl.when(mask).then(pl.col(column)).alias(column) for column, mask in failed.items()),
        )
        .sort(SOURCE_ROW)
        .head(MAX_REPORTED)
        .collect()
    )
    cells = [(row[SOURCE_LINE], row[SOURCE_ROW], c, row[c]) for row in flagged.rows(named=True) for c in failed]
    return [cell for cell in cells if cell[3] is not None][:MAX_REPORTED]


def check_casts(staged: pl.LazyFrame, plan: BronzePlan, source_file: str) -> None:
    """Raise a SourceDataError naming the line, record, column header and value of the first cells that fail
    their cast."""
    if not plan.types:
        return
    renamed = staged.rename(plan.mapping)
    failed = {}
    for column, dtype in plan.types.items():
        raw = _without_tokens(column, plan).str.strip_chars()
        failed[column] = raw.is_not_null() & (raw != "") & _cast(column, dtype, plan).is_null()
    # Clean files (the usual case) cost one aggregate pass; only a file with failures is searched for them.
    counts = renamed.select(mask.sum().alias(column) for column, mask in failed.items()).collect().row(0)
    if not any(counts) or not (bad := first_failures(renamed, failed)):
        return
    line, record, column, value = bad[0]
    others = "; ".join(f"{place(*cell[:2], plan.header[cell[2]])}: {cell[3]!r}" for cell in bad[1:])
    written = f" written with {plan.number_format.label}" if plan.number_format != PLAIN else ""
    raise SourceDataError(
        f"value {value!r} is not a valid {plan.types[column]}{written}" + (f" (also: {others})" if others else ""),
        file=source_file,
        line=line,
        record=record,
        column=plan.header[column],
        value=value,
    )
