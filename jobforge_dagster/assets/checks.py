"""Rule groups as Dagster asset checks on a gold asset, evaluated in the table's own step after gold is written."""

from collections.abc import Iterator

from dagster import AssetCheckResult, AssetCheckSpec, AssetKey

from jobforge_dagster import checks
from jobforge_dagster.batches import read_stamp
from jobforge_dagster.data_root import DataRoot
from jobforge_dagster.keys import layer_key
from jobforge_dagster.layers import Layer
from jobforge_dagster.registry import TableSpec
from jobforge_dagster.rules import GoldFacts, Lookup, RuleGroup


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
) -> Iterator[AssetCheckResult]:
    """Evaluate the selected rule groups on the gold file just written."""
    for group in groups:
        if group.name in selected:
            yield check_result(gold_key, group.name, group.evaluate(facts))


def check_result(asset_key: AssetKey, name: str, outcome: checks.CheckOutcome) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=asset_key,
        check_name=name,
        passed=outcome.passed,
        severity=outcome.severity,
        description=outcome.description,
        metadata=outcome.metadata,
    )
