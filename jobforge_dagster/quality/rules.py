"""Data rules as named objects, grouped into the two checks every gold table gets.

A rule is a pure function over `GoldFacts` plus its parameters; each group of rules is reported as one check
(`evaluation`), which orchestration turns into one Dagster asset check.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from jobforge_dagster.catalog.describe import null_counts, parquet_row_count
from jobforge_dagster.dictionary.model import default_dictionary
from jobforge_dagster.quality import checks, documentation
from jobforge_dagster.quality.outcome import CheckOutcome, GroupOutcome, RuleOutcome, Severity
from jobforge_dagster.registry.spec import Range, Reference, TableSpec
from jobforge_dagster.storage.parquet import read_footer, scan_parquet
from jobforge_dagster.transforms.gold import LONG_FORMS, LongForm

#: Values of `table.column` in gold: how a foreign-key rule reads the table it refers to.
Lookup = Callable[[str, str], pl.LazyFrame | pl.DataFrame]
#: The batch of a gold table as published now (None: no gold yet): what a foreign-key rule compared against.
GoldBatch = Callable[[str], str | None]


def no_gold(table: str) -> str | None:
    return None


@dataclass
class GoldFacts:
    """What rules read about one gold table; each figure is read from disk the first time a rule asks."""

    gold_path: Path
    lookup: Lookup
    staged_path: Path | None = None
    silver_path: Path | None = None
    quarantine_path: Path | None = None
    gold_batch: GoldBatch = no_gold

    @cached_property
    def gold(self) -> pl.LazyFrame:
        return scan_parquet(self.gold_path)

    @cached_property
    def silver(self) -> pl.LazyFrame:
        if self.silver_path is None:
            raise ValueError("no silver table to compare gold with")
        return scan_parquet(self.silver_path)

    @cached_property
    def null_counts(self) -> dict[str, int | None]:
        """Nulls per gold column from the parquet footer's statistics (None where they are missing)."""
        footer = read_footer(self.gold_path)
        return dict(zip(footer.schema.names, null_counts(footer), strict=True))

    @cached_property
    def staged_rows(self) -> int:
        return parquet_row_count(self.staged_path) if self.staged_path else 0

    @cached_property
    def silver_rows(self) -> int:
        return parquet_row_count(self.silver_path) if self.silver_path else 0

    @cached_property
    def quarantine(self) -> pl.LazyFrame | None:
        path = self.quarantine_path
        return scan_parquet(path) if path is not None and path.exists() else None

    @cached_property
    def quarantined_rows(self) -> int:
        return parquet_row_count(self.quarantine_path) if self.quarantine is not None else 0


@dataclass(frozen=True)
class Rule:
    """One data rule: `fn(facts, **params)` returns its outcome."""

    name: str
    description: str
    fn: Callable[..., CheckOutcome]
    params: Mapping[str, Any] = field(default_factory=dict)
    reads_tables: tuple[str, ...] = ()
    compares_batches: bool = False  # a foreign-key rule: its outcome names the referenced gold batch

    @property
    def column(self) -> str | None:
        """The one gold column the rule tests, if it tests one."""
        if "reference" in self.params:
            return self.params["reference"].column
        key = self.params.get("key") or []
        return self.params.get("column") or (key[0] if len(key) == 1 else None)

    def evaluate(self, facts: GoldFacts) -> RuleOutcome:
        """The rule's outcome; a rule that cannot run has failed, with the reason."""
        try:
            outcome = self.fn(facts, **self.params)
        except Exception as error:
            outcome = CheckOutcome(False, f"could not run: {type(error).__name__}: {error}")
        return RuleOutcome(self.name, self.fn.__name__, self.description, outcome, self.column, self.compares_batches)


@dataclass(frozen=True)
class RuleGroup:
    """Rules reported together as one asset check (every asset check costs Dagster three events)."""

    name: str
    summary: str
    rules: tuple[Rule, ...]

    @property
    def description(self) -> str:
        return f"{self.summary}: " + "; ".join(f"{rule.name} ({rule.description})" for rule in self.rules) + "."

    @property
    def reads_tables(self) -> list[str]:
        return sorted({table for rule in self.rules for table in rule.reads_tables})

    def evaluate(self, facts: GoldFacts) -> GroupOutcome:
        """Every rule's outcome, as one check."""
        return GroupOutcome(self.name, tuple(rule.evaluate(facts) for rule in self.rules))


def provenance(facts: GoldFacts) -> CheckOutcome:
    """From the gold file's statistics when they settle it, else one pass over the data."""
    return checks.provenance_from_statistics(facts.null_counts) or checks.provenance_check(facts.gold)


def row_reconciliation(facts: GoldFacts) -> CheckOutcome:
    return checks.reconciliation_check(facts.staged_rows, facts.silver_rows, facts.quarantined_rows, facts.gold)


def cell_reconciliation(facts: GoldFacts, form: LongForm) -> CheckOutcome:
    return checks.cell_reconciliation_check(facts.silver, facts.gold, form)


def key_unique(facts: GoldFacts, key: list[str]) -> CheckOutcome:
    return checks.key_unique_check(facts.gold, key, checks.duplicates_in_quarantine(facts.quarantine))


def code_format(facts: GoldFacts, column: str, pattern: str) -> CheckOutcome:
    return checks.code_format_check(facts.gold, column, pattern)


def value_range(facts: GoldFacts, column: str, bounds: Range) -> CheckOutcome:
    return checks.range_check(facts.gold, column, bounds)


def foreign_key(facts: GoldFacts, reference: Reference) -> CheckOutcome:
    """Against the referenced table's last good gold, naming its batch; a WARN when it has no gold yet."""
    batch = facts.gold_batch(reference.table)
    if batch is None:
        description = f"gold/{reference.table} does not exist yet: {reference.column} was not checked"
        return CheckOutcome(False, description, {}, Severity.WARN)
    allowed = facts.lookup(reference.table, reference.table_column).lazy()
    outcome = checks.foreign_key_check(facts.gold, reference, allowed)
    return replace(outcome, compared_with_batch=batch)


def documented(facts: GoldFacts, table: str) -> CheckOutcome:
    """Every column of the gold file (its schema, from the footer) described in the data dictionary."""
    return documentation.description_check(table, facts.gold.collect_schema().names())


def guide_entries(facts: GoldFacts) -> CheckOutcome:
    return documentation.guide_check(facts.gold)


def documented_rule(table: str) -> Rule:
    description = "every column described in English and French in the data dictionary (WARN)"
    return Rule("documented", description, documented, {"table": table})


PROVENANCE_RULE = Rule("provenance", "provenance columns present and non-null", provenance)
ROW_RECONCILIATION = Rule(
    "row_reconciliation",
    "source rows = silver rows + quarantined rows, and every silver row reaches gold",
    row_reconciliation,
)


def integrity_rules(spec: TableSpec) -> tuple[Rule, ...]:
    """Provenance and row reconciliation; for a long-form gold table, cell reconciliation against silver too."""
    rules = (PROVENANCE_RULE, ROW_RECONCILIATION)
    if (form := LONG_FORMS.get(spec.gold_transform or "")) is None:
        return rules
    description = "every measure cell of silver is in gold exactly once, with its value"
    return (*rules, Rule("cell_reconciliation", description, cell_reconciliation, {"form": form}))


def conformance_rules(spec: TableSpec) -> list[Rule]:
    """Key, formats, ranges and foreign keys, as the registry declares them for this table."""
    found = []
    if key := spec.gold_key_columns:
        description = f"({', '.join(key)}) unique in gold; WARN when the source repeated keys (quarantined)"
        found.append(Rule("key_unique", description, key_unique, {"key": key}))
    for column, pattern in spec.checks.code_formats.items():
        description = f"{column} matches ^{pattern}$ (COPS aggregate rows excluded)"
        found.append(Rule(f"code_format_{column}", description, code_format, {"column": column, "pattern": pattern}))
    for column, bounds in spec.checks.ranges.items():
        description = f"{column} within its published range [{bounds.min:g}, {bounds.max:g}]"
        found.append(Rule(f"range_{column}", description, value_range, {"column": column, "bounds": bounds}))
    for reference in spec.checks.foreign_keys:
        description = f"{reference.column} resolves in {reference.table}.{reference.table_column} (nulls counted)"
        reads = () if reference.table == spec.gold_table else (reference.table,)
        params = {"reference": reference}
        found.append(Rule(f"foreign_key_{reference.column}", description, foreign_key, params, reads, True))
    if default_dictionary().is_declared(spec.gold_table):
        found.append(documented_rule(spec.gold_table))
    return found


def table_rule_groups(spec: TableSpec) -> list[RuleGroup]:
    """`integrity` on every gold table; `conformance` where the registry declares data rules."""
    groups = [RuleGroup(checks.INTEGRITY, "Nothing lost, provenance intact", integrity_rules(spec))]
    if conformance := conformance_rules(spec):
        groups.append(RuleGroup(checks.CONFORMANCE, "Declared data rules hold", tuple(conformance)))
    return groups


def check_names(spec: TableSpec) -> list[str]:
    return [group.name for group in table_rule_groups(spec)]
