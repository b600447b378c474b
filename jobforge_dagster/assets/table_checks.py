"""Asset checks on each registry table's gold asset, evaluated in the same step right after gold is written."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import polars as pl
from dagster import AssetCheckResult, AssetCheckSpec, AssetKey

from jobforge_dagster import checks
from jobforge_dagster.assets.builds import gold_table_frame, read_batch
from jobforge_dagster.catalog import parquet_row_count
from jobforge_dagster.config import JobForgeConfig
from jobforge_dagster.layers import Layer
from jobforge_dagster.registry import TableSpec


@dataclass(frozen=True)
class GoldFacts:
    """What the checks read: the gold frame and the row counts around it."""

    gold: pl.LazyFrame
    staged_rows: int
    silver_rows: int
    quarantine: pl.LazyFrame | None
    quarantined_rows: int


Evaluate = Callable[[GoldFacts, JobForgeConfig], checks.CheckOutcome]


@dataclass(frozen=True)
class Rule:
    """One data rule, evaluated as part of a check."""

    name: str
    description: str
    evaluate: Evaluate
    additional_deps: tuple[AssetKey, ...] = ()


@dataclass(frozen=True)
class TableCheck:
    """One asset check on a gold table: a group of rules reported together (see `checks.combine`).

    Rules are grouped rather than each made a check because every asset check costs Dagster three events
    (planned, output, evaluation): 185 single-rule checks were a fifth of a real-data run's wall time.
    """

    name: str
    description: str
    rules: tuple[Rule, ...]

    @property
    def additional_deps(self) -> list[AssetKey]:
        return sorted({key for rule in self.rules for key in rule.additional_deps}, key=AssetKey.to_user_string)


def table_rules(spec: TableSpec) -> tuple[list[Rule], list[Rule]]:
    """(integrity rules, conformance rules) of a table: provenance and row reconciliation always; key,
    formats, ranges and foreign keys as declared in the registry."""
    integrity = [
        Rule(
            "provenance",
            "provenance columns present and non-null",
            lambda facts, _: checks.provenance_check(facts.gold),
        ),
        Rule(
            "row_reconciliation",
            "source rows = silver rows + quarantined rows, and every silver row reaches gold",
            lambda facts, _: checks.reconciliation_check(
                facts.staged_rows, facts.silver_rows, facts.quarantined_rows, facts.gold
            ),
        ),
    ]
    conformance = []
    key = spec.gold_key_columns
    if key:
        conformance.append(
            Rule(
                "key_unique",
                f"({', '.join(key)}) unique in gold; WARN when the source repeated keys (quarantined)",
                lambda facts, _: checks.key_unique_check(
                    facts.gold, key, checks.duplicates_in_quarantine(facts.quarantine)
                ),
            )
        )
    for column, pattern in spec.checks.code_formats.items():
        conformance.append(
            Rule(
                f"code_format_{column}",
                f"{column} matches ^{pattern}$ (COPS aggregate rows excluded)",
                lambda facts, _, column=column, pattern=pattern: checks.code_format_check(facts.gold, column, pattern),
            )
        )
    for column, bounds in spec.checks.ranges.items():
        conformance.append(
            Rule(
                f"range_{column}",
                f"{column} within its published range [{bounds.min:g}, {bounds.max:g}]",
                lambda facts, _, column=column, bounds=bounds: checks.range_check(facts.gold, column, bounds),
            )
        )
    for reference in spec.checks.foreign_keys:
        own = reference.table == spec.gold_table
        conformance.append(
            Rule(
                f"foreign_key_{reference.column}",
                f"{reference.column} resolves in {reference.table}.{reference.table_column} (nulls counted)",
                lambda facts, config, reference=reference: checks.foreign_key_check(
                    facts.gold, reference, gold_table_frame(config, reference.table)
                ),
                () if own else (AssetKey([Layer.GOLD.value, reference.table]),),
            )
        )
    return integrity, conformance


def table_checks(spec: TableSpec) -> list[TableCheck]:
    """`integrity` on every gold table; `conformance` where the registry declares data rules."""
    integrity, conformance = table_rules(spec)
    found = [TableCheck(checks.INTEGRITY, _describe("Nothing lost, provenance intact", integrity), tuple(integrity))]
    if conformance:
        found.append(
            TableCheck(checks.CONFORMANCE, _describe("Declared data rules hold", conformance), tuple(conformance))
        )
    return found


def _describe(summary: str, rules: list[Rule]) -> str:
    return f"{summary}: " + "; ".join(f"{rule.name} ({rule.description})" for rule in rules) + "."


def check_specs(spec: TableSpec, gold_key: AssetKey) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            check.name,
            asset=gold_key,
            description=check.description,
            blocking=True,
            additional_deps=check.additional_deps,
        )
        for check in table_checks(spec)
    ]


def gold_facts(spec: TableSpec, config: JobForgeConfig) -> GoldFacts:
    gold_path = config.table_path(Layer.GOLD, spec.gold_table)
    batch_id, _ = read_batch(gold_path)
    quarantine_path = config.quarantine_path(spec.name, batch_id)
    quarantine = pl.scan_parquet(quarantine_path) if quarantine_path.exists() else None
    return GoldFacts(
        gold=pl.scan_parquet(gold_path),
        staged_rows=parquet_row_count(config.table_path(Layer.STAGED, spec.name)),
        silver_rows=parquet_row_count(config.table_path(Layer.SILVER, spec.name)),
        quarantine=quarantine,
        quarantined_rows=parquet_row_count(quarantine_path) if quarantine is not None else 0,
    )


def run_checks(
    spec: TableSpec, config: JobForgeConfig, gold_key: AssetKey, selected: set[str]
) -> Iterator[AssetCheckResult]:
    """Evaluate the selected checks on the gold file just written."""
    wanted = [check for check in table_checks(spec) if check.name in selected]
    if not wanted:
        return
    facts = gold_facts(spec, config)
    for check in wanted:
        outcomes = {}
        for rule in check.rules:
            try:
                outcomes[rule.name] = rule.evaluate(facts, config)
            except Exception as error:  # a rule that cannot run has failed, with the reason
                outcomes[rule.name] = checks.CheckOutcome(False, f"could not run: {type(error).__name__}: {error}")
        yield check_result(gold_key, check.name, checks.combine(outcomes))


def check_result(asset_key: AssetKey, name: str, outcome: checks.CheckOutcome) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=asset_key,
        check_name=name,
        passed=outcome.passed,
        severity=outcome.severity,
        description=outcome.description,
        metadata=outcome.metadata,
    )
