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
from jobforge_dagster.layers import LAYERS, SOURCE, Layer
from jobforge_dagster.registry import TableSpec, find_source_file
from jobforge_dagster.storage import sha256_file
from jobforge_dagster.transforms import bronze, silver, staged
from jobforge_dagster.transforms.gold import gold_transform
from jobforge_dagster.io_manager import sink_parquet_atomic

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


def build_staged(spec: TableSpec, source: Path, batch: BatchRecord) -> LayerBuild:
    frame = staged.read_source(source, spec, batch.source_file)
    frame = staged.add_provenance(frame, batch.source_file, batch.batch_id, utc_now())
    transforms = ["read every column as text, no type inference", "byte order mark stripped", "provenance added"]
    return LayerBuild(frame, transforms, {})


def build_bronze(spec: TableSpec, upstream: pl.LazyFrame, source_file: str, keys: dict[Layer, AssetKey]) -> LayerBuild:
    mapping = bronze.column_mapping(upstream.collect_schema().names(), spec.renames)
    types = spec.polars_types()
    bronze.check_casts(upstream, mapping, types, source_file)
    transforms = ["headers to unique snake_case identifiers"]
    transforms += [f"rename {old} -> {new}" for old, new in spec.renames.items()]
    transforms += [f"cast {column} to {name}" for column, name in spec.types.items()]
    lineage = TableColumnLineage(
        deps_by_column={
            new: [TableColumnDep(asset_key=keys[Layer.STAGED], column_name=old)] for old, new in mapping.items()
        }
    )
    renamed = {old: new for old, new in mapping.items() if old != new}
    metadata = {
        "dagster/column_lineage": MetadataValue.column_lineage(lineage),
        "renamed_columns": MetadataValue.json(renamed),
    }
    return LayerBuild(bronze.standardise(upstream, mapping, types), transforms, metadata)


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


def materialize_table(
    context: AssetExecutionContext, config: JobForgeConfig, spec: TableSpec
) -> Iterator[Output[pl.LazyFrame]]:
    """Build each selected layer of one table from the one before it, in order."""
    keys = asset_keys(spec.name)
    catalog = CatalogManager(config)
    selected = [layer for layer in LAYERS if keys[layer] in context.selected_asset_keys]
    batch: BatchRecord | None = None
    for layer in selected:
        started = utc_now()
        facts: TransitionFacts | None = None
        try:
            if layer is Layer.STAGED:
                source = find_source_file(spec, config.source_dir())
                if source is None:
                    context.log.warning(
                        f"{spec.name}: no file in {config.source_dir()} matches {spec.pattern!r}; nothing to do"
                    )
                    return
                sha = sha256_file(source)
                batch = BatchRecord(
                    batch_id=batch_id_for(spec.name, sha),
                    table=spec.name,
                    source_file=config.relative(source),
                    sha256=sha,
                    size_bytes=source.stat().st_size,
                )
                catalog.save_batch(batch)
                if not spec.declared:
                    context.log.info(f"{batch.source_file} has no registry entry: table {spec.name!r} uses defaults")
                build = build_staged(spec, source, batch)
                rows_in, source_files = None, [batch.source_file]
            else:
                previous = config.table_path(layer.previous, spec.name)
                if not previous.exists():
                    raise FileNotFoundError(
                        f"{config.relative(previous)} does not exist: materialize {layer.previous.value}/{spec.name} first"
                    )
                if batch is None:
                    batch_id, sha = read_batch(previous)
                    batch = catalog.get_batch(batch_id) or BatchRecord(
                        batch_id=batch_id, table=spec.name, source_file="", sha256=sha, size_bytes=0
                    )
                upstream = pl.scan_parquet(previous)
                rows_in, source_files = parquet_row_count(previous), [config.relative(previous)]
                if layer is Layer.BRONZE:
                    build = build_bronze(spec, upstream, batch.source_file, keys)
                elif layer is Layer.SILVER:
                    build = build_silver(spec, upstream, config, batch.batch_id)
                else:
                    build = build_gold(spec, upstream)
            facts = TransitionFacts(
                table=spec.name,
                batch_id=batch.batch_id,
                source_sha256=batch.sha256,
                source_layer=layer.previous.value if layer.previous else SOURCE,
                source_files=source_files,
                rows_in=rows_in,
                transforms=build.transforms,
                quarantined_rows=build.quarantined_rows,
                quarantine_file=build.quarantine_file,
                started_at=started,
            )
        except Exception as error:
            if batch is not None:
                failed = facts or TransitionFacts(
                    table=spec.name,
                    batch_id=batch.batch_id,
                    source_sha256=batch.sha256,
                    source_layer=layer.previous.value if layer.previous else SOURCE,
                    source_files=[batch.source_file],
                    started_at=started,
                )
                catalog.save_lineage_log(
                    failed.log(layer.value, context.run_id, target_file=None, row_count_out=None,
                               status="failed", errors=[str(error)])
                )
            raise
        if build.quarantined_rows:
            context.log.warning(f"{spec.name}: {build.quarantined_rows} rows quarantined in {build.quarantine_file}")
        yield Output(build.frame, output_name=keys[layer].to_python_identifier(), metadata=facts.to_metadata() | build.metadata)


def medallion_assets(spec: TableSpec) -> AssetsDefinition:
    """The four layer assets of one table, as one subsettable multi-asset."""
    keys = asset_keys(spec.name)
    common = {"domain": spec.domain, "description": spec.description, "business_purpose": spec.business_purpose}
    outs = {
        keys[layer].to_python_identifier(): AssetOut(
            key=keys[layer],
            dagster_type=pl.LazyFrame,
            is_required=False,
            group_name=spec.domain,
            description=f"{spec.description or spec.name} ({layer.value}). {LAYER_DESCRIPTIONS[layer]}",
            metadata=common | {
                "upstream_tables": [keys[layer.previous].to_user_string()] if layer.previous
                else [f"{SOURCE}/{spec.pattern}"],
            },
            kinds={"polars", "parquet"},
            tags={"layer": layer.value},
        )
        for layer in LAYERS
    }
    deps = {
        keys[layer].to_python_identifier(): {keys[layer.previous]} if layer.previous else set() for layer in LAYERS
    }

    @multi_asset(name=f"{spec.name}_medallion", outs=outs, internal_asset_deps=deps, can_subset=True)
    def _medallion(context: AssetExecutionContext, jobforge: JobForgeConfig) -> Iterator[Output[pl.LazyFrame]]:
        yield from materialize_table(context, jobforge, spec)

    return _medallion
