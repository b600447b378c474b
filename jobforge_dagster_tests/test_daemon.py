"""The sensor running for real: dagster-daemon picks up a dropped file and runs its table, once."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from jobforge_dagster_tests.conftest import REPO, SAMPLE_SOURCES

SAMPLE = "noc_unit_groups_sample.csv"


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def daemon_env(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    data = tmp_path / "data"
    (data / "source").mkdir(parents=True)
    env = os.environ | {
        "DAGSTER_HOME": str(home),
        "JOBFORGE_DATA_ROOT": str(data),
        "JOBFORGE_SENSOR_INTERVAL_SECONDS": "1",
    }
    env.pop("JOBFORGE_SOURCE_ROOT", None)
    return home, data, env


def watch_the_sensor(home: Path, data: Path, monkeypatch) -> None:
    """Drop the sample file, wait for its run, drop the same bytes again and see no second run."""
    time.sleep(2)
    shutil.copy(SAMPLE_SOURCES / SAMPLE, data / "source" / SAMPLE)
    gold = data / "gold" / "noc_unit_groups.parquet"
    monkeypatch.chdir(home)  # dagster.yaml's storage folders are relative to the working directory
    instance = dg.DagsterInstance.from_config(str(home))

    def succeeded() -> bool:
        return gold.exists() and any(run.status == dg.DagsterRunStatus.SUCCESS for run in instance.get_runs())

    wait_for(succeeded, 180, "the sensor's run to succeed")
    (run,) = instance.get_runs()
    assert run.tags["jobforge/table"] == "noc_unit_groups"
    # the same bytes again: a rewrite gives a new change time but the same sha256
    (data / "source" / SAMPLE).write_bytes((SAMPLE_SOURCES / SAMPLE).read_bytes())
    time.sleep(12)  # several ticks
    assert len(instance.get_runs()) == 1


def test_daemon_runs_a_dropped_file_once(daemon_env, monkeypatch) -> None:
    home, data, env = daemon_env
    bin_dir = Path(sys.executable).parent
    started = subprocess.run(
        [str(bin_dir / "dagster"), "sensor", "start", "new_source_files", "-m", "jobforge_dagster"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stderr[-2000:]
    with open(home / "daemon.log", "w") as log:
        daemon = subprocess.Popen(
            [str(bin_dir / "dagster-daemon"), "run", "-m", "jobforge_dagster"],
            cwd=home,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            watch_the_sensor(home, data, monkeypatch)
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait(timeout=10)
    assert daemon.poll() is not None
