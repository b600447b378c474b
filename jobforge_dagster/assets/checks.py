"""Rule groups as Dagster asset checks on a gold asset, evaluated in the table's own step after gold is written."""

from collections.abc import Generator
from datetime import datetime

from dagster import AssetCheckResult, AssetCheckSpec, AssetKey

from jobforge_dagster import checks
from jobforge_dagster.batches import read_stamp
from jobforge_dagster.data_root import DataRoot
from jobforge_dagster.keys import layer_key
from jobforge_dagster.layers import Layer
from jobforge_dagster.lineage_export import ChecksRun, RuleResult, exporter_for
from jobforge_dagster.registry import TableSpec
from jobforge_dagster.rules import GoldFacts, Lookup, Rule, RuleGroup


def check_specs(groups: list[RuleGroup], gold_key: AssetKey) -> list[AssetCheckSpec]:
    """One blocking asset check per rule group; a group that reads another gold table depends on it."""
    return [
        AssetCheckSpec(
            group.name,
            asset=gold_key,
            description=group.description,
            blocking=True,
            additional_deps=[layer_key(Layer.GOLD, table) for table in group.reads_tables],
        )
        for group in groups
    ]


def table_gold_facts(root: DataRoot, spec: TableSpec, lookup: Lookup) -> GoldFacts:
    """Facts about a registry table's gold file, its staged and silver row counts and its batch's quarantine."""
    gold_path = root.table_path(Layer.GOLD, spec.gold_table)
    batch_id, _ = read_stamp(gold_path)
    return GoldFacts(
        gold_path=gold_path,
        lookup=lookup,
        staged_path=root.table_path(Layer.STAGED, spec.name),
        silver_path=root.table_path(Layer.SILVER, spec.name),
        quarantine_path=root.quarantine_path(spec.name, batch_id),
    )


def run_checks(
    groups: list[RuleGroup], gold_key: AssetKey, facts: GoldFacts, selected: set[str]
) -> Generator[AssetCheckResult, None, list[RuleResult]]:
    """Evaluate the selected rule groups on the gold file just written; return every rule's result."""
    results: list[RuleResult] = []
    for group in groups:
        if group.name in selected:
            outcomes = group.outcomes(facts)
            yield check_result(gold_key, group.name, checks.combine(outcomes))
            results += [rule_result(rule, outcomes[rule.name]) for rule in group.rules]
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
