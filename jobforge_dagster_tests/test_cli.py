"""The documented command line runs the main job on the bundled sample."""

import shutil

import polars as pl

from jobforge_dagster_tests.conftest import SAMPLE_SOURCES
from jobforge_dagster_tests.dagster_cli import DagsterCli


def test_dagster_job_execute_on_sample(dagster_cli: DagsterCli, monkeypatch) -> None:
    shutil.copytree(SAMPLE_SOURCES, dagster_cli.data_root / "source")
    completed = dagster_cli.run("job", "execute", "-m", "jobforge_dagster", "-j", "medallion_pipeline")
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "RUN_SUCCESS" in completed.stderr + completed.stdout
    gold = pl.read_parquet(dagster_cli.data_root / "gold" / "noc_unit_groups.parquet")
    assert gold.height == 12
    assert gold["noc_code"][0] == "00010"
    monkeypatch.chdir(dagster_cli.home)  # dagster.yaml's storage folders are relative to the working directory
    runs = dagster_cli.instance().get_runs()
    assert [run.job_name for run in runs] == ["medallion_pipeline"], "the run is recorded in the CLI's instance"
