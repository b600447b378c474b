"""Benchmark reference: JobForge's own transforms called in a plain loop, with no orchestration.

For each table with a source file (the registry's tables, and defaults for unregistered files): hash the file
(its batch id), validate and scan it with every value a string (staged), then bronze, silver (with its
quarantine file when rows are rejected, and an undeclared table's column types inferred) and gold, each with
the same transform functions the assets call and written as zstd parquet with provenance through an fsync'd
temporary file and a rename. No Dagster, no IO
manager, no catalog or lineage JSON, no batch history, no asset checks, no locks, and the reporting-only
passes (null-token and repaired-cell counts) are skipped. What `dagster job execute` takes beyond this script
is the cost of orchestration and governance.

    python bench/same_work.py SOURCE_DIR OUT_DIR
"""

import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from jobforge_dagster.build.steps import silver_types
from jobforge_dagster.layers import Layer
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.tables import collect_tables, find_source_file
from jobforge_dagster.storage.files import sha256_file
from jobforge_dagster.storage.parquet import sink_parquet_atomic, stamp_layer
from jobforge_dagster.transforms import bronze, silver, staged
from jobforge_dagster.transforms.gold import gold_transform


def write(frame: pl.LazyFrame, path: Path, layer: Layer) -> int:
    """The pipeline's layer write (`_layer` stamped, atomic zstd parquet), without the catalog; returns the rows."""
    return sink_parquet_atomic(stamp_layer(frame, layer), path, {}).num_rows


def table(spec: TableSpec, source: Path, out: Path) -> None:
    display = f"source/{source.name}"
    batch_id = f"{spec.name}-{sha256_file(source)[:12]}"
    read = staged.read_source(source, spec, display)
    staged_path = out / Layer.STAGED.value / f"{spec.name}.parquet"
    rows = write(staged.add_provenance(read.frame, display, batch_id, datetime.now(UTC)), staged_path, Layer.STAGED)
    if read.records is not None and rows != read.records:
        raise RuntimeError(f"{display}: read {rows} records, the file holds {read.records}")

    frame = pl.scan_parquet(staged_path)
    plan = bronze.plan_for(spec, frame.collect_schema().names())
    bronze.check_casts(frame, plan, display)
    bronze_path = out / Layer.BRONZE.value / f"{spec.name}.parquet"
    write(bronze.standardise(frame, plan), bronze_path, Layer.BRONZE)

    frame = pl.scan_parquet(bronze_path)
    repaired = silver.restore_decimal_codes(
        silver.pad_codes(silver.clean(frame), spec.pad_codes), spec.decimal_code_formats()
    )
    references = {
        ref.column: (
            f"{ref.table}.{ref.table_column}",
            pl.scan_parquet(out / Layer.GOLD.value / f"{ref.table}.parquet").select(ref.table_column),
        )
        for ref in spec.references
    }
    result = silver.split(repaired, spec.key_columns, spec.rules, references)
    if result.quarantined is not None:
        quarantine = out / "quarantine" / spec.name / f"{batch_id}.parquet"
        sink_parquet_atomic(result.quarantined, quarantine, {"jobforge.batch_id": batch_id}, keep_empty=False)
    silver_path = out / Layer.SILVER.value / f"{spec.name}.parquet"
    write(silver_types(spec, result.passed).frame, silver_path, Layer.SILVER)  # an undeclared table's types inferred

    gold = gold_transform(spec.gold_transform)(pl.scan_parquet(silver_path))
    write(gold, out / Layer.GOLD.value / f"{spec.gold_table}.parquet", Layer.GOLD)


def run(source_dir: Path, out: Path, registry: SourceRegistry | None = None) -> None:
    """Every table with a source file; a table whose silver references gold tables waits for them."""
    pending = [
        (spec, source)
        for spec in collect_tables(registry or SourceRegistry.load(), source_dir).tables
        if (source := find_source_file(spec, source_dir)) is not None
    ]
    built: set[str] = set()
    while pending:
        ready = [(s, f) for s, f in pending if {ref.table for ref in s.references} <= built]
        if not ready:
            raise RuntimeError(f"references cannot be resolved: {[s.name for s, _ in pending]}")
        for spec, source in ready:
            table(spec, source, out)
            built.add(spec.gold_table)
        pending = [(s, f) for s, f in pending if s.gold_table not in built]


if __name__ == "__main__":
    run(Path(sys.argv[1]), Path(sys.argv[2]))
