"""The documented command line runs the main job on the bundled sample."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl

from jobforge_dagster_tests.conftest import REPO, SAMPLE_SOURCES


def test_dagster_job_execute_on_sample(tmp_path: Path) -> None:
    data_root = tmp_path / "data"
    shutil.copytree(SAMPLE_SOURCES, data_root / "source")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = os.environ | {"DAGSTER_HOME": str(home), "JOBFORGE_DATA_ROOT": str(data_root)}
    env.pop("JOBFORGE_SOURCE_ROOT", None)
    dagster = Path(sys.executable).with_name("dagster")
    completed = subprocess.run(
        [str(dagster), "job", "execute", "-m", "jobforge_dagster", "-j", "medallion_pipeline"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "RUN_SUCCESS" in completed.stderr + completed.stdout
    gold = pl.read_parquet(data_root / "gold" / "noc_unit_groups.parquet")
    assert gold.height == 12
    assert gold["noc_code"][0] == "00010"
    # the instance kept the run history where dagster.yaml says, under the working directory
    assert (tmp_path / ".dagster_home" / "storage").is_dir()
