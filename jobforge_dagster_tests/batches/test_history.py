"""Batch history: every version of a source is kept per layer, traceable from gold, and can be re-materialized."""

from pathlib import Path

import dagster as dg
import polars as pl

from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import LAYERS, Layer
from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.conftest import run_job

VERSION_A = "Code,Title\n00010,Legislators\n"
VERSION_B = "Code,Title\n00010,Legislators\n00011,Senior government managers and officials\n"


def two_versions(tmp_path: Path, retention: int | None = None):
    config = DataRoot(data_root=str(tmp_path / "data"))
    registry = SourceRegistry(
        tables=[TableSpec(name="noc", pattern="noc.csv", key_columns=["code"], retention_batches=retention)]
    )
    source = config.source_dir() / "noc.csv"
    source.parent.mkdir(parents=True)
    batches = []
    for content in (VERSION_A, VERSION_B):
        source.write_text(content)
        assert run_job(config, registry).success
        batches.append(pl.read_parquet(config.table_path(Layer.GOLD, "noc"))["_batch_id"][0])
    return config, registry, batches


def test_every_batch_is_kept_beside_the_current_table(tmp_path: Path) -> None:
    config, _, (first, second) = two_versions(tmp_path)
    assert first != second
    for layer in (Layer.STAGED, Layer.BRONZE, Layer.SILVER):
        kept = sorted(path.name for path in (config.layer_dir(layer) / "noc").glob("*.parquet"))
        assert kept == sorted([f"batch={first}.parquet", f"batch={second}.parquet"])
        assert pl.read_parquet(config.batch_path(layer, "noc", first)).height == 1
    assert not (config.layer_dir(Layer.GOLD) / "noc").exists()  # gold holds the current version only
    assert pl.read_parquet(config.table_path(Layer.GOLD, "noc")).height == 2


def test_gold_row_leads_to_its_staged_batch_and_source_sha256(tmp_path: Path) -> None:
    config, _, (first, second) = two_versions(tmp_path)
    catalog = CatalogManager(config)
    assert [batch.batch_id for batch in catalog.list_batches("noc")] == [first, second]
    gold_batch = pl.read_parquet(config.table_path(Layer.GOLD, "noc"))["_batch_id"][0]
    record = catalog.get_batch(gold_batch)
    assert record.source_file == "source/noc.csv" and record.batch_id.endswith(record.sha256[:12])
    staged = pl.read_parquet(config.batch_path(Layer.STAGED, "noc", gold_batch))
    assert staged["Code"].to_list() == ["00010", "00011"]
    assert {log.target_layer for log in catalog.get_lineage_logs(batch_id=first)} == {
        "staged",
        "bronze",
        "silver",
        "gold",
    }


def test_backfill_rebuilds_an_old_batch(tmp_path: Path) -> None:
    config, registry, (first, second) = two_versions(tmp_path)
    job = build_definitions(config, registry).resolve_job_def("medallion_pipeline")
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"ops": {"noc_medallion": {"config": {"batch_id": first}}}},
    )
    assert result.success
    gold = pl.read_parquet(config.table_path(Layer.GOLD, "noc"))
    assert gold["_batch_id"].unique().to_list() == [first] and gold.height == 1
    assert (config.source_dir() / "noc.csv").read_text() == VERSION_B  # the source is untouched
    staged_log = [
        log for log in CatalogManager(config).get_lineage_logs(batch_id=first) if log.target_layer == "staged"
    ][-1]
    assert staged_log.source_layer == "staged" and "backfill" in staged_log.transforms_applied[0]
    missing = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"ops": {"noc_medallion": {"config": {"batch_id": "noc-000000000000"}}}},
        raise_on_error=False,
    )
    assert not missing.success
    assert "no kept staged batch 'noc-000000000000'" in str(
        missing.get_step_failure_events()[0].step_failure_data.error
    )


def test_retention_keeps_the_newest_batches(tmp_path: Path) -> None:
    config, _, (_, second) = two_versions(tmp_path, retention=1)
    for layer in (Layer.STAGED, Layer.BRONZE, Layer.SILVER):
        kept = [path.name for path in (config.layer_dir(layer) / "noc").glob("*.parquet")]
        assert kept == [f"batch={second}.parquet"]


def test_backfill_of_something_that_is_not_a_batch_id_lists_the_kept_batches(tmp_path: Path) -> None:
    """Before: `kept: []`, the batches of another folder."""
    config, registry, (first, second) = two_versions(tmp_path)
    job = build_definitions(config, registry).resolve_job_def("medallion_pipeline")
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"ops": {"noc_medallion": {"config": {"batch_id": "../noc"}}}},
        raise_on_error=False,
    )
    error = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert f"kept: ['{first}', '{second}']" in error or f"kept: ['{second}', '{first}']" in error
    assert "'../noc' is not a batch id of noc" in error


def test_a_run_refuses_other_bytes_than_it_was_requested_for(config: DataRoot) -> None:
    """The sensor passes the sha256 it saw; when the file changed since, the run loads nothing and says why."""
    import hashlib

    source = config.source_dir() / "noc_unit_groups_sample.csv"
    seen = hashlib.sha256(source.read_bytes()).hexdigest()
    job = build_definitions(config).resolve_job_def("medallion_pipeline")
    selection = [dg.AssetKey([layer.value, "noc_unit_groups"]) for layer in LAYERS]

    def run(sha256: str) -> dg.ExecuteInProcessResult:
        run_config = {"ops": {"noc_unit_groups_medallion": {"config": {"sha256": sha256}}}}
        return job.execute_in_process(
            run_config=run_config,
            instance=dg.DagsterInstance.ephemeral(),
            asset_selection=selection,
            raise_on_error=False,
        )

    source.write_bytes(source.read_bytes() + b"99999,Newer row,Nouvelle ligne,5,x\r\n")  # changed after the tick
    refused = run(seen)
    assert not refused.success
    message = refused.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert message.startswith("source/noc_unit_groups_sample.csv now holds other bytes") and seen[:12] in message
    assert not config.table_path(Layer.STAGED, "noc_unit_groups").exists(), "nothing was loaded"
    assert run(hashlib.sha256(source.read_bytes()).hexdigest()).success
