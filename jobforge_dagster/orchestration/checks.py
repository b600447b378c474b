"""Rule groups as Dagster asset checks on a gold asset, evaluated in the table's own step after gold is written."""

from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AssetSelection,
    AutomationCondition,
)

from jobforge_dagster.batches.stamps import layer_stamp, read_stamp
from jobforge_dagster.catalog.models import CheckResult, CheckResults
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import Layer
from jobforge_dagster.lineage.events import ChecksRun, RuleResult, exporter_for
from jobforge_dagster.orchestration.keys import layer_key
from jobforge_dagster.quality import checks
from jobforge_dagster.quality.rules import GoldFacts, Lookup, Rule, RuleGroup
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.parquet import scan_parquet


def check_specs(groups: list[RuleGroup], gold_key: AssetKey) -> list[AssetCheckSpec]:
    """One blocking asset check per rule group; a group that reads another gold table depends on it, and runs
    again on its own (a check-only run, under declarative automation) when that table's gold changes."""
    return [
        AssetCheckSpec(
            group.name,
            asset=gold_key,
            description=group.description,
            blocking=True,
            additional_deps=[layer_key(Layer.GOLD, table) for table in group.reads_tables],
            automation_condition=rerun_when_updated(group.reads_tables),
        )
        for group in groups
    ]


def rerun_when_updated(tables: list[str]) -> AutomationCondition | None:
    """True when one of these gold tables was newly materialized and the check is not already running."""
    if not tables:
        return None
    referenced = AssetSelection.assets(*(layer_key(Layer.GOLD, table) for table in tables))
    updated = AutomationCondition.any_deps_match(AutomationCondition.newly_updated()).allow(referenced)
    return (updated & ~AutomationCondition.in_progress()).with_label("referenced gold updated")


def reading_own_file(lookup: Lookup, table: str, gold_path: Path) -> Lookup:
    """`lookup`, except that a rule reading the table itself (e.g. dim_noc's parent codes) reads `gold_path`."""

    def read(name: str, column: str) -> pl.LazyFrame | pl.DataFrame:
        return scan_parquet(gold_path).select(column) if name == table else lookup(name, column)

    return read


def table_gold_facts(root: DataRoot, spec: TableSpec, lookup: Lookup, gold_path: Path | None = None) -> GoldFacts:
    """Facts about a registry table's gold file (the current one, or a candidate at `gold_path`), its staged and
    silver row counts and its batch's quarantine."""
    gold_path = gold_path or root.table_path(Layer.GOLD, spec.gold_table)
    batch_id, _ = read_stamp(gold_path)
    lookup = reading_own_file(lookup, spec.gold_table, gold_path)

    def gold_batch(table: str) -> str | None:
        """The batch of the gold file a rule reads for `table` (this table's own candidate for itself)."""
        stamp = layer_stamp(gold_path if table == spec.gold_table else root.table_path(Layer.GOLD, table))
        return stamp.batch_id if stamp else None

    return GoldFacts(
        gold_path=gold_path,
        lookup=lookup,
        gold_batch=gold_batch,
        staged_path=root.table_path(Layer.STAGED, spec.name),
        silver_path=root.table_path(Layer.SILVER, spec.name),
        quarantine_path=root.quarantine_path(spec.name, batch_id),
    )


@dataclass(frozen=True)
class CheckLog:
    """Where check outcomes are recorded besides Dagster: `catalog/checks/<table>--<batch>.json`."""

    catalog: CatalogManager
    table: str
    run_id: str | None

    def save(self, gold_path: Path, outcomes: dict[str, checks.CheckOutcome]) -> None:
        batch_id, _ = read_stamp(gold_path)
        results = [
            CheckResult(
                name=name,
                passed=outcome.passed,
                severity=outcome.severity.value,
                description=outcome.description,
                failed_rules=list(outcome.metadata.get("failed_rules", [])),
                compared_with=compared_batches(outcome),
            )
            for name, outcome in outcomes.items()
        ]
        self.catalog.save_check_results(
            CheckResults(table=self.table, batch_id=batch_id, run_id=self.run_id, checks=results)
        )


def compared_batches(outcome: checks.CheckOutcome) -> dict[str, str | None]:
    """Rule -> the referenced gold batch it compared with, for the rules of a check that read another table."""
    return {
        rule: figures["compared_with_batch"]
        for rule, figures in outcome.metadata.items()
        if isinstance(figures, dict) and "compared_with_batch" in figures
    }


def evaluate_checks(
    groups: list[RuleGroup], facts: GoldFacts, selected: set[str], log: CheckLog
) -> tuple[dict[str, checks.CheckOutcome], list[RuleResult]]:
    """Evaluate the selected rule groups on a gold file, record the outcomes in the catalog; return each
    group's outcome and each rule's result (for OpenLineage)."""
    outcomes: dict[str, checks.CheckOutcome] = {}
    results: list[RuleResult] = []
    for group in (group for group in groups if group.name in selected):
        by_rule = group.outcomes(facts)
        outcomes[group.name] = checks.combine(by_rule)
        results += [rule_result(rule, by_rule[rule.name]) for rule in group.rules]
    if outcomes:
        log.save(facts.gold_path, outcomes)
    return outcomes, results


def blocking_failures(outcomes: dict[str, checks.CheckOutcome]) -> list[str]:
    """The checks that failed with ERROR severity (every JobForge check is blocking)."""
    return [
        name
        for name, outcome in outcomes.items()
        if not outcome.passed and outcome.severity is AssetCheckSeverity.ERROR
    ]


def run_checks(
    groups: list[RuleGroup], gold_key: AssetKey, facts: GoldFacts, selected: set[str], log: CheckLog
) -> Generator[AssetCheckResult, None, list[RuleResult]]:
    """Evaluate the selected rule groups on the gold file just written, record them, report them to Dagster;
    return every rule's result."""
    outcomes, results = evaluate_checks(groups, facts, selected, log)
    for name, outcome in outcomes.items():
        yield check_result(gold_key, name, outcome)
    return results


def rule_column(rule: Rule) -> str | None:
    """The one gold column a rule tests, if it tests one."""
    params = rule.params
    if "reference" in params:
        return params["reference"].column
    key = params.get("key") or []
    return params.get("column") or (key[0] if len(key) == 1 else None)


def rule_result(rule: Rule, outcome: checks.CheckOutcome) -> RuleResult:
    return RuleResult(
        name=rule.name,
        assertion=rule.fn.__name__,
        passed=outcome.passed,
        severity=outcome.severity.value.lower(),
        description=f"{rule.description}: {outcome.description}",
        column=rule_column(rule),
    )


def announce_checks(
    root: DataRoot, table: str, facts: GoldFacts, run_id: str, started_at: datetime, results: list[RuleResult]
) -> None:
    """The rules' results as OpenLineage `dataQualityAssertions` on the gold file (job `<table>.gold.checks`)."""
    if not results:
        return

    def checks_run() -> ChecksRun:
        batch_id, sha256 = read_stamp(facts.gold_path)
        return ChecksRun(table, root.relative(facts.gold_path), batch_id, sha256, run_id, started_at, results)

    exporter_for(root.root).checked(checks_run)


def check_result(asset_key: AssetKey, name: str, outcome: checks.CheckOutcome) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=asset_key,
        check_name=name,
        passed=outcome.passed,
        severity=outcome.severity,
        description=outcome.description,
        metadata=outcome.metadata,
    )
