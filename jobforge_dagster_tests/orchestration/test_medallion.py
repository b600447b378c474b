"""A table's step: a current table is reported as published (its layers materialized with the published batch,
its checks passing for that batch) and nothing is rewritten; the rebuild job rebuilds it."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

from jobforge_dagster.batches.stamps import read_stamp
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import LAYERS, Layer
from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.storage.data_root import DataRoot

TABLES = ("noc_unit_groups", "oasis_skills_sample")

#: A no-change run of the main job in a fresh interpreter; prints whether it loaded the OpenLineage client.
NO_CHANGE_RUN = """
import sys
from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.storage.data_root import DataRoot
job = build_definitions(DataRoot(data_root=sys.argv[1])).resolve_job_def("medallion_pipeline")
assert job.execute_in_process().success
print(sorted(name for name in sys.modules if name.startswith("openlineage")))
"""


def latest_materialization(instance: dg.DagsterInstance, key: dg.AssetKey) -> dg.AssetMaterialization:
    record = instance.get_latest_materialization_event(key)
    assert record is not None and record.asset_materialization is not None, key
    return record.asset_materialization


def test_after_a_no_change_run_every_layer_and_check_shows_the_published_batch(config: DataRoot) -> None:
    instance = dg.DagsterInstance.ephemeral()
    job = build_definitions(config).resolve_job_def("medallion_pipeline")
    assert job.execute_in_process(instance=instance).success
    files = {path: path.stat().st_mtime_ns for path in Path(config.data_root).rglob("*.parquet")}
    again = job.execute_in_process(instance=instance)
    assert again.success
    assert {path: path.stat().st_mtime_ns for path in Path(config.data_root).rglob("*.parquet")} == files
    assert not [event for event in again.all_events if "did not yield or return expected outputs" in str(event)]
    for table in TABLES:
        batch, _ = read_stamp(config.table_path(Layer.GOLD, table))
        for layer in LAYERS:
            metadata = latest_materialization(instance, dg.AssetKey([layer.value, table])).metadata
            assert metadata["batch_id"] == dg.MetadataValue.text(batch), (layer, table)
            assert metadata["jobforge/status"] == dg.MetadataValue.text("current")
        gold = dg.AssetKey(["gold", table])
        keys = [key for key in job.asset_layer.asset_graph.get_check_keys_for_assets({gold})]
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
        assert set(latest) == set(keys) and keys
        stored = {result.name: result for result in CatalogManager(config).get_check_results(table, batch).checks}
        for key, execution in latest.items():
            assert execution.run_id == again.run_id and execution.status.value == "SUCCEEDED", key
            evaluation = execution.event.dagster_event.event_specific_data  # type: ignore[union-attr]
            assert evaluation.passed and evaluation.passed == stored[key.name].passed
            assert f"re-reported for batch {batch}" in evaluation.description


def test_the_rebuild_job_rebuilds_current_layers(config: DataRoot) -> None:
    instance = dg.DagsterInstance.ephemeral()
    defs = build_definitions(config)
    assert defs.resolve_job_def("medallion_pipeline").execute_in_process(instance=instance).success
    gold = config.table_path(Layer.GOLD, TABLES[0])
    before = gold.stat().st_ino
    rebuilt = defs.resolve_job_def("rebuild").execute_in_process(instance=instance)
    assert rebuilt.success and rebuilt.dagster_run.tags["jobforge/force"] == "true"
    assert gold.stat().st_ino != before  # a new file renamed into place
    metadata = latest_materialization(instance, dg.AssetKey(["gold", TABLES[0]])).metadata
    assert "jobforge/status" not in metadata and "rows_out" in metadata


def test_a_no_change_run_announces_nothing_and_never_loads_the_openlineage_client(config: DataRoot) -> None:
    job = build_definitions(config).resolve_job_def("medallion_pipeline")
    assert job.execute_in_process().success
    events = sorted(path.name for path in config.openlineage_dir().iterdir())
    assert events  # the first run announced its transitions
    again = subprocess.run(
        [sys.executable, "-c", NO_CHANGE_RUN, config.data_root], capture_output=True, text=True, check=True
    )
    assert again.stdout.strip().splitlines()[-1] == "[]"
    assert sorted(path.name for path in config.openlineage_dir().iterdir()) == events
