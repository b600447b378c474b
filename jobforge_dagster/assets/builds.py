"""What each layer of a registry table is built from: the transforms wired to the table's spec and files."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from dagster import AssetKey, MetadataValue, TableColumnDep, TableColumnLineage

from jobforge_dagster.catalog import BatchRecord, CatalogManager, utc_now
from jobforge_dagster.config import JobForgeConfig
from jobforge_dagster.errors import SourceChangedError, SourceDataError
from jobforge_dagster.layers import LAYER, PROVENANCE_COLUMNS, Layer
from jobforge_dagster.parquet import sink_parquet_atomic
from jobforge_dagster.registry import TableSpec, find_source_file
from jobforge_dagster.storage import fingerprint, sha256_file
from jobforge_dagster.transforms import bronze, silver, staged
from jobforge_dagster.transforms.gold import gold_transform


@dataclass
class LayerBuild:
    """A layer's lazy frame plus what is known about the transition before it is written."""

    frame: pl.LazyFrame
    transforms: list[str]
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    quarantined_rows: int = 0
    quarantine_file: str | None = None


def batch_id_for(table: str, sha256: str) -> str:
    """Deterministic: the same bytes of the same table are the same batch."""
    return f"{table}-{sha256[:12]}"


@dataclass(frozen=True)
class OpenedSource:
    """A table's source file as found: its batch (saved), its fingerprint, and its validated scan, or what
    reading it raised (raised by `build_staged`, once the batch is known, so the failure is logged against it)."""

    path: Path
    batch: BatchRecord
    fingerprint: str
    read: staged.SourceRead | Exception


def open_batch(spec: TableSpec, config: JobForgeConfig, catalog: CatalogManager) -> OpenedSource | None:
    """Find the table's source file, hash it while it is validated, and save its batch; None if no file matches.

    hashlib and DuckDB release the GIL, so on a large file the sha256 pass and the validation pass overlap.
    """
    source = find_source_file(spec, config.source_dir())
    if source is None:
        return None
    display = config.relative(source)
    before = fingerprint(source)
    read: staged.SourceRead | Exception
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as pool:
        digest = pool.submit(sha256_file, source)
        try:
            read = staged.read_source(source, spec, display)
        except Exception as error:  # raised by build_staged, once the batch exists
            read = error
        sha = digest.result()
    if fingerprint(source) != before:
        raise SourceChangedError(f"{display} changed while it was being read; run again once it is complete")
    batch = BatchRecord(
        batch_id=batch_id_for(spec.name, sha),
        table=spec.name,
        source_file=display,
        sha256=sha,
        size_bytes=source.stat().st_size,
    )
    catalog.save_batch(batch)
    return OpenedSource(source, batch, before, read)


def read_batch(path: Path) -> tuple[str, str]:
    """(batch id, source sha256) from a layer file's parquet key-value metadata."""
    metadata = pq.read_metadata(path).metadata or {}
    try:
        return metadata[b"jobforge.batch_id"].decode(), metadata[b"jobforge.source_sha256"].decode()
    except KeyError:
        raise ValueError(f"{path} carries no JobForge batch metadata; rebuild it from its source") from None


def batch_of(path: Path, spec: TableSpec, catalog: CatalogManager) -> BatchRecord:
    """The batch a layer file was built from."""
    batch_id, sha = read_batch(path)
    return catalog.get_batch(batch_id) or BatchRecord(
        batch_id=batch_id, table=spec.name, source_file="", sha256=sha, size_bytes=0
    )


def gold_table_frame(config: JobForgeConfig, table: str) -> pl.LazyFrame:
    """A gold table another table refers to; a clear error if it has not been built."""
    path = config.table_path(Layer.GOLD, table)
    if not path.exists():
        raise FileNotFoundError(f"{config.relative(path)} does not exist: materialize gold/{table} first")
    return pl.scan_parquet(path)


def build_staged_from_history(history: Path, batch_id: str) -> LayerBuild:
    """A backfill: the kept staged batch becomes the current staged table again."""
    frame = pl.scan_parquet(history).drop(LAYER)
    return LayerBuild(frame, [f"backfill: staged batch {batch_id} restored from {history.parent.name}/{history.name}"])


def build_staged(opened: OpenedSource) -> tuple[LayerBuild, int | None]:
    """The staged frame, and the number of data records the file holds (counted by the CSV validation)."""
    read = opened.read
    if isinstance(read, Exception):
        raise read
    frame = staged.add_provenance(read.frame, opened.batch.source_file, opened.batch.batch_id, utc_now())
    transforms = ["strict CSV validation", "read every column as text, no type inference", "provenance added"]
    return LayerBuild(frame, transforms), read.records


def schema_drift(spec: TableSpec, columns: list[str], catalog: CatalogManager) -> dict[str, list[str]]:
    """Bronze columns added and removed since the last bronze build of this table (empty the first time)."""
    previous = catalog.load_table_metadata(spec.name, Layer.BRONZE.value)
    if previous is None:
        return {}
    before = [column.name for column in previous.columns if column.name not in PROVENANCE_COLUMNS]
    drift = {
        "added": [name for name in columns if name not in before],
        "removed": [name for name in before if name not in columns],
    }
    return drift if drift["added"] or drift["removed"] else {}


def build_bronze(
    spec: TableSpec, upstream: pl.LazyFrame, source_file: str, staged_key: AssetKey, catalog: CatalogManager
) -> LayerBuild:
    try:
        plan = bronze.plan_for(spec, upstream.collect_schema().names())
    except ValueError as error:  # the file lacks a column the registry names
        raise SourceDataError(f"header does not match the registry: {error}", file=source_file) from error
    columns = list(plan.mapping.values())
    missing = [name for name in spec.required_columns if name not in columns]
    if missing:
        raise SourceDataError(f"required columns missing: {missing}; the file has {columns}", file=source_file)
    drift = schema_drift(spec, columns, catalog)
    if drift and spec.schema_drift == "fail":
        raise SourceDataError(
            f"schema drift since the last load (added {drift['added']}, removed {drift['removed']}); "
            "the registry says schema_drift: fail",
            file=source_file,
        )
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
            new: [TableColumnDep(asset_key=staged_key, column_name=old)] for old, new in plan.mapping.items()
        }
    )
    if drift:
        transforms.append(f"schema drift reported: added {drift['added']}, removed {drift['removed']}")
    metadata = {
        "schema_drift": MetadataValue.json(drift),
        "dagster/column_lineage": MetadataValue.column_lineage(lineage),
        "renamed_columns": MetadataValue.json({old: new for old, new in plan.mapping.items() if old != new}),
        "null_tokens": MetadataValue.json(null_tokens),
    }
    return LayerBuild(bronze.standardise(upstream, plan), transforms, metadata)


def build_silver(spec: TableSpec, upstream: pl.LazyFrame, config: JobForgeConfig, batch_id: str) -> LayerBuild:
    references = {
        ref.column: (f"{ref.table}.{ref.table_column}", gold_table_frame(config, ref.table).select(ref.table_column))
        for ref in spec.references
    }
    cleaned = silver.clean(upstream)
    repaired = silver.restore_decimal_codes(silver.pad_codes(cleaned, spec.pad_codes), spec.decimal_code_formats())
    changed = silver.changed_cells(cleaned, repaired, [*spec.pad_codes, *spec.decimal_codes])
    repairs = [
        f"pad {column} with leading zeros to {width} digits: {changed[column]} cells"
        for column, width in spec.pad_codes.items()
    ] + [
        f"restore {column} to {fmt} digits.decimals: {changed[column]} cells"
        for column, fmt in spec.decimal_codes.items()
    ]
    result = silver.split(repaired, spec.key_columns, spec.rules, references, blanks=silver.count_blanks(upstream))
    path = config.quarantine_path(spec.name, batch_id)
    quarantined = 0
    if result.quarantined is not None:
        footer = sink_parquet_atomic(result.quarantined, path, {"jobforge.batch_id": batch_id}, keep_empty=False)
        quarantined = footer.num_rows if footer is not None else 0
    quarantine_file = config.relative(path) if quarantined else None
    transforms = result.transforms[:2] + repairs + result.transforms[2:]
    metadata = {"repaired_codes": MetadataValue.json(changed)} if changed else {}
    return LayerBuild(result.passed, transforms, metadata, quarantined, quarantine_file)


def build_gold(spec: TableSpec, upstream: pl.LazyFrame) -> LayerBuild:
    transform = gold_transform(spec.gold_transform)
    return LayerBuild(transform(upstream), [f"gold transform: {spec.gold_transform or 'identity'}"])


def build_from_previous(
    layer: Layer,
    spec: TableSpec,
    config: JobForgeConfig,
    batch: BatchRecord,
    staged_key: AssetKey,
    catalog: CatalogManager,
    previous: Path,
) -> LayerBuild:
    """Build `layer` from the file `previous` of the layer before it."""
    upstream = pl.scan_parquet(previous)
    if layer is Layer.BRONZE:
        return build_bronze(spec, upstream, batch.source_file, staged_key, catalog)
    if layer is Layer.SILVER:
        return build_silver(spec, upstream, config, batch.batch_id)
    return build_gold(spec, upstream)
