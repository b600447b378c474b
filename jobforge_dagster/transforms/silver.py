"""Bronze -> silver: trimming, blanks to null, validation rules and de-duplication on the key."""

from dataclasses import dataclass

import polars as pl

from jobforge_dagster.layers import PROVENANCE_COLUMNS, QUARANTINE_REASON, QuarantineReason
from jobforge_dagster.registry.spec import SilverRule, TableSpec
from jobforge_dagster.transforms.lineage import ColumnLineage, ColumnOrigin, carried, indirect, transformed


@dataclass(frozen=True)
class SilverSplit:
    """The rows that pass into silver and the rows set aside, with their reason."""

    passed: pl.LazyFrame
    quarantined: pl.LazyFrame | None  # None: no rule, key or reference can reject a row
    transforms: list[str]


def string_columns(frame: pl.LazyFrame) -> list[str]:
    """Data columns of type String (provenance columns excluded)."""
    return [
        name for name, dtype in frame.collect_schema().items() if dtype == pl.String and name not in PROVENANCE_COLUMNS
    ]


def clean(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Trim string cells and turn empty strings into nulls (provenance columns untouched)."""
    trimmed = pl.col(string_columns(frame)).str.strip_chars()
    return frame.with_columns(pl.when(trimmed == "").then(None).otherwise(trimmed).name.keep())


def count_blanks(frame: pl.LazyFrame) -> int:
    """String cells that `clean` turns into nulls: empty, or only whitespace."""
    columns = string_columns(frame)
    if not columns:
        return 0
    blanks = frame.select(pl.sum_horizontal((pl.col(columns).str.strip_chars() == "").sum()).alias("blanks"))
    return int(blanks.collect().item())


def pad_codes(frame: pl.LazyFrame, widths: dict[str, int]) -> pl.LazyFrame:
    """Left-pad all-digit codes with zeros to a declared width (`10` -> `00010`); other values untouched."""
    return frame.with_columns(
        pl.when(pl.col(column).str.contains(r"^\d+$"))
        .then(pl.col(column).str.zfill(width))
        .otherwise(pl.col(column))
        .alias(column)
        for column, width in widths.items()
    )


def restore_decimal_codes(frame: pl.LazyFrame, formats: dict[str, tuple[int, int]]) -> pl.LazyFrame:
    """Undo spreadsheet number mangling of decimal codes: with (5, 2), `10010` -> `10010.00`, `31100.1` -> `31100.10`.

    Only all-digit values that fit the format are touched; anything else is left for the rules to reject.
    """
    repaired = []
    for column, (whole_digits, decimals) in formats.items():
        parts = pl.col(column).str.extract_groups(r"^(\d+)(?:\.(\d*))?$")
        whole = parts.struct.field("1")
        fraction = parts.struct.field("2").fill_null("")
        fits = whole.is_not_null() & (whole.str.len_chars() <= whole_digits) & (fraction.str.len_chars() <= decimals)
        fixed = pl.concat_str([whole.str.zfill(whole_digits), pl.lit("."), fraction.str.pad_end(decimals, "0")])
        repaired.append(pl.when(fits).then(fixed).otherwise(pl.col(column)).alias(column))
    return frame.with_columns(repaired)


def changed_cells(before: pl.LazyFrame, after: pl.LazyFrame, columns: list[str]) -> dict[str, int]:
    """Cells per column that differ between two row-aligned frames."""
    if not columns:
        return {}
    counts = (
        pl.concat([before.select(columns), after.select(pl.col(columns).name.suffix("__after"))], how="horizontal")
        .select((pl.col(c) != pl.col(f"{c}__after")).sum().alias(c) for c in columns)
        .collect()
    )
    return counts.row(0, named=True)


def rule_failure(rule: SilverRule) -> pl.Expr:
    """True where a row breaks the rule (nulls only break `not_null`)."""
    value = pl.col(rule.column)
    checks: list[pl.Expr] = []
    if rule.not_null:
        checks.append(value.is_null())
    if rule.pattern is not None:
        checks.append(value.cast(pl.String).str.contains(f"^(?:{rule.pattern})$").not_())
    if rule.allowed is not None:
        checks.append(value.cast(pl.String).is_in(rule.allowed).not_())
    if rule.min is not None:
        checks.append(value < rule.min)
    if rule.max is not None:
        checks.append(value > rule.max)
    failure = pl.any_horizontal(checks) if checks else pl.lit(False)
    return failure.fill_null(False)


def join_references(
    frame: pl.LazyFrame, references: dict[str, tuple[str, pl.LazyFrame]]
) -> tuple[pl.LazyFrame, list[pl.Expr], list[str]]:
    """Mark each row whose referenced value is missing: (frame with markers, reasons, transform lines)."""
    reasons, transforms = [], []
    for position, (column, (target, allowed)) in enumerate(references.items()):
        marker = f"__reference_{position}"
        values = allowed.select(pl.col(allowed.collect_schema().names()[0]).alias(column)).unique()
        frame = frame.join(
            values.with_columns(pl.lit(True).alias(marker)), on=column, how="left", maintain_order="left"
        )
        reasons.append(
            pl.when(pl.col(column).is_not_null() & pl.col(marker).is_null()).then(
                pl.lit(f"{column} {QuarantineReason.NO_MATCH} {target}")
            )
        )
        transforms.append(f"reference: {column} must exist in {target}")
    return frame, reasons, transforms


def key_reasons(key_columns: list[str]) -> list[pl.Expr]:
    """A null key, or a key an earlier row already has (the first row is kept)."""
    key = ", ".join(key_columns)
    first = pl.struct(key_columns).is_first_distinct()
    return [
        pl.when(pl.any_horizontal(pl.col(key_columns).is_null())).then(pl.lit(f"{QuarantineReason.NULL_KEY} ({key})")),
        pl.when(first.not_()).then(pl.lit(f"{QuarantineReason.DUPLICATE_KEY} ({key}): an earlier row has it")),
    ]


def check_columns(
    frame: pl.LazyFrame, rules: list[SilverRule], key_columns: list[str], references: dict[str, object]
) -> None:
    """Rules, key and references must name columns the table has."""
    named = {rule.column for rule in rules} | set(key_columns) | set(references)
    if missing := sorted(named - set(frame.collect_schema().names())):
        raise ValueError(f"rules or key name columns the table does not have: {missing}")


def split(
    frame: pl.LazyFrame,
    key_columns: list[str],
    rules: list[SilverRule],
    references: dict[str, tuple[str, pl.LazyFrame]] | None = None,
    repairs: list[str] | None = None,
    blanks: int | None = None,
) -> SilverSplit:
    """Apply rules, references and key de-duplication; a failing row gets every reason, `; `-joined.

    `references` maps a column to (a name for the referenced column, a frame of its allowed values);
    `repairs` describes the code repairs applied before the split, listed after cleaning in `transforms`;
    `blanks` is how many cells `clean` turned into nulls (see `count_blanks`), reported when given.
    """
    references = references or {}
    check_columns(frame, rules, key_columns, references)
    reasons: list[pl.Expr] = [
        pl.when(rule_failure(rule)).then(pl.lit(f"{QuarantineReason.RULE_FAILED}: {rule.name}")) for rule in rules
    ]
    emptied = "empty strings to null" + (f": {blanks} cells" if blanks is not None else "")
    transforms = ["trim strings", emptied, *(repairs or [])] + [f"rule: {rule.name}" for rule in rules]
    frame, reference_reasons, reference_transforms = join_references(frame, references)
    reasons += reference_reasons
    transforms += reference_transforms
    if key_columns:
        reasons += key_reasons(key_columns)
        transforms.append(f"de-duplicate on ({', '.join(key_columns)}), first row kept")
    if not reasons:
        return SilverSplit(passed=frame, quarantined=None, transforms=transforms)
    markers = [f"__reference_{position}" for position in range(len(references))]
    flagged = frame.with_columns(pl.concat_str(reasons, separator="; ", ignore_nulls=True).alias(QUARANTINE_REASON))
    flagged = flagged.drop(markers)
    bad = pl.col(QUARANTINE_REASON).is_not_null() & (pl.col(QUARANTINE_REASON) != "")
    return SilverSplit(
        passed=flagged.filter(bad.not_()).drop(QUARANTINE_REASON),
        quarantined=flagged.filter(bad),
        transforms=transforms,
    )


def repair_descriptions(spec: TableSpec) -> dict[str, str]:
    """The declared code repair of each repaired column."""
    padded = {column: f"all-digit codes left-padded with zeros to {width}" for column, width in spec.pad_codes.items()}
    restored = {column: f"spreadsheet-shortened codes restored to {fmt}" for column, fmt in spec.decimal_codes.items()}
    return padded | restored


def row_filters(spec: TableSpec, reference_files: dict[str, str]) -> list[ColumnOrigin]:
    """What decides which rows reach silver: rules, references (joined to a gold file) and the key."""
    found = [indirect(rule.column, "FILTER", f"rows failing '{rule.name}' quarantined") for rule in spec.rules]
    for ref in spec.references:
        found.append(indirect(ref.column, "FILTER", f"rows whose {ref.column} is not in {ref.table} quarantined"))
        found.append(indirect(ref.table_column, "JOIN", f"matched on {ref.column}", reference_files[ref.column]))
    key = ", ".join(spec.key_columns)
    found += [indirect(column, "FILTER", f"de-duplicated on ({key}), first row kept") for column in spec.key_columns]
    return found


def lineage(
    spec: TableSpec,
    columns: list[str],
    strings: list[str],
    reference_files: dict[str, str],
    inferred: dict[str, str] | None = None,
) -> ColumnLineage:
    """Text columns trimmed and blanks nulled, declared codes repaired, types inferred (TRANSFORMATION); rows
    filtered (INDIRECT).

    `strings` are the text columns `clean` touches; `reference_files` maps a referencing column to the gold file
    it is checked against; `inferred` maps a column of an undeclared table to the type inferred from its text."""
    repairs = repair_descriptions(spec)
    parsed = {
        column: f"text parsed as {dtype}, every value unchanged as text" for column, dtype in (inferred or {}).items()
    }
    changed = {
        column: [
            transformed(
                column, "; ".join(filter(None, ["trimmed, blank to null", repairs.get(column), parsed.get(column)]))
            )
        ]
        for column in strings
    }
    return carried(columns).merged(ColumnLineage(fields=changed, dataset=row_filters(spec, reference_files)))
