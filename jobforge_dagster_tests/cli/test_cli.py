"""The documented command line runs the main job on the bundled sample."""

import shutil

import polars as pl

from jobforge_dagster_tests.conftest import SAMPLE_SOURCES
from jobforge_dagster_tests.dagster_cli import DagsterCli


def test_dagster_job_execute_on_sample(dagster_cli: DagsterCli, monkeypatch, tmp_path) -> None:
    shutil.copytree(SAMPLE_SOURCES, dagster_cli.data_root / "source")
    elsewhere = tmp_path / "elsewhere"  # the working directory is not DAGSTER_HOME
    elsewhere.mkdir()
    completed = dagster_cli.run("job", "execute", "-m", "jobforge_dagster", "-j", "medallion_pipeline", cwd=elsewhere)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "RUN_SUCCESS" in completed.stderr + completed.stdout
    gold = pl.read_parquet(dagster_cli.data_root / "gold" / "noc_unit_groups.parquet")
    assert gold.height == 12
    assert gold["noc_code"][0] == "00010"
    monkeypatch.chdir(tmp_path)  # not DAGSTER_HOME: its folders are found through DAGSTER_HOME, not from here
    runs = dagster_cli.instance().get_runs()
    assert [run.job_name for run in runs] == ["medallion_pipeline"], "the run is recorded in the CLI's instance"
    assert (dagster_cli.home / ".dagster_home" / "storage" / "history" / "runs.db").is_file()
    assert not (elsewhere / ".dagster_home").exists(), "storage follows DAGSTER_HOME, not the working directory"
