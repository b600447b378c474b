"""Gold data checks as pure functions over polars frames, each returning a `CheckOutcome`."""

from dataclasses import dataclass
from typing import Any

import polars as pl

from jobforge_dagster.layers import (
    PROVENANCE_COLUMNS,
    QUARANTINE_REASON,
    SOURCE_FILE,
    SOURCE_LINE,
    SOURCE_ROW,
    QuarantineReason,
)
from jobforge_dagster.quality.outcome import CheckOutcome, Severity
from jobforge_dagster.registry.spec import Range, Reference
from jobforge_dagster.transforms.gold import LongForm, data_columns

#: The asset checks on every gold table: nothing lost and provenance intact; the registry's declared data rules.
INTEGRITY = "integrity"
CONFORMANCE = "conformance"

#: How many offending values a failed check lists.
EXAMPLES = 10


def _in_scope(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Rows a code check applies to: COPS aggregate rows (`is_aggregate`) are not occupations."""
    if "is_aggregate" in frame.collect_schema().names():
        return frame.filter(pl.col("is_aggregate").not_())
    return frame


def provenance_from_statistics(null_counts: dict[str, int | None]) -> CheckOutcome | None:
    """The provenance check from a file's null-count statistics: a pass when every provenance column is present
    and has no null; None (scan the data instead) when a column is missing, has nulls, or has no statistics."""
    counts = {column: null_counts.get(column) for column in PROVENANCE_COLUMNS}
    if any(count != 0 for count in counts.values()):
        return None
    return CheckOutcome(
        True, "every provenance column present and non-null (parquet statistics)", {"null_counts": counts}
    )


def provenance_check(gold: pl.LazyFrame) -> CheckOutcome:
    names = gold.collect_schema().names()
    missing = [column for column in PROVENANCE_COLUMNS if column not in names]
    if missing:
        return CheckOutcome(False, f"provenance columns missing: {missing}", {"missing": missing})
    # a parquet source has no lines: `_source_line` is null there, and only there
    lineless = pl.col(SOURCE_FILE).str.ends_with(".parquet")
    counts = [pl.col(column).null_count() for column in PROVENANCE_COLUMNS if column != SOURCE_LINE]
    line_nulls = (pl.col(SOURCE_LINE).is_null() & lineless.not_()).sum().alias(SOURCE_LINE)
    nulls = gold.select(*counts, line_nulls).select(PROVENANCE_COLUMNS).collect().row(0, named=True)
    failing = {column: count for column, count in nulls.items() if count}
    return CheckOutcome(
        not failing,
        "every provenance column present and non-null" if not failing else f"null provenance: {failing}",
        {"null_counts": nulls},
    )


def key_unique_check(gold: pl.LazyFrame, key: list[str], duplicates_quarantined: int = 0) -> CheckOutcome:
    """Gold keys are unique (ERROR); a source that repeated keys (rows quarantined in silver) is a WARN.

    One counting pass; the repeated keys are listed only when there are some.
    """
    duplicated_rows, null_keys = (
        gold.select(
            pl.struct(key).is_duplicated().sum().alias("duplicated_rows"),
            pl.any_horizontal(pl.col(key).is_null()).sum().alias("null_keys"),
        )
        .collect()
        .row(0)
    )
    repeated = pl.DataFrame()
    if duplicated_rows:
        repeated = gold.group_by(key).agg(pl.len().alias("rows")).filter(pl.col("rows") > 1).sort(key).collect()
    metadata = {
        "key": key,
        "repeated_keys": repeated.height,
        "null_keys": null_keys,
        "duplicates_quarantined": duplicates_quarantined,
    }
    if repeated.height:
        examples = repeated.head(EXAMPLES).to_dicts()
        return CheckOutcome(False, f"{repeated.height} keys repeat in gold, e.g. {examples}", metadata)
    if duplicates_quarantined:
        return CheckOutcome(
            False,
            f"gold keys are unique, but the source repeated a key in {duplicates_quarantined} rows (quarantined)",
            metadata,
            Severity.WARN,
        )
    return CheckOutcome(True, f"({', '.join(key)}) is unique", metadata)


def code_format_check(gold: pl.LazyFrame, column: str, pattern: str) -> CheckOutcome:
    """Non-null values match the pattern; one counting pass, examples only when some do not."""
    value = pl.col(column)
    scope = _in_scope(gold)
    failing = value.is_not_null() & value.cast(pl.String).str.contains(f"^(?:{pattern})$").not_()
    bad = scope.select(failing.sum()).collect().item()
    examples = scope.filter(failing).select(value).head(EXAMPLES).collect()[column].to_list() if bad else []
    metadata = {"pattern": pattern, "bad_values": bad, "examples": examples}
    return CheckOutcome(bad == 0, f"{column} matches ^{pattern}$ ({bad} do not)", metadata)


def range_check(gold: pl.LazyFrame, column: str, bounds: Range) -> CheckOutcome:
    value = pl.col(column)
    stats = gold.select(
        value.min().alias("min"),
        value.max().alias("max"),
        ((value < bounds.min) | (value > bounds.max)).sum().alias("outside"),
    ).collect()
    row = stats.row(0, named=True)
    metadata = {"range": [bounds.min, bounds.max], "observed": [row["min"], row["max"]], "outside": row["outside"]}
    return CheckOutcome(
        row["outside"] == 0, f"{column} within [{bounds.min:g}, {bounds.max:g}] ({row['outside']} outside)", metadata
    )


def foreign_key_check(gold: pl.LazyFrame, reference: Reference, allowed: pl.LazyFrame) -> CheckOutcome:
    """Non-null codes resolve in the referenced table; nulls are counted, not failed.

    One counting pass over a left join; the unresolved codes are listed only when there are some.
    """
    column = reference.column
    target = f"{reference.table}.{reference.table_column}"
    found = "__resolves"
    values = (
        allowed.select(pl.col(reference.table_column).alias(column)).unique().with_columns(pl.lit(True).alias(found))
    )
    joined = _in_scope(gold).select(column).join(values, on=column, how="left")
    missing = pl.col(column).is_not_null() & pl.col(found).is_null()
    rows, nulls, unresolved = (
        joined.select(pl.len(), pl.col(column).null_count().alias("nulls"), missing.sum().alias("unresolved"))
        .collect()
        .row(0)
    )
    examples = []
    if unresolved:
        examples = joined.filter(missing).select(pl.col(column).unique().sort().head(EXAMPLES)).collect()[column]
        examples = examples.to_list()
    checked = rows - nulls
    share = unresolved / checked if checked else 0.0
    metadata = {
        "references": target,
        "rows_checked": checked,
        "null_keys": nulls,
        "unresolved": unresolved,
        "unresolved_share": round(share, 6),
        "examples": examples,
    }
    return CheckOutcome(
        unresolved == 0,
        f"{column} resolves in {target}: {unresolved} of {checked} do not ({share:.2%}); {nulls} null",
        metadata,
    )


def distinct_source_rows(gold: pl.LazyFrame) -> int:
    """Distinct `_source_row` values. Gold tables keep source order, so one ordered pass counts them without a
    hash set; a table out of order falls back to a hash count."""
    row = pl.col(SOURCE_ROW)
    rows, backwards, changes, nulls = (
        gold.select(
            pl.len().alias("rows"),
            (row.diff() < 0).sum().alias("backwards"),
            (row.diff() != 0).sum().alias("changes"),
            row.null_count().alias("nulls"),
        )
        .collect()
        .row(0)
    )
    if backwards == 0 and nulls == 0:
        return changes + 1 if rows else 0
    return gold.select(row.n_unique()).collect().item()


def reconciliation_check(staged_rows: int, silver_rows: int, quarantined_rows: int, gold: pl.LazyFrame) -> CheckOutcome:
    """Source rows = silver rows + quarantined rows, and every silver row reaches gold (by `_source_row`)."""
    gold_records = distinct_source_rows(gold)
    metadata = {
        "source_rows": staged_rows,
        "silver_rows": silver_rows,
        "quarantined_rows": quarantined_rows,
        "gold_source_records": gold_records,
        "documented_filters": 0,
    }
    passed = staged_rows == silver_rows + quarantined_rows and gold_records == silver_rows
    return CheckOutcome(
        passed,
        f"{staged_rows} source rows = {silver_rows} in silver + {quarantined_rows} quarantined; "
        f"{gold_records} of them in gold",
        metadata,
    )


#: Working columns of the cell reconciliation: the silver column a cell came from, its silver and gold values.
CELL_COLUMN = "_cell_column"
EXPECTED, FOUND, SILVER_NULL, IN_SILVER, IN_GOLD = "_expected", "_found", "_silver_null", "_in_silver", "_in_gold"
CELL_KEY = [SOURCE_ROW, CELL_COLUMN]


@dataclass(frozen=True)
class CellFlags:
    """Per joined (silver cell, gold row) pair: what the cell reconciliation counts."""

    drops_nulls: bool

    @property
    def absent(self) -> pl.Expr:
        return pl.col(IN_SILVER).fill_null(False) & pl.col(IN_GOLD).is_null()

    @property
    def filtered(self) -> pl.Expr:
        return self.absent & pl.col(SILVER_NULL) & pl.lit(self.drops_nulls)

    @property
    def missing(self) -> pl.Expr:
        return self.absent & self.filtered.not_()

    @property
    def matched(self) -> pl.Expr:
        return pl.col(IN_SILVER).fill_null(False) & pl.col(IN_GOLD).fill_null(False)

    @property
    def changed(self) -> pl.Expr:
        """Gold's value differs from the silver cell cast to gold's type (nulls equal nulls; a value the cast
        loses counts as changed)."""
        differs = pl.col(EXPECTED).eq_missing(pl.col(FOUND)).not_() | (
            pl.col(EXPECTED).is_null() != pl.col(SILVER_NULL)
        )
        return self.matched & differs

    @property
    def unexpected(self) -> pl.Expr:
        return pl.col(IN_SILVER).is_null()


def silver_cells(silver: pl.LazyFrame, measures: list[str], dtype: pl.DataType) -> pl.LazyFrame:
    """One row per (silver row, measure column) cell, its value cast to gold's type as the transform does."""
    cells = silver.select(SOURCE_ROW, *measures).unpivot(
        on=measures, index=SOURCE_ROW, variable_name=CELL_COLUMN, value_name=EXPECTED
    )
    return cells.select(
        *CELL_KEY,
        pl.col(EXPECTED).cast(dtype, strict=False),
        pl.col(EXPECTED).is_null().alias(SILVER_NULL),
        pl.lit(True).alias(IN_SILVER),
    )


def gold_cells(gold: pl.LazyFrame, form: LongForm) -> pl.LazyFrame:
    """One row per gold row: the silver cell it names and its value."""
    return gold.select(
        SOURCE_ROW, form.source_column.alias(CELL_COLUMN), pl.col(form.value).alias(FOUND), pl.lit(True).alias(IN_GOLD)
    )


def cell_examples(joined: pl.LazyFrame, flags: CellFlags) -> dict[str, list[dict[str, Any]]]:
    """Up to EXAMPLES cells of each kind of failure, by `_source_row` and source column."""
    named = {CELL_COLUMN: "source_column", EXPECTED: "silver", FOUND: "gold"}
    repeated = joined.filter(flags.matched).group_by(CELL_KEY).agg(pl.len().alias("gold_rows"))
    found = {
        "missing": joined.filter(flags.missing).select(CELL_KEY),
        "duplicated": repeated.filter(pl.col("gold_rows") > 1),
        "changed": joined.filter(flags.changed).select(*CELL_KEY, EXPECTED, FOUND),
        "unexpected": joined.filter(flags.unexpected).select(*CELL_KEY, FOUND),
    }
    return {
        kind: frame.sort(CELL_KEY).head(EXAMPLES).rename(named, strict=False).collect().to_dicts()
        for kind, frame in found.items()
    }


def cell_counts(joined: pl.LazyFrame, flags: CellFlags) -> dict[str, int]:
    """One pass over the joined cells: gold rows, and the silver cells missing, filtered, matched, changed."""
    return (
        joined.select(
            pl.col(IN_GOLD).fill_null(False).sum().alias("gold_rows"),
            flags.missing.sum().alias("missing"),
            flags.filtered.sum().alias("documented_filters"),
            flags.matched.sum().alias("matched_rows"),
            flags.changed.sum().alias("changed"),
            flags.unexpected.sum().alias("unexpected"),
        )
        .collect()
        .row(0, named=True)
    )


def cell_reconciliation_check(silver: pl.LazyFrame, gold: pl.LazyFrame, form: LongForm) -> CheckOutcome:
    """Every (source row, measure column) cell of silver is in the long gold table exactly once, with its value.

    Gold rows name their cell through `form.source_column`; one full join on (`_source_row`, source column).
    A null cell the transform drops (`form.drops_nulls`) is counted as a documented filter, not a failure.
    """
    measures = form.measures(data_columns(silver))
    if not measures:
        return CheckOutcome(False, "silver has no measure columns to reconcile", {"measure_columns": 0})
    expected = silver.select(pl.len()).collect().item() * len(measures)
    dtype = gold.collect_schema()[form.value]
    joined = silver_cells(silver, measures, dtype).join(gold_cells(gold, form), on=CELL_KEY, how="full", coalesce=True)
    flags = CellFlags(form.drops_nulls)
    counts = cell_counts(joined, flags)
    found = expected - counts["missing"] - counts["documented_filters"]
    duplicated = counts.pop("matched_rows") - found
    metadata = {"measure_columns": len(measures), "cells_expected": expected, "cells_found": found}
    metadata |= counts | {"duplicated": duplicated}
    failures = {kind: metadata[kind] for kind in ("missing", "duplicated", "changed", "unexpected") if metadata[kind]}
    if failures:
        metadata["examples"] = {kind: rows for kind, rows in cell_examples(joined, flags).items() if rows}
    return CheckOutcome(not failures, cell_description(metadata, failures), metadata)


def cell_description(metadata: dict[str, Any], failures: dict[str, int]) -> str:
    summary = (
        f"{metadata['cells_found']} of {metadata['cells_expected']} silver cells in gold"
        f" ({metadata['documented_filters']} null cells left out by the transform)"
    )
    if not failures:
        return f"{summary}, each exactly once with its value"
    examples = metadata["examples"]
    detail = "; ".join(
        f"{count} {kind}, e.g. "
        + ", ".join(f"row {row[SOURCE_ROW]} {row['source_column']}" for row in examples[kind][:3])
        for kind, count in failures.items()
    )
    return f"{summary}: {detail}"


def duplicates_in_quarantine(quarantine: pl.LazyFrame | None) -> int:
    if quarantine is None:
        return 0
    duplicate = pl.col(QUARANTINE_REASON).str.contains(QuarantineReason.DUPLICATE_KEY, literal=True)
    return quarantine.filter(duplicate).select(pl.len()).collect().item()
