"""Asset factory: one multi-asset per registry table, materializing staged, bronze, silver and gold.

One step per table keeps the orchestration cost per table small, while the UI still shows four assets
(`staged/<table>` ... `gold/<table>`) with their own metadata, and any subset of them can be selected.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    MetadataValue,
    Output,
    TableColumnDep,
    TableColumnLineage,
    multi_asset,
)

from jobforge_dagster.catalog import BatchRecord, CatalogManager, TransitionFacts, parquet_row_count, utc_now
from jobforge_dagster.config import JobForgeConfig
from jobforge_dagster.io_manager import sink_parquet_atomic
from jobforge_dagster.layers import LAYERS, SOURCE, Layer
from jobforge_dagster.registry import TableSpec, find_source_file
from jobforge_dagster.storage import sha256_file
from jobforge_dagster.transforms import bronze, silver, staged
from jobforge_dagster.transforms.gold import gold_transform

LAYER_DESCRIPTIONS = {
    Layer.STAGED: "Source as it is: every value the string in the file, plus row provenance.",
    Layer.BRONZE: "Unique snake_case column names, declared renames and casts.",
    Layer.SILVER: "Trimmed, blanks as null, validated and de-duplicated on the key; rejects in quarantine.",
    Layer.GOLD: "Business-ready table.",
}


@dataclass
class LayerBuild:
    """A layer's lazy frame plus what is known about the transition before it is written."""

    frame: pl.LazyFrame
    transforms: list[str]
    metadata: dict[str, MetadataValue]
    quarantined_rows: int = 0
    quarantine_file: str | None = None


def asset_keys(table: str) -> dict[Layer, AssetKey]:
    return {layer: AssetKey([layer.value, table]) for layer in LAYERS}


def batch_id_for(table: str, sha256: str) -> str:
    """Deterministic: the same bytes of the same table are the same batch."""
    return f"{table}-{sha256[:12]}"


def read_batch(path: Path) -> tuple[str, str]:
    """(batch id, source sha256) from a layer file's parquet key-value metadata."""
    metadata = pq.read_metadata(path).metadata or {}
    try:
        return metadata[b"jobforge.batch_id"].decode(), metadata[b"jobforge.source_sha256"].decode()
    except KeyError:
        raise ValueError(f"{path} carries no JobForge batch metadata; rebuild it from its source") from None


def open_batch(spec: TableSpec, config: JobForgeConfig, catalog: CatalogManager) -> tuple[Path, BatchRecord] | None:
    """The table's source file and its batch record (saved), or None when no file matches."""
    source = find_source_file(spec, config.source_dir())
    if source is None:
        return None
    sha = sha256_file(source)
    batch = BatchRecord(
        batch_id=batch_id_for(spec.name, sha),
        table=spec.name,
        source_file=config.relative(source),
        sha256=sha,
        size_bytes=source.stat().st_size,
    )
    catalog.save_batch(batch)
    return source, batch


def batch_of(path: Path, spec: TableSpec, catalog: CatalogManager) -> BatchRecord:
    """The batch a layer file was built from."""
    batch_id, sha = read_batch(path)
    return catalog.get_batch(batch_id) or BatchRecord(
        batch_id=batch_id, table=spec.name, source_file="", sha256=sha, size_bytes=0
    )


def build_staged(spec: TableSpec, source: Path, batch: BatchRecord) -> LayerBuild:
    frame = staged.read_source(source, spec, batch.source_file)
    frame = staged.add_provenance(frame, batch.source_file, batch.batch_id, utc_now())
    transforms = ["read every column as text, no type inference", "byte order mark stripped", "provenance added"]
    return LayerBuild(frame, transforms, {})


def bronze_plan(spec: TableSpec, staged_columns: list[str]) -> bronze.BronzePlan:
    mapping = bronze.column_mapping(staged_columns, spec.renames)
    return bronze.BronzePlan(
        mapping=mapping,
        types=spec.resolve_types(list(mapping.values())),
        null_values=spec.null_values,
        null_exempt=spec.key_columns,
        thousands_separator=spec.thousands_separator,
    )


def build_bronze(spec: TableSpec, upstream: pl.LazyFrame, source_file: str, keys: dict[Layer, AssetKey]) -> LayerBuild:
    plan = bronze_plan(spec, upstream.collect_schema().names())
    bronze.check_casts(upstream, plan, source_file)
    null_tokens = bronze.count_null_tokens(upstream, plan)
    transforms = ["headers to unique snake_case identifiers"]
    transforms += [f"rename {old} -> {new}" for old, new in spec.renames.items()]
    if spec.null_values:
        transforms.append(f"null tokens {spec.null_values} to null: {sum(null_tokens.values())} cells")
    if spec.thousands_separator:
        transforms.append(f"thousands separator {spec.thousands_separator!r} removed before numeric casts")
    transforms += [f"cast {column} to {dtype}" for column, dtype in plan.types.items()]
    lineage = TableColumnLineage(
        deps_by_column={
            new: [TableColumnDep(asset_key=keys[Layer.STAGED], column_name=old)] for old, new in plan.mapping.items()
        }
    )
    metadata = {
        "dagster/column_lineage": MetadataValue.column_lineage(lineage),
        "renamed_columns": MetadataValue.json({old: new for old, new in plan.mapping.items() if old != new}),
        "null_tokens": MetadataValue.json(null_tokens),
    }
    return LayerBuild(bronze.standardise(upstream, plan), transforms, metadata)


def build_silver(spec: TableSpec, upstream: pl.LazyFrame, config: JobForgeConfig, batch_id: str) -> LayerBuild:
    result = silver.split(silver.clean(upstream), spec.key_columns, spec.rules)
    path = config.quarantine_path(spec.name, batch_id)
    sink_parquet_atomic(result.quarantined, path, {"jobforge.batch_id": batch_id})
    quarantined = parquet_row_count(path)
    if not quarantined:
        path.unlink()
    quarantine_file = config.relative(path) if quarantined else None
    return LayerBuild(result.passed, result.transforms, {}, quarantined, quarantine_file)


def build_gold(spec: TableSpec, upstream: pl.LazyFrame) -> LayerBuild:
    transform = gold_transform(spec.gold_transform)
    return LayerBuild(transform(upstream), [f"gold transform: {spec.gold_transform or 'identity'}"], {})


def build_from_previous(
    layer: Layer, spec: TableSpec, config: JobForgeConfig, batch: BatchRecord, keys: dict[Layer, AssetKey]
) -> LayerBuild:
    upstream = pl.scan_parquet(config.table_path(layer.previous, spec.name))
    if layer is Layer.BRONZE:
        return build_bronze(spec, upstream, batch.source_file, keys)
    if layer is Layer.SILVER:
        return build_silver(spec, upstream, config, batch.batch_id)
    return build_gold(spec, upstream)


def materialize_table(
    context: AssetExecutionContext, config: JobForgeConfig, spec: TableSpec
) -> Iterator[Output[pl.LazyFrame]]:
    """Build each selected layer of one table from the one before it, in order.

    Each output is written by the IO manager when it is yielded, so the next layer reads the file
    just written. A failure before the write is logged as a failed transition here; one during the
    write, by the IO manager.
    """
    keys = asset_keys(spec.name)
    catalog = CatalogManager(config)
    batch: BatchRecord | None = None
    for layer in (layer for layer in LAYERS if keys[layer] in context.selected_asset_keys):
        facts = None
        try:
            if layer is Layer.STAGED:
                opened = open_batch(spec, config, catalog)
                if opened is None:
                    context.log.warning(f"{spec.name}: no file in source/ matches {spec.pattern!r}; nothing to do")
                    return
                source, batch = opened
                if not spec.declared:
                    context.log.info(f"{batch.source_file} has no registry entry: table {spec.name!r} uses defaults")
                facts = TransitionFacts.start(spec.name, batch, SOURCE, [batch.source_file], rows_in=None)
                build = build_staged(spec, source, batch)
            else:
                previous = config.table_path(layer.previous, spec.name)
                if not previous.exists():
                    raise FileNotFoundError(
                        f"{config.relative(previous)} does not exist: "
                        f"materialize {layer.previous.value}/{spec.name} first"
                    )
                batch = batch or batch_of(previous, spec, catalog)
                facts = TransitionFacts.start(
                    spec.name, batch, layer.previous.value, [config.relative(previous)], parquet_row_count(previous)
                )
                build = build_from_previous(layer, spec, config, batch, keys)
        except Exception as error:
            if facts is not None:
                catalog.save_lineage_log(facts.failed(layer.value, context.run_id, error))
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
        yield Output(
            build.frame,
            output_name=keys[layer].to_python_identifier(),
            metadata=facts.to_metadata() | build.metadata,
        )


def medallion_assets(spec: TableSpec) -> AssetsDefinition:
    """The four layer assets of one table, as one subsettable multi-asset."""
    keys = asset_keys(spec.name)
    common = {
        "domain": spec.domain,
        "description": spec.description,
        "business_purpose": spec.business_purpose,
    }
    outs = {
        keys[layer].to_python_identifier(): AssetOut(
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
    deps = {keys[layer].to_python_identifier(): {keys[layer.previous]} if layer.previous else set() for layer in LAYERS}

    @multi_asset(name=f"{spec.name}_medallion", outs=outs, internal_asset_deps=deps, can_subset=True)
    def _medallion(context: AssetExecutionContext, jobforge: JobForgeConfig) -> Iterator[Output[pl.LazyFrame]]:
        yield from materialize_table(context, jobforge, spec)

    return _medallion
