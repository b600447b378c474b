"""Catalog models, metadata from parquet footers, and the JSON catalog on disk."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

import jobforge_dagster.catalog as jobforge_catalog
from jobforge_dagster.catalog.describe import describe_parquet
from jobforge_dagster.catalog.models import (
    BatchRecord,
    CatalogEntry,
    LayerTransitionLog,
    TransitionFacts,
    TransitionStatus,
)
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.catalog.transitions import update_catalog_on_transition
from jobforge_dagster.lineage.exporter import LineageExporter
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.openlineage_events import read_events


def test_generate_table_metadata_reads_footer(tmp_path: Path) -> None:
    path = tmp_path / "noc.parquet"
    pl.DataFrame({"code": ["00010", None, "00012"], "teer": [0, 0, 1]}).write_parquet(path)
    entry = CatalogEntry(
        domain="noc", description="NOC codes", business_purpose="joins", upstream_tables=["silver/noc"]
    )
    meta = describe_parquet(path, "gold", entry, file_path="gold/noc.parquet")
    assert (meta.table_name, meta.layer, meta.domain) == ("noc", "gold", "noc")
    assert meta.row_count == 3 and meta.column_count == 2
    assert meta.file_size_bytes == path.stat().st_size
    assert [(c.name, c.data_type, c.nullable, c.null_count) for c in meta.columns] == [
        ("code", "String", True, 1),
        ("teer", "Int64", False, 0),
    ]
    assert meta.upstream_tables == ["silver/noc"]


def test_catalog_round_trip(tmp_path: Path) -> None:
    config = DataRoot(data_root=str(tmp_path))
    catalog = CatalogManager(config)
    path = tmp_path / "gold" / "noc.parquet"
    path.parent.mkdir()
    pl.DataFrame({"code": ["00010"]}).write_parquet(path)
    meta = describe_parquet(path, "gold", CatalogEntry(domain="noc"), file_path="gold/noc.parquet")
    saved = catalog.save_table_metadata(meta)
    assert saved == tmp_path / "catalog" / "tables" / "gold" / "noc.json"
    assert catalog.load_table_metadata("noc", "gold") == meta
    assert catalog.load_table_metadata("noc", "silver") is None
    assert [t.table_name for t in catalog.list_tables("gold")] == ["noc"]
    assert catalog.list_tables("silver") == []


def facts_for(batch: BatchRecord, source: str, target: str, rows_in: int | None) -> TransitionFacts:
    return TransitionFacts(
        table=batch.table,
        target_layer=target,
        batch_id=batch.batch_id,
        source_sha256=batch.sha256,
        source_layer=source,
        source_files=[f"{source}/{batch.table}"],
        rows_in=rows_in,
    )


def test_lineage_logs_filtered_by_batch_and_sorted(tmp_path: Path) -> None:
    catalog = CatalogManager(DataRoot(data_root=str(tmp_path)))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch = BatchRecord(batch_id="noc-abc", table="noc", source_file="source/noc.csv", sha256="ab" * 32, size_bytes=9)
    for offset, (source, target) in enumerate([("staged", "bronze"), ("source", "staged")]):
        facts = facts_for(batch, source, target, rows_in=3)
        facts = facts.model_copy(update={"started_at": start + timedelta(minutes=1 - offset)})
        catalog.save_lineage_log(facts.log("run-1", target_file=f"{target}/noc.parquet", row_count_out=3))
    other = facts_for(batch.model_copy(update={"batch_id": "noc-def"}), "source", "staged", rows_in=None)
    catalog.record_failure(other, "run-2", ValueError("bad row"))
    logs = catalog.get_lineage_logs(batch_id="noc-abc")
    assert [(log.source_layer, log.target_layer) for log in logs] == [("source", "staged"), ("staged", "bronze")]
    assert all(log.status is TransitionStatus.SUCCESS for log in logs)
    failed = catalog.get_lineage_logs(batch_id="noc-def")
    assert failed[0].status is TransitionStatus.FAILED and failed[0].errors == ["ValueError: bad row"]
    assert len(catalog.get_lineage_logs()) == 3
    stored = LayerTransitionLog.model_validate_json(
        next((tmp_path / "catalog" / "lineage").glob(f"*--{logs[0].transition_id}.json")).read_text()
    )
    assert stored == logs[0]


def test_quarantine_makes_a_transition_partial() -> None:
    batch = BatchRecord(batch_id="b", table="t", source_file="source/t.csv", sha256="0" * 64, size_bytes=1)
    facts = facts_for(batch, "bronze", "silver", 10)
    assert facts.log(None, target_file="silver/t.parquet", row_count_out=10).status is TransitionStatus.SUCCESS
    partial = facts.completed(["rule: x not null"], quarantined_rows=2, quarantine_file="quarantine/t/b.parquet")
    assert partial.log(None, target_file="silver/t.parquet", row_count_out=8).status is TransitionStatus.PARTIAL


def test_batches_are_recorded_once(tmp_path: Path) -> None:
    catalog = CatalogManager(DataRoot(data_root=str(tmp_path)))
    batch = BatchRecord(batch_id="t-1", table="t", source_file="source/t.csv", sha256="1" * 64, size_bytes=5)
    catalog.save_batch(batch)
    catalog.save_batch(batch.model_copy(update={"first_seen_at": datetime(2030, 1, 1, tzinfo=UTC)}))
    assert catalog.get_batch("t-1") == batch
    assert catalog.get_batch("missing") is None


def test_update_catalog_on_transition_saves_metadata_and_log(tmp_path: Path) -> None:
    """The seed's catalog API: one call records a transition whose file is in place, and announces it to the
    catalog's lineage sink."""
    root = DataRoot(data_root=str(tmp_path))
    exporter = LineageExporter(root.root, root.openlineage_dir())
    catalog = CatalogManager(root, exporter)
    path = tmp_path / "silver" / "noc.parquet"
    path.parent.mkdir()
    pl.DataFrame({"code": ["00010", "00011"]}).write_parquet(path)
    batch = BatchRecord(batch_id="noc-abc", table="noc", source_file="source/noc.csv", sha256="ab" * 32, size_bytes=9)
    log = facts_for(batch, "bronze", "silver", rows_in=2).log("run-1", target_file=None, row_count_out=None)
    metadata = update_catalog_on_transition(catalog, log, path, "noc")
    assert (metadata.table_name, metadata.layer, metadata.domain, metadata.row_count) == ("noc", "silver", "noc", 2)
    assert (metadata.file_path, metadata.batch_id, metadata.source_sha256) == (
        "silver/noc.parquet",
        "noc-abc",
        "ab" * 32,
    )
    assert catalog.load_table_metadata("noc", "silver") == metadata
    [stored] = catalog.get_lineage_logs(batch_id="noc-abc")
    assert (stored.transition_id, stored.target_file, stored.row_count_out) == (
        log.transition_id,
        "silver/noc.parquet",
        2,
    )
    exporter.close()
    [event] = read_events(root)
    assert (event["eventType"], event["outputs"][0]["name"]) == ("COMPLETE", "silver/noc.parquet")


def test_the_seed_api_generate_table_metadata_and_catalog_manager_of_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed's calls: `from jobforge_dagster.catalog import generate_table_metadata`, `CatalogManager(Path)`,
    `CatalogManager()` (the environment's data root)."""
    path = tmp_path / "gold" / "noc.parquet"
    path.parent.mkdir()
    pl.DataFrame({"code": ["00010"]}).write_parquet(path)
    meta = jobforge_catalog.generate_table_metadata(path, "gold", "noc")
    assert (meta.table_name, meta.domain, meta.file_path, meta.row_count) == ("noc", "noc", "gold/noc.parquet", 1)
    by_path = jobforge_catalog.CatalogManager(tmp_path)
    assert by_path.root == DataRoot(data_root=str(tmp_path))
    by_path.save_table_metadata(meta)
    assert jobforge_catalog.CatalogManager(str(tmp_path)).load_table_metadata("noc", "gold") == meta
    monkeypatch.setenv("JOBFORGE_DATA_ROOT", str(tmp_path))
    monkeypatch.delenv("JOBFORGE_SOURCE_ROOT", raising=False)
    assert jobforge_catalog.CatalogManager().load_table_metadata("noc", "gold") == meta
    assert jobforge_catalog.CatalogManager(config=None).root.data_root == str(tmp_path)
