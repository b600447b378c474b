"""Asset factory: one multi-asset per registry table, materializing staged, bronze, silver and gold.

One step per table keeps the orchestration cost per table small, while the UI still shows four assets
(`staged/<table>` ... `gold/<table>`) with their own metadata and the gold asset's checks, and any
subset of them can be selected.
"""

from collections.abc import Iterator
from pathlib import Path

import polars as pl
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

from jobforge_dagster.assets.builds import (
    batch_of,
    build_from_previous,
    build_staged,
    build_staged_from_history,
    open_batch,
)
from jobforge_dagster.assets.table_checks import check_specs, run_checks
from jobforge_dagster.catalog import BatchRecord, CatalogManager, TransitionFacts, parquet_row_count
from jobforge_dagster.config import JobForgeConfig
from jobforge_dagster.layers import LAYERS, SOURCE, Layer
from jobforge_dagster.registry import TableSpec
from jobforge_dagster.storage import exclusive_lock, remove_stale_temporaries

LAYER_DESCRIPTIONS = {
    Layer.STAGED: "Source as it is: every value the string in the file, plus row provenance.",
    Layer.BRONZE: "Unique snake_case column names, null tokens, declared renames and casts.",
    Layer.SILVER: "Trimmed, blanks as null, validated and de-duplicated on the key; rejects in quarantine.",
    Layer.GOLD: "Business-ready table.",
}


def asset_keys(spec: TableSpec) -> dict[Layer, AssetKey]:
    return {layer: AssetKey([layer.value, spec.layer_table(layer)]) for layer in LAYERS}


def output_name(key: AssetKey) -> str:
    return key.to_python_identifier()


class MedallionConfig(Config):
    """Run configuration of a table's step."""

    batch_id: str | None = Field(
        default=None,
        description="Backfill: rebuild the selected layers from this kept batch instead of the current source file.",
    )


def materialize_table(
    context: AssetExecutionContext, config: JobForgeConfig, spec: TableSpec, batch_id: str | None = None
) -> Iterator[Output[pl.LazyFrame] | AssetCheckResult]:
    """Build each selected layer of one table from the one before it, in order, then check gold.

    Each output is written by the IO manager when it is yielded, so the next layer reads the file
    just written. A failure before the write is logged as a failed transition here; one during the
    write, by the IO manager. One run at a time writes a table: an exclusive lock on
    `<data root>/.locks/<table>.lock` is held throughout (the `table_<name>` pool queues steps in Dagster too).
    """
    with exclusive_lock(config.lock_path(spec.name)):
        clean_stale_temporaries(context, config, spec)
        yield from _materialize_layers(context, config, spec, batch_id)


def clean_stale_temporaries(context: AssetExecutionContext, config: JobForgeConfig, spec: TableSpec) -> None:
    """Remove what a killed run left half-written for this table (hidden temporaries, never read)."""
    places = [(config.layer_dir(layer), f"{spec.layer_table(layer)}.parquet") for layer in LAYERS]
    places += [(config.catalog_tables_dir() / layer.value, f"{spec.layer_table(layer)}.json") for layer in LAYERS]
    places += [(config.layer_dir(layer) / spec.name, "batch=") for layer in LAYERS]
    places += [
        (config.root / "quarantine" / spec.name, ""),
        (config.catalog_batches_dir(), f"{spec.name}-"),
        (config.catalog_lineage_dir(), f"{spec.name}--"),
    ]
    for folder, prefix in places:
        for stale in remove_stale_temporaries(folder, prefix):
            context.log.warning(f"removed {stale.name}, left by an interrupted write")


def kept_batch(config: JobForgeConfig, layer: Layer, spec: TableSpec, batch_id: str) -> Path:
    path = config.batch_path(layer, spec.name, batch_id)
    if not path.exists():
        kept = sorted(p.stem.removeprefix("batch=") for p in path.parent.glob("batch=*.parquet"))
        raise FileNotFoundError(f"no kept {layer.value} batch {batch_id!r} for {spec.name}; kept: {kept}")
    return path


def _materialize_layers(
    context: AssetExecutionContext, config: JobForgeConfig, spec: TableSpec, batch_id: str | None
) -> Iterator[Output[pl.LazyFrame] | AssetCheckResult]:
    keys = asset_keys(spec)
    catalog = CatalogManager(config)
    batch: BatchRecord | None = None
    built: set[Layer] = set()
    for layer in (layer for layer in LAYERS if keys[layer] in context.selected_asset_keys):
        facts = None
        try:
            if layer is Layer.STAGED and batch_id is not None:
                history = kept_batch(config, layer, spec, batch_id)
                batch = batch_of(history, spec, catalog)
                facts = TransitionFacts.start(
                    spec.name, batch, Layer.STAGED.value, [config.relative(history)], parquet_row_count(history)
                )
                build = build_staged_from_history(history, batch_id)
            elif layer is Layer.STAGED:
                opened = open_batch(spec, config, catalog)
                if opened is None:
                    context.log.warning(f"{spec.name}: no file in source/ matches {spec.pattern!r}; nothing to do")
                    return
                batch = opened.batch
                if not spec.declared:
                    context.log.info(f"{batch.source_file} has no registry entry: table {spec.name!r} uses defaults")
                facts = TransitionFacts.start(spec.name, batch, SOURCE, [batch.source_file], rows_in=None)
                build, records = build_staged(opened)
                facts = facts.model_copy(update={"rows_in": records, "source_fingerprint": opened.fingerprint})
            else:
                if batch_id is not None and layer.previous not in built:
                    previous = kept_batch(config, layer.previous, spec, batch_id)
                else:
                    previous = config.table_path(layer.previous, spec.layer_table(layer.previous))
                if not previous.exists():
                    raise FileNotFoundError(
                        f"{config.relative(previous)} does not exist: "
                        f"materialize {keys[layer.previous].to_user_string()} first"
                    )
                batch = batch or batch_of(previous, spec, catalog)
                facts = TransitionFacts.start(
                    spec.name, batch, layer.previous.value, [config.relative(previous)], parquet_row_count(previous)
                )
                build = build_from_previous(layer, spec, config, batch, keys[Layer.STAGED], catalog, previous)
        except Exception as error:
            if facts is not None:
                catalog.save_lineage_log(facts.failed(layer.value, context.run.run_id, error))
            raise
        facts = facts.model_copy(
            update={
                "transforms": build.transforms,
                "quarantined_rows": build.quarantined_rows,
                "quarantine_file": build.quarantine_file,
            }
        )
        if build.quarantined_rows:
            context.log.warning(f"{spec.name}: {build.quarantined_rows} rows quarantined in {build.quarantine_file}")
        yield Output(build.frame, output_name=output_name(keys[layer]), metadata=facts.to_metadata() | build.metadata)
        built.add(layer)
    selected_checks = {key.name for key in context.selected_asset_check_keys if key.asset_key == keys[Layer.GOLD]}
    if keys[Layer.GOLD] in context.selected_asset_keys:
        yield from run_checks(spec, config, keys[Layer.GOLD], selected_checks)


def medallion_assets(spec: TableSpec) -> AssetsDefinition:
    """The four layer assets of one table, as one subsettable multi-asset with gold's checks."""
    keys = asset_keys(spec)
    common = {
        "domain": spec.domain,
        "description": spec.description,
        "business_purpose": spec.business_purpose,
        "retention_batches": spec.retention_batches,
    }
    referenced = {AssetKey([Layer.GOLD.value, table]) for table in spec.referenced_tables() - {spec.gold_table}}
    quarantine_refs = {AssetKey([Layer.GOLD.value, ref.table]) for ref in spec.references}
    outs = {
        output_name(keys[layer]): AssetOut(
            key=keys[layer],
            dagster_type=pl.LazyFrame,
            is_required=False,
            group_name=spec.domain,
            description=f"{spec.description or spec.name} ({layer.value}). {LAYER_DESCRIPTIONS[layer]}",
            metadata=common
            | {
                "upstream_tables": [keys[layer.previous].to_user_string()]
                if layer.previous
                else [f"{SOURCE}/{spec.pattern}"],
            },
            kinds={"polars", "parquet"},
            tags={"layer": layer.value},
        )
        for layer in LAYERS
    }
    deps = {
        output_name(keys[layer]): ({keys[layer.previous]} if layer.previous else set())
        | (quarantine_refs if layer is Layer.SILVER else set())
        | (referenced if layer is Layer.GOLD else set())
        for layer in LAYERS
    }

    @multi_asset(
        name=f"{spec.name}_medallion",
        outs=outs,
        deps=sorted(referenced, key=AssetKey.to_user_string),
        internal_asset_deps=deps,
        check_specs=check_specs(spec, keys[Layer.GOLD]),
        can_subset=True,
        pool=f"table_{spec.name}",
    )
    def _medallion(
        context: AssetExecutionContext, jobforge: JobForgeConfig, config: MedallionConfig
    ) -> Iterator[Output[pl.LazyFrame] | AssetCheckResult]:
        yield from materialize_table(context, jobforge, spec, config.batch_id)

    return _medallion
