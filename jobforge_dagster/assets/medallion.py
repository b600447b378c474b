"""Asset factory: one multi-asset per registry table, materializing staged, bronze, silver and gold.

One step per table keeps the orchestration cost per table small, while the UI still shows four assets
(`staged/<table>` ... `gold/<table>`) with their own metadata and the gold asset's checks, and any
subset of them can be selected.
"""

from collections.abc import Iterator

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    Config,
    Output,
    multi_asset,
)
from pydantic import Field

from jobforge_dagster import lineage_export
from jobforge_dagster.assets.builders import TableRun, build_layer
from jobforge_dagster.assets.checks import announce_checks, check_specs, run_checks, table_gold_facts
from jobforge_dagster.catalog import TransitionFacts, utc_now
from jobforge_dagster.data_root import DataRoot
from jobforge_dagster.keys import layer_key, output_name, table_keys
from jobforge_dagster.layers import LAYERS, SOURCE, Layer
from jobforge_dagster.query import GoldQueryResource
from jobforge_dagster.registry import TableSpec
from jobforge_dagster.rules import table_rule_groups
from jobforge_dagster.storage import exclusive_lock, remove_stale_temporaries

LAYER_DESCRIPTIONS = {
    Layer.STAGED: "Source as it is: every value the string in the file, plus row provenance.",
    Layer.BRONZE: "Unique snake_case column names, null tokens, declared renames and casts.",
    Layer.SILVER: "Trimmed, blanks as null, validated and de-duplicated on the key; rejects in quarantine.",
    Layer.GOLD: "Business-ready table.",
}


class TableRunConfig(Config):
    """Run configuration of a table's step."""

    batch_id: str | None = Field(
        default=None,
        description="Backfill: rebuild the selected layers from this kept batch instead of the current source file.",
    )


def clean_stale_temporaries(context: AssetExecutionContext, root: DataRoot, spec: TableSpec) -> None:
    """Remove what a killed run left half-written for this table (hidden temporaries, never read)."""
    places = [(root.layer_dir(layer), f"{spec.layer_table(layer)}.parquet") for layer in LAYERS]
    places += [(root.catalog_tables_dir() / layer.value, f"{spec.layer_table(layer)}.json") for layer in LAYERS]
    places += [(root.layer_dir(layer) / spec.name, "batch=") for layer in LAYERS]
    places += [
        (root.root / "quarantine" / spec.name, ""),
        (root.catalog_batches_dir(), f"{spec.name}-"),
        (root.catalog_lineage_dir(), f"{spec.name}--"),
    ]
    for folder, prefix in places:
        for stale in remove_stale_temporaries(folder, prefix):
            context.log.warning(f"removed {stale.name}, left by an interrupted write")


def materialize_table(
    context: AssetExecutionContext, root: DataRoot, gold: GoldQueryResource, spec: TableSpec, backfill: str | None
) -> Iterator[Output | AssetCheckResult]:
    """Build each selected layer of one table from the one before it, in order, then check gold.

    Each output is written by the IO manager when it is yielded, so the next layer reads the file just
    written. One run at a time writes a table: an exclusive lock on `<data root>/.locks/<table>.lock` is
    held throughout (the `table_<name>` pool queues steps in Dagster too).
    """
    keys = table_keys(spec)
    lookup = gold.distinct_values
    run = TableRun(root, spec, context.run.run_id, lookup, backfill)
    with exclusive_lock(root.lock_path(spec.name)):
        clean_stale_temporaries(context, root, spec)
        for layer in (layer for layer in LAYERS if keys[layer] in context.selected_asset_keys):
            build = build_layer(run, layer)
            if build is None:
                context.log.warning(f"{spec.name}: no file in source/ matches {spec.pattern!r}; nothing to do")
                return
            report(context, spec, build.output.facts)
            yield Output(build.output, output_name=output_name(keys[layer]), metadata=build.display)
            run.built.add(layer)
        if keys[Layer.GOLD] in context.selected_asset_keys:
            selected = {key.name for key in context.selected_asset_check_keys if key.asset_key == keys[Layer.GOLD]}
            facts, started = table_gold_facts(root, spec, lookup), utc_now()
            results = yield from run_checks(table_rule_groups(spec), keys[Layer.GOLD], facts, selected)
            announce_checks(root, spec.name, facts, run.run_id, started, results)


def report(context: AssetExecutionContext, spec: TableSpec, facts: TransitionFacts) -> None:
    """Log what a user should notice about a layer before it is written."""
    if facts.source_layer == SOURCE and not spec.declared:
        context.log.info(f"{facts.source_files[0]} has no registry entry: table {spec.name!r} uses defaults")
    if facts.quarantined_rows:
        context.log.warning(f"{spec.name}: {facts.quarantined_rows} rows quarantined in {facts.quarantine_file}")


def layer_outs(spec: TableSpec) -> dict[str, AssetOut]:
    keys = table_keys(spec)
    return {
        output_name(keys[layer]): AssetOut(
            key=keys[layer],
            is_required=False,
            group_name=spec.domain,
            description=f"{spec.description or spec.name} ({layer.value}). {LAYER_DESCRIPTIONS[layer]}",
            kinds={"polars", "parquet"},
            tags={"layer": layer.value},
        )
        for layer in LAYERS
    }


def layer_deps(spec: TableSpec) -> dict[str, set[AssetKey]]:
    """Each layer on the one before it; silver on the gold tables its rows must reference; gold on the
    gold tables its checks read."""
    keys = table_keys(spec)
    referenced = {layer_key(Layer.GOLD, table) for table in spec.referenced_tables() - {spec.gold_table}}
    references = {layer_key(Layer.GOLD, ref.table) for ref in spec.references}
    extra = {Layer.SILVER: references, Layer.GOLD: referenced}
    return {
        output_name(keys[layer]): ({keys[layer.previous]} if layer.previous else set()) | extra.get(layer, set())
        for layer in LAYERS
    }


def medallion_assets(spec: TableSpec) -> AssetsDefinition:
    """The four layer assets of one table, as one subsettable multi-asset with gold's checks."""
    keys = table_keys(spec)
    referenced = {layer_key(Layer.GOLD, table) for table in spec.referenced_tables() - {spec.gold_table}}

    @multi_asset(
        name=f"{spec.name}_medallion",
        outs=layer_outs(spec),
        deps=sorted(referenced, key=AssetKey.to_user_string),
        internal_asset_deps=layer_deps(spec),
        check_specs=check_specs(table_rule_groups(spec), keys[Layer.GOLD]),
        can_subset=True,
        pool=f"table_{spec.name}",
    )
    def _medallion(
        context: AssetExecutionContext, data_root: DataRoot, gold: GoldQueryResource, config: TableRunConfig
    ) -> Iterator[Output | AssetCheckResult]:
        try:
            yield from materialize_table(context, data_root, gold, spec, config.batch_id)
        finally:  # the table's lineage events are on disk when its step ends
            lineage_export.flush(files_only=True)

    return _medallion
