"""Evaluating a gold table's checks: the facts its rules read, each check's outcome recorded in the catalog
(`catalog/checks/<table>--<batch>.json`) and announced (OpenLineage `dataQualityAssertions`)."""

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from jobforge_dagster.batches.stamps import layer_stamp, read_stamp
from jobforge_dagster.catalog.models import CheckResult, CheckResults
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import Layer
from jobforge_dagster.quality.outcome import ChecksRun, ChecksSink, GroupOutcome
from jobforge_dagster.quality.rules import GoldFacts, Lookup, RuleGroup
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.parquet import scan_parquet
from jobforge_dagster.storage.paths import DataPath


def reading_own_file(lookup: Lookup, table: str, gold_path: DataPath) -> Lookup:
    """`lookup`, except that a rule reading the table itself (e.g. dim_noc's parent codes) reads `gold_path`."""

    def read(name: str, column: str) -> pl.LazyFrame | pl.DataFrame:
        return scan_parquet(gold_path).select(column) if name == table else lookup(name, column)

    return read


def table_gold_facts(
    root: DataRoot, spec: TableSpec, lookup: Lookup, gold_path: DataPath | None = None
) -> GoldFacts:
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


def check_result(outcome: GroupOutcome) -> CheckResult:
    """A check's outcome as the catalog keeps it."""
    return CheckResult(
        name=outcome.name,
        passed=outcome.passed,
        severity=outcome.severity.value,
        description=outcome.description,
        failed_rules=outcome.failed_rules,
        compared_with=outcome.compared_with,
    )


@dataclass(frozen=True)
class CheckLog:
    """Where a table's check outcomes are recorded besides Dagster: the catalog, and the announcement sink."""

    catalog: CatalogManager
    table: str
    run_id: str | None
    sink: ChecksSink | None = None

    def save(self, gold_path: DataPath, outcomes: list[GroupOutcome]) -> None:
        batch_id, _ = read_stamp(gold_path)
        results = [check_result(outcome) for outcome in outcomes]
        self.catalog.save_check_results(
            CheckResults(table=self.table, batch_id=batch_id, run_id=self.run_id, checks=results)
        )

    def announce(self, name: str, facts: GoldFacts, started_at: datetime, outcomes: list[GroupOutcome]) -> None:
        """The rules' results as OpenLineage `dataQualityAssertions` on the gold file (job `<name>.gold.checks`)."""
        results = [rule for outcome in outcomes for rule in outcome.rules]
        if self.sink is None or not results:
            return
        root = self.catalog.root

        def checks_run() -> ChecksRun:
            batch_id, sha256 = read_stamp(facts.gold_path)
            gold_file = root.relative(facts.gold_path)
            return ChecksRun(name, gold_file, batch_id, sha256, self.run_id, started_at, results)

        self.sink.checked(checks_run)


def evaluate_checks(
    groups: list[RuleGroup], facts: GoldFacts, selected: set[str], log: CheckLog
) -> list[GroupOutcome]:
    """Evaluate the selected rule groups on a gold file and record their outcomes in the catalog."""
    outcomes = [group.evaluate(facts) for group in groups if group.name in selected]
    if outcomes:
        log.save(facts.gold_path, outcomes)
    return outcomes


def blocking_failures(outcomes: list[GroupOutcome]) -> list[str]:
    """The checks that failed with ERROR severity (every JobForge check is blocking)."""
    return [outcome.name for outcome in outcomes if outcome.blocking]
