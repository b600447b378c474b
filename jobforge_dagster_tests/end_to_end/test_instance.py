"""The pooled sqlite event log: same files and answers as Dagster's own, fewer connections."""

import shutil
from pathlib import Path

import dagster as dg
import sqlalchemy as db
from dagster._core.event_api import EventLogRecord
from dagster._core.storage.event_log.schema import AssetKeyTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster_shared.serdes import serialize_value

import jobforge_instance
from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.conftest import REPO, SAMPLE_SOURCES
from jobforge_instance import PooledSqliteEventLogStorage


def instance_from_repo_yaml(home: Path, cwd: Path, monkeypatch) -> dg.DagsterInstance:
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.chdir(cwd)  # dagster.yaml's base_dir values are relative to the working directory
    return dg.DagsterInstance.from_config(str(home))


def test_repo_instance_uses_pooled_storage_and_dagster_can_read_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(jobforge_instance, "OPEN_RUN_SHARDS", 2)
    runs = 4
    instance = instance_from_repo_yaml(tmp_path / "home", tmp_path, monkeypatch)
    assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
    data = tmp_path / "data"
    shutil.copytree(SAMPLE_SOURCES, data / "source")
    job = build_definitions(DataRoot(data_root=str(data))).resolve_job_def("medallion_pipeline")
    for _ in range(runs):  # forced: a run over unchanged sources would materialize nothing
        assert job.execute_in_process(instance=instance, tags={"jobforge/force": "true"}).success
    storage = instance.event_log_storage
    assert len(storage._engines) == 2 + 1  # the two most recent run shards plus the index
    # an unmodified Dagster storage reads the same files
    plain = SqliteEventLogStorage(base_dir=storage._base_dir)
    key = dg.AssetKey(["gold", "noc_unit_groups"])
    records = plain.fetch_materializations(key, limit=100).records
    assert len(records) == runs
    assert records[0].asset_materialization.metadata["dagster/row_count"].value == 12
    assert len(instance.get_runs()) == runs
    instance.event_log_storage.wipe()
    assert plain.fetch_materializations(key, limit=100).records == []


def test_latest_materialization_rows_are_dagsters_and_reads_agree(tmp_path: Path, monkeypatch) -> None:
    """The asset rows hold what Dagster would write (the record, its storage id); records read back from memory
    equal an unmodified Dagster storage's reading of the files."""
    instance = instance_from_repo_yaml(tmp_path / "home", tmp_path, monkeypatch)
    data = tmp_path / "data"
    shutil.copytree(SAMPLE_SOURCES, data / "source")
    job = build_definitions(DataRoot(data_root=str(data))).resolve_job_def("medallion_pipeline")
    assert job.execute_in_process(instance=instance).success
    assert job.execute_in_process(instance=instance).success  # current tables, reported again
    storage = instance.event_log_storage
    plain = SqliteEventLogStorage(base_dir=storage._base_dir)
    keys = [key for key in plain.all_asset_keys() if key.path[0] in ("staged", "bronze", "silver", "gold")]
    assert len(keys) >= 8
    with plain.index_connection() as conn:
        rows = dict(conn.execute(db.select(AssetKeyTable.c.asset_key, AssetKeyTable.c.last_materialization)).all())
    for key in keys:
        latest = plain.fetch_materializations(key, limit=1).records[0]
        text = rows[key.to_string()]
        assert text == serialize_value(
            EventLogRecord(storage_id=latest.storage_id, event_log_entry=latest.event_log_entry)
        )
    assert storage._records  # the reads below are answered from memory
    ours = {
        record.asset_entry.asset_key: record.asset_entry.last_materialization_record
        for record in storage.get_asset_records(keys)
    }
    theirs = {
        record.asset_entry.asset_key: record.asset_entry.last_materialization_record
        for record in plain.get_asset_records(keys)
    }
    assert ours == theirs
    assert all(
        record is not None and record.event_log_entry.run_id == ours[keys[0]].event_log_entry.run_id
        for record in ours.values()
    )
