"""The jobs run in process unless run config chooses `multiprocess: {max_concurrent: N}`."""

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.orchestration.keys import MAIN_JOB, NEW_FILES_JOB, REFRESH_JOB
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.conftest import SAMPLE_SOURCES
from jobforge_dagster_tests.dagster_cli import DagsterCli

MULTIPROCESS = {"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}


@pytest.mark.parametrize("job_name", [MAIN_JOB, REFRESH_JOB, NEW_FILES_JOB])
def test_in_process_by_default_multiprocess_accepted(config: DataRoot, job_name: str) -> None:
    job = build_definitions(config).resolve_job_def(job_name)

    def executor(run_config: dict) -> dict:
        (chosen,) = dg.validate_run_config(job, run_config)["execution"].values()  # keyed by the executor's name
        return chosen

    assert list(executor({})) == ["in_process"]
    assert executor(MULTIPROCESS)["multiprocess"]["max_concurrent"] == 2


def steps_and_pids(instance: dg.DagsterInstance, run_id: str) -> tuple[set[int], set[int]]:
    """(pids of the run's STEP_START events, pid of the process that launched the run)."""
    logs = instance.all_logs(run_id)
    steps = {entry.dagster_event.pid for entry in logs if entry.dagster_event_type == "STEP_START"}
    parent = {entry.dagster_event.pid for entry in logs if entry.dagster_event_type == "RUN_START"}
    return steps, parent


def test_multiprocess_run_config(dagster_cli: DagsterCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With `multiprocess` in run config each table's step runs in its own process, and the run succeeds."""
    shutil.copytree(SAMPLE_SOURCES, dagster_cli.data_root / "source")
    run_config = tmp_path / "multiprocess.yaml"
    run_config.write_text(yaml.safe_dump(MULTIPROCESS))
    done = dagster_cli.run("job", "execute", "-m", "jobforge_dagster", "-j", MAIN_JOB, "-c", str(run_config))
    assert done.returncode == 0, done.stderr[-3000:]
    monkeypatch.chdir(dagster_cli.home)
    instance = dagster_cli.instance()
    (run,) = instance.get_runs()
    assert run.status == dg.DagsterRunStatus.SUCCESS
    steps, parent = steps_and_pids(instance, run.run_id)
    assert len(steps) >= 2 and not steps & parent, (steps, parent)
    assert "multiprocess executor" in done.stderr
    assert (dagster_cli.data_root / "gold" / "noc_unit_groups.parquet").exists()
