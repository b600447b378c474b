"""Rule groups as Dagster asset checks on a gold asset, evaluated in the table's own step after gold is written."""

from collections.abc import Generator
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AssetSelection,
    AutomationCondition,
    MetadataValue,
)

from jobforge_dagster.catalog.models import CheckResult
from jobforge_dagster.layers import Layer
from jobforge_dagster.orchestration.keys import STATUS_KEY, layer_key
from jobforge_dagster.quality.evaluation import CheckLog, evaluate_checks
from jobforge_dagster.quality.outcome import GroupOutcome, Severity
from jobforge_dagster.quality.rules import GoldFacts, RuleGroup

SEVERITIES = {Severity.ERROR: AssetCheckSeverity.ERROR, Severity.WARN: AssetCheckSeverity.WARN}


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


def rules_table(outcome: GroupOutcome) -> MetadataValue:
    """Every rule of a check, its result and detail, as a markdown table."""
    rows = "\n".join(
        f"| {rule.name} | {'pass' if rule.outcome.passed else rule.outcome.severity.value} "
        f"| {rule.outcome.description.replace('|', '/')} |"
        for rule in outcome.rules
    )
    return MetadataValue.md(f"| rule | result | detail |\n| --- | --- | --- |\n{rows}")


def rule_figures(outcome: GroupOutcome) -> dict[str, dict[str, Any]]:
    """Each rule's figures by rule name; a foreign-key rule's name the referenced gold batch it compared with."""
    compared = outcome.compared_with
    return {
        name: figures | ({"compared_with_batch": compared[name]} if name in compared else {})
        for name, figures in outcome.figures.items()
    }


def check_result(asset_key: AssetKey, outcome: GroupOutcome) -> AssetCheckResult:
    """A check's outcome as Dagster shows it: failed rules, a table of every rule, each rule's figures."""
    metadata = {"failed_rules": outcome.failed_rules, "rules": rules_table(outcome)} | rule_figures(outcome)
    return AssetCheckResult(
        asset_key=asset_key,
        check_name=outcome.name,
        passed=outcome.passed,
        severity=SEVERITIES[outcome.severity],
        description=outcome.description,
        metadata=metadata,
    )


def run_checks(
    groups: list[RuleGroup], gold_key: AssetKey, facts: GoldFacts, selected: set[str], log: CheckLog
) -> Generator[AssetCheckResult, None, list[GroupOutcome]]:
    """Evaluate the selected rule groups on the gold file just written, record them, report them to Dagster;
    return their outcomes."""
    outcomes = evaluate_checks(groups, facts, selected, log)
    for outcome in outcomes:
        yield check_result(gold_key, outcome)
    return outcomes


def stored_check_result(asset_key: AssetKey, result: CheckResult, batch: str) -> AssetCheckResult:
    """A check's recorded result for the published batch, reported again (not re-evaluated)."""
    return AssetCheckResult(
        asset_key=asset_key,
        check_name=result.name,
        passed=result.passed,
        severity=SEVERITIES[Severity(result.severity)],
        description=f"{result.description} (re-reported for batch {batch}: gold is current, not re-evaluated)",
        metadata={STATUS_KEY: "re-reported", "batch_id": batch, "failed_rules": result.failed_rules},
    )
