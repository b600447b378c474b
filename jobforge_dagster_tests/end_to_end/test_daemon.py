"""The sensor running for real: dagster-daemon picks up a dropped file and runs its table, once; a file that
arrives after the code location loaded reaches gold without a reload."""

import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from jobforge_dagster.batches.stamps import read_stamp
from jobforge_dagster.orchestration.sensor_cursor import SourceCursor
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.conftest import SAMPLE_SOURCES
from jobforge_dagster_tests.dagster_cli import DagsterCli, stop

SAMPLE = "noc_unit_groups_sample.csv"


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def watch_the_sensor(cli: DagsterCli, monkeypatch) -> None:
    """Drop the sample file beside a FIFO a declared pattern matches (before, it blocked every tick), wait for
    its run, drop the same bytes again and see no second run."""
    home, data = cli.home, cli.data_root
    time.sleep(2)
    os.mkfifo(data / "source" / "skills_oasis_pipe.csv")
    shutil.copy(SAMPLE_SOURCES / SAMPLE, data / "source" / SAMPLE)
    gold = data / "gold" / "noc_unit_groups.parquet"
    monkeypatch.chdir(home)  # dagster.yaml's storage folders are relative to the working directory
    instance = cli.instance()

    def succeeded() -> bool:
        return gold.exists() and any(run.status == dg.DagsterRunStatus.SUCCESS for run in instance.get_runs())

    wait_for(succeeded, 180, "the sensor's run to succeed")
    (run,) = instance.get_runs()
    assert run.tags["jobforge/table"] == "noc_unit_groups"
    # the same bytes again: a rewrite gives a new change time but the same sha256
    (data / "source" / SAMPLE).write_bytes((SAMPLE_SOURCES / SAMPLE).read_bytes())
    time.sleep(12)  # several ticks
    assert len(instance.get_runs()) == 1


def sensor_under_a_daemon(cli: DagsterCli, monkeypatch) -> subprocess.Popen:
    """Turn the sensor on, run `dagster-daemon` while `watch_the_sensor` drops files; the stopped daemon."""
    (cli.data_root / "source").mkdir(parents=True)
    started = cli.run("sensor", "start", "new_source_files", "-m", "jobforge_dagster", timeout=120)
    assert started.returncode == 0, started.stderr[-2000:]
    with open(cli.home / "daemon.log", "w") as log:
        daemon = cli.start("run", "-m", "jobforge_dagster", program="dagster-daemon", log=log)
        try:
            watch_the_sensor(cli, monkeypatch)
        finally:
            stop(daemon)
    return daemon


def test_daemon_runs_a_dropped_file_once(tmp_path: Path, monkeypatch) -> None:
    cli = DagsterCli.fresh(tmp_path / "home", tmp_path / "data", JOBFORGE_SENSOR_INTERVAL_SECONDS="1")
    daemon = sensor_under_a_daemon(cli, monkeypatch)
    assert daemon.returncode != -signal.SIGKILL, "the daemon did not stop on SIGTERM within 30 s"


AUTOMATED = """from jobforge_dagster.orchestration.automation import Automation
from jobforge_dagster.orchestration.assembly import build_definitions

defs = build_definitions(automation=Automation(mode="eager", observe_cron="* * * * *"))
"""


def test_declarative_automation_materializes_only_unsynced_tables(tmp_path: Path, monkeypatch) -> None:
    """No sensor, no job: the daemon observes the sources every minute and materializes what is unsynced."""
    cli = DagsterCli.fresh(tmp_path / "home", tmp_path / "data", JOBFORGE_SENSOR_INTERVAL_SECONDS="2")
    source = cli.data_root / "source"
    shutil.copytree(SAMPLE_SOURCES, source)
    (cli.home / "automated.py").write_text(AUTOMATED)
    monkeypatch.chdir(cli.home)
    instance = cli.instance()
    gold = {name: cli.data_root / "gold" / f"{name}.parquet" for name in ("noc_unit_groups", "oasis_skills_sample")}

    def materialized(table: str) -> int:
        return len(instance.fetch_materializations(dg.AssetKey(["gold", table]), limit=100).records)

    with open(cli.home / "daemon.log", "w") as log:
        daemon = cli.start("run", "-f", "automated.py", program="dagster-daemon", log=log)
        try:
            wait_for(lambda: all(path.exists() for path in gold.values()), 240, "automation to build both tables")
            wait_for(lambda: all(run.is_finished for run in instance.get_runs()), 60, "the runs to finish")
            first = {table: materialized(table) for table in gold}
            assert first == {"noc_unit_groups": 1, "oasis_skills_sample": 1}
            sample = source / "oasis_skills_sample.csv"
            sample.write_bytes(sample.read_bytes() + b"99999.00,Someone new,1,2,3,4,5\n")
            wait_for(lambda: materialized("oasis_skills_sample") == 2, 180, "the changed table to be rebuilt")
            wait_for(lambda: all(run.is_finished for run in instance.get_runs()), 60, "the runs to finish")
            time.sleep(5)  # a few more evaluations: nothing else is unsynced
            assert materialized("noc_unit_groups") == 1
        finally:
            stop(daemon)


def sensor_cursor(instance: dg.DagsterInstance) -> str | None:
    """The new_source_files sensor's cursor as the daemon saved it (None before its first tick)."""
    states = [state for state in instance.all_instigator_state() if state.name == "new_source_files"]
    data = states[0].instigator_data if states else None
    return getattr(data, "cursor", None)


def test_daemon_loads_a_file_that_arrived_after_loading(tmp_path: Path, monkeypatch) -> None:
    """Before: a file no loaded table matched was reported ("reload it") and the watermark passed it for good."""
    cli = DagsterCli.fresh(tmp_path / "home", tmp_path / "data", JOBFORGE_SENSOR_INTERVAL_SECONDS="1")
    source = cli.data_root / "source"
    source.mkdir(parents=True)
    assert cli.run("sensor", "start", "new_source_files", "-m", "jobforge_dagster", timeout=120).returncode == 0
    monkeypatch.chdir(cli.home)
    instance = cli.instance()
    gold = cli.data_root / "gold" / "skills_arrived.parquet"
    with open(cli.home / "daemon.log", "w") as log:
        daemon = cli.start("run", "-m", "jobforge_dagster", program="dagster-daemon", log=log)
        try:
            wait_for(lambda: sensor_cursor(instance) is not None, 180, "the sensor's first tick over an empty source/")
            shutil.copy(SAMPLE_SOURCES / "oasis_skills_sample.csv", source / "skills_arrived.csv")
            finished = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE}
            wait_for(lambda: any(run.status in finished for run in instance.get_runs()), 180, "the file's run")
        finally:
            stop(daemon)
    (run,) = instance.get_runs()
    assert run.status == dg.DagsterRunStatus.SUCCESS, (cli.home / "daemon.log").read_text()[-3000:]
    assert (run.job_name, run.tags["dagster/partition"]) == ("new_file_refresh", "skills_arrived")
    assert instance.get_dynamic_partitions("new_files") == ["skills_arrived"]
    with GoldQueryEngine(DataRoot(data_root=str(cli.data_root))) as engine:
        rows = engine.query("SELECT oasis_code_final, numeracy FROM skills_arrived ORDER BY oasis_code_final")
    assert gold.exists() and rows.height == 6 and rows.row(0) == ("00010.00", 3)  # numeracy inferred an integer


REFERENCING = """from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.registry.spec import Reference
from jobforge_dagster.registry.file import SourceRegistry

registry = SourceRegistry.load()
sample = registry.by_name["noc_unit_groups"]
reference = sample.model_copy(update={"name": "noc_ref", "pattern": "noc_ref.csv"})
checks = sample.checks.model_copy(update={"foreign_keys": [Reference(column="noc_code", table="noc_ref")]})
dependent = sample.model_copy(update={"checks": checks})
defs = build_definitions(registry=registry.model_copy(update={"tables": [dependent, reference]}))
"""


def instigator_cursor(instance: dg.DagsterInstance, name: str) -> str | None:
    states = [state for state in instance.all_instigator_state() if state.name == name]
    return getattr(states[0].instigator_data, "cursor", None) if states else None


def test_a_changed_referenced_gold_reruns_the_dependent_checks_alone(tmp_path: Path, monkeypatch) -> None:
    """The jobforge_automation sensor (on by default) runs a check-only run when a referenced gold changes."""
    cli = DagsterCli.fresh(tmp_path / "home", tmp_path / "data", JOBFORGE_SENSOR_INTERVAL_SECONDS="2")
    source = cli.data_root / "source"
    source.mkdir(parents=True)
    shutil.copy(SAMPLE_SOURCES / SAMPLE, source / SAMPLE)
    shutil.copy(SAMPLE_SOURCES / SAMPLE, source / "noc_ref.csv")
    (cli.home / "referencing.py").write_text(REFERENCING)
    execute = ("job", "execute", "-f", "referencing.py", "-j", "medallion_pipeline")
    assert cli.run(*execute, timeout=300).returncode == 0
    dependent = cli.data_root / "gold" / "noc_unit_groups.parquet"
    before = (dependent.stat().st_ino, dependent.stat().st_mtime_ns)
    monkeypatch.chdir(cli.home)
    instance = cli.instance()
    with open(cli.home / "daemon.log", "w") as log:
        daemon = cli.start("run", "-f", "referencing.py", program="dagster-daemon", log=log)
        try:
            wait_for(lambda: instigator_cursor(instance, "jobforge_automation"), 120, "automation's first evaluation")
            lines = (source / "noc_ref.csv").read_bytes().splitlines(keepends=True)
            (source / "noc_ref.csv").write_bytes(b"".join(lines[:-1]))  # the referenced table loses one code
            assert cli.run(*execute, timeout=300).returncode == 0  # noc_ref rebuilt; noc_unit_groups current

            def check_only_runs() -> list[dg.DagsterRun]:
                return [run for run in instance.get_runs() if run.asset_check_selection and not run.asset_selection]

            wait_for(lambda: any(run.is_finished for run in check_only_runs()), 120, "a check-only run")
        finally:
            stop(daemon)
    (run,) = check_only_runs()
    assert run.status == dg.DagsterRunStatus.FAILURE  # the blocking check found the code that disappeared
    assert run.asset_check_selection == {dg.AssetCheckKey(dg.AssetKey(["gold", "noc_unit_groups"]), "conformance")}
    assert (dependent.stat().st_ino, dependent.stat().st_mtime_ns) == before  # no layer rewritten
    record = instance.get_latest_asset_check_evaluation_record(
        dg.AssetCheckKey(dg.AssetKey(["gold", "noc_unit_groups"]), "conformance")
    )
    assert record is not None and record.run_id == run.run_id
    new_batch = read_stamp(cli.data_root / "gold" / "noc_ref.parquet")[0]
    metadata = record.event.dagster_event.event_specific_data.metadata  # type: ignore[union-attr]
    figures = metadata["foreign_key_noc_code"].value
    assert (figures["compared_with_batch"], figures["unresolved"]) == (new_batch, 1)


@contextmanager
def daemon(cli: DagsterCli, runs_at_once: int) -> Iterator[None]:
    """`dagster-daemon` on the instance, launching at most `runs_at_once` runs (0: every run waits in the queue)."""
    settings = cli.home / "dagster.yaml"
    limit = f"max_concurrent_runs: {runs_at_once}"
    settings.write_text(re.sub(r"max_concurrent_runs: -?\d+", limit, settings.read_text()))
    with open(cli.home / "daemon.log", "a") as log:
        process = cli.start("run", "-m", "jobforge_dagster", program="dagster-daemon", log=log)
        try:
            yield
        finally:
            stop(process)


def test_a_version_that_arrives_again_while_runs_wait_is_loaded(tmp_path: Path, monkeypatch) -> None:
    """Gold on A; B, then A again, arrive while B's run waits in the queue; B's run, once launched, finds A there
    (current: nothing to do); then B arrives again. Before: that last B had the key of B's first run
    (the key named the gold it replaced, still A), so Dagster skipped it and gold stayed on A while the source held
    B."""
    cli = DagsterCli.fresh(tmp_path / "home", tmp_path / "data", JOBFORGE_SENSOR_INTERVAL_SECONDS="1")
    path = cli.data_root / "source" / SAMPLE
    path.parent.mkdir(parents=True)
    version_a = (SAMPLE_SOURCES / SAMPLE).read_bytes()
    version_b = version_a.replace(b"Legislators", b"Lawmakers")
    assert cli.run("sensor", "start", "new_source_files", "-m", "jobforge_dagster", timeout=120).returncode == 0
    monkeypatch.chdir(cli.home)
    instance = cli.instance()

    def runs_of(content: bytes) -> list[dg.DagsterRun]:
        sha = hashlib.sha256(content).hexdigest()
        return [run for run in instance.get_runs() if run.tags.get("jobforge/source_sha256") == sha]

    def finished(content: bytes, count: int) -> bool:
        return len([run for run in runs_of(content) if run.is_finished]) >= count

    with daemon(cli, runs_at_once=1):
        path.write_bytes(version_a)
        wait_for(lambda: finished(version_a, 1), 180, "A's run")
    with daemon(cli, runs_at_once=0):  # runs wait in the queue
        path.write_bytes(version_b)
        wait_for(lambda: len(runs_of(version_b)) == 1, 120, "B's run to be queued")
        path.write_bytes(version_a)  # A again: its bytes are in gold, no run
        seen = path.stat().st_ctime_ns
        wait_for(
            lambda: SourceCursor.model_validate_json(sensor_cursor(instance) or "{}").watermark_ns >= seen, 60, "A"
        )
    with daemon(cli, runs_at_once=1):
        wait_for(lambda: finished(version_b, 1), 180, "B's run, launched while A is back")
        path.write_bytes(version_b)  # B again
        wait_for(lambda: finished(version_b, 2), 180, "the second B's run")
    assert len(runs_of(version_a)) == 1 and len(runs_of(version_b)) == 2
    assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in instance.get_runs())  # B's first: current, A
    gold = read_stamp(cli.data_root / "gold" / "noc_unit_groups.parquet")[1]
    assert gold == hashlib.sha256(version_b).hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_file_grown_in_several_writes_is_loaded_once_complete(tmp_path: Path, monkeypatch) -> None:
    """The repository's default sensor settings (5 s ticks, 2 s settle time): a file written in seven appends over
    7 s, each one leaving a valid CSV of fewer records, is loaded by one run, of its final bytes."""
    cli = DagsterCli.fresh(tmp_path / "home", tmp_path / "data")
    for name in ("JOBFORGE_SENSOR_INTERVAL_SECONDS", "JOBFORGE_SENSOR_SETTLE_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    path = cli.data_root / "source" / SAMPLE
    path.parent.mkdir(parents=True)
    assert cli.run("sensor", "start", "new_source_files", "-m", "jobforge_dagster", timeout=120).returncode == 0
    monkeypatch.chdir(cli.home)
    instance = cli.instance()
    content = (SAMPLE_SOURCES / SAMPLE).read_bytes()
    lines = content.splitlines(keepends=True)
    chunks = [b"".join(lines[start : start + 2]) for start in range(0, len(lines), 2)]
    with daemon(cli, runs_at_once=2):
        wait_for(lambda: sensor_cursor(instance) is not None, 180, "the sensor's first tick over an empty source/")
        with open(path, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                handle.flush()
                time.sleep(1.0)  # seven writes over 7 s: longer than a tick interval, so a tick sees it grow
        wait_for(lambda: any(run.is_finished for run in instance.get_runs()), 180, "the file's run")
        time.sleep(12)  # more ticks over the finished file
    runs = instance.get_runs()
    assert [run.tags["jobforge/source_sha256"] for run in runs] == [hashlib.sha256(content).hexdigest()]
    assert runs[0].status == dg.DagsterRunStatus.SUCCESS, (cli.home / "daemon.log").read_text()[-3000:]
    with GoldQueryEngine(DataRoot(data_root=str(cli.data_root))) as engine:
        (count,) = engine.query("SELECT count(*) AS n FROM noc_unit_groups")["n"]
    assert count == len(lines) - 1  # 12 records, in 7 writes
