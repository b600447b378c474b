"""Bronze -> silver: trimming, blanks to null, validation rules and de-duplication on the key."""

from dataclasses import dataclass

import polars as pl

from jobforge_dagster.layers import PROVENANCE_COLUMNS, QUARANTINE_REASON
from jobforge_dagster.registry import SilverRule


@dataclass(frozen=True)
class SilverSplit:
    """The rows that pass into silver and the rows set aside, with their reason."""

    passed: pl.LazyFrame
    quarantined: pl.LazyFrame
    transforms: list[str]


def clean(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Trim string cells and turn empty strings into nulls (provenance columns untouched)."""
    strings = [
        name for name, dtype in frame.collect_schema().items() if dtype == pl.String and name not in PROVENANCE_COLUMNS
    ]
    trimmed = pl.col(strings).str.strip_chars()
    return frame.with_columns(pl.when(trimmed == "").then(None).otherwise(trimmed).name.keep())


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


def split(frame: pl.LazyFrame, key_columns: list[str], rules: list[SilverRule]) -> SilverSplit:
    """Apply rules and key de-duplication; each failing row gets every reason it failed, `; `-joined."""
    schema = frame.collect_schema()
    missing = sorted(({rule.column for rule in rules} | set(key_columns)) - set(schema.names()))
    if missing:
        raise ValueError(f"rules or key name columns the table does not have: {missing}")
    reasons: list[pl.Expr] = [pl.when(rule_failure(rule)).then(pl.lit(f"rule failed: {rule.name}")) for rule in rules]
    transforms = ["trim strings", "empty strings to null"] + [f"rule: {rule.name}" for rule in rules]
    if key_columns:
        key = ", ".join(key_columns)
        reasons.append(pl.when(pl.any_horizontal(pl.col(key_columns).is_null())).then(pl.lit(f"null key ({key})")))
        first = pl.struct(key_columns).is_first_distinct()
        reasons.append(pl.when(first.not_()).then(pl.lit(f"duplicate key ({key}): an earlier row has it")))
        transforms.append(f"de-duplicate on ({key}), first row kept")
    if not reasons:
        return SilverSplit(passed=frame, quarantined=frame.clear(), transforms=transforms)
    flagged = frame.with_columns(pl.concat_str(reasons, separator="; ", ignore_nulls=True).alias(QUARANTINE_REASON))
    bad = pl.col(QUARANTINE_REASON).is_not_null() & (pl.col(QUARANTINE_REASON) != "")
    return SilverSplit(
        passed=flagged.filter(bad.not_()).drop(QUARANTINE_REASON),
        quarantined=flagged.filter(bad),
        transforms=transforms,
    )
