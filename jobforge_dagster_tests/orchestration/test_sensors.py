"""The new-source-files sensor on its fast paths, with build_sensor_context, and the daily schedule."""

import hashlib
import logging
import os
import shutil
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from jobforge_dagster.batches.versions import table_version
from jobforge_dagster.layers import Layer
from jobforge_dagster.orchestration import sensors
from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.orchestration.sensor_cursor import SourceCursor, handled, plan_tick
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.sources.scan import SourceFile, scan_source
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.conftest import SAMPLE_SOURCES, bounded, run_job

SAMPLE = "noc_unit_groups_sample.csv"


class Collect(logging.Handler):
    """Keeps the messages a sensor logs."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__()
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


class Sensor:
    """Ticks the sensor of a data root's definitions, carrying the cursor like the daemon does; the definitions
    are loaded again on each tick (with `registry`, default sources.yaml), as a code location reload does."""

    def __init__(self, config: DataRoot, registry: SourceRegistry | None = None) -> None:
        self.config, self.registry = config, registry
        self.instance = dg.DagsterInstance.ephemeral()
        self.cursor: str | None = None
        self.logs: list[str] = []
        self.skip_reason: str | None = None

    def run(self, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
        """The run the daemon would launch for `request`, on the definitions loaded now."""
        job = build_definitions(self.config, self.registry).resolve_job_def(request.job_name)
        return job.execute_in_process(
            instance=self.instance,
            asset_selection=request.asset_selection,
            run_config=request.run_config,
            tags=request.tags,
            raise_on_error=False,
        )

    def unsettled(self) -> set[str]:
        """The files the cursor keeps as requested and not yet in gold."""
        return set(SourceCursor.model_validate_json(self.cursor or "{}").unsettled)

    def tick(self) -> list[dg.RunRequest]:
        defs = build_definitions(self.config, self.registry)
        sensor = defs.resolve_sensor_def("new_source_files")
        with dg.build_sensor_context(
            instance=self.instance, cursor=self.cursor, definitions=defs, resources=defs.resources
        ) as context:
            context.log.addHandler(Collect(self.logs))
            result = bounded(lambda: sensor.evaluate_tick(context))
        self.cursor, self.skip_reason = result.cursor, result.skip_message
        return list(result.run_requests or [])

    def ticks(self, count: int) -> list[dg.RunRequest]:
        """The run requests of `count` ticks in a row."""
        return [request for _ in range(count) for request in self.tick()]

    def said(self, text: str) -> list[str]:
        return [message for message in self.logs if text in message]


@pytest.fixture(autouse=True)
def two_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests tick back to back, faster than a file settles: with a settle time out of reach, a file is taken
    once unchanged over two ticks, whatever the machine's load (the settle time has tests of its own)."""
    monkeypatch.setenv(sensors.SETTLE_ENV, "3600")


def drop(config: DataRoot, name: str = SAMPLE, content: bytes | None = None) -> Path:
    target = config.source_dir() / name
    if content is None:
        shutil.copy(SAMPLE_SOURCES / SAMPLE, target)
    else:
        target.write_bytes(content)
    return target


def test_new_file_is_requested_once_stable(empty_root: DataRoot) -> None:
    sensor = Sensor(empty_root)
    assert sensor.tick() == []
    drop(empty_root)
    assert sensor.tick() == []  # first sight: may still be growing
    (request,) = sensor.tick()
    assert request.run_key.startswith("noc_unit_groups:")
    assert {key.to_user_string() for key in request.asset_selection} == {
        "staged/noc_unit_groups",
        "bronze/noc_unit_groups",
        "silver/noc_unit_groups",
        "gold/noc_unit_groups",
    }
    assert {key.name for key in request.asset_check_keys} >= {"integrity", "conformance"}
    assert request.tags["jobforge/source_file"] == f"source/{SAMPLE}"
    assert sensor.tick() == []  # handled: not requested again
    assert len(SourceCursor.model_validate_json(sensor.cursor).pending) == 0


def test_a_file_not_written_for_the_settle_time_is_requested_on_first_sight(
    empty_root: DataRoot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(sensors.SETTLE_ENV, "1")
    sensor = Sensor(empty_root)
    drop(empty_root)
    time.sleep(1.2)
    (request,) = sensor.tick()
    assert request.tags["jobforge/source_file"] == f"source/{SAMPLE}"
    assert sensor.tick() == []


def test_a_file_written_within_the_settle_time_waits_and_the_tick_says_so(
    empty_root: DataRoot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(sensors.SETTLE_ENV, "60")
    sensor = Sensor(empty_root)
    path = drop(empty_root)
    assert sensor.tick() == []
    assert sensor.skip_reason == "Waiting for 1 file(s) to settle (not written for 60 s)"
    path.write_bytes(path.read_bytes() + b"00011,Senior government managers and officials\n")
    assert sensor.tick() == []  # written again since the last tick, and still young


def test_file_still_growing_is_left_alone(empty_root: DataRoot) -> None:
    sensor = Sensor(empty_root)
    path = drop(empty_root, content=b"Code - NOC 2021 V1.0,Class title\n00010,Legislators\n")
    sensor.tick()
    with open(path, "ab") as handle:
        handle.write(b"00011,Senior government managers and officials\n")
    assert sensor.tick() == []  # it changed since the last tick
    assert sensor.tick() != []  # now stable


def test_same_bytes_again_start_no_run_and_changed_bytes_do(empty_root: DataRoot) -> None:
    path = drop(empty_root)
    assert run_job(empty_root).success
    sensor = Sensor(empty_root)
    sensor.tick()
    assert sensor.tick() == []  # these bytes are already in gold
    content = path.read_bytes()
    path.write_bytes(content)  # rewritten, same bytes: new ctime, same sha256
    sensor.tick()
    assert sensor.tick() == []
    path.write_bytes(content.replace(b"Legislators", b"Legislators and councillors"))
    sensor.tick()
    (request,) = sensor.tick()
    assert request.run_key.split(":")[1] != ""


def test_run_key_is_the_arrival_table_sha256_change_time_and_table_version(empty_root: DataRoot) -> None:
    path = drop(empty_root)
    sensor = Sensor(empty_root)
    sensor.tick()
    (request,) = sensor.tick()
    version = table_version(SourceRegistry.load().by_name["noc_unit_groups"])
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert request.run_key == f"noc_unit_groups:{sha}:{path.stat().st_ctime_ns}:{version}"


def test_unreadable_file_requests_a_run_that_fails_and_others_go_on(empty_root: DataRoot) -> None:
    if os.geteuid() == 0:
        # root reads anything: a dangling symbolic link (inside source/) is the unreadable file here
        os.symlink(empty_root.source_dir() / "gone", empty_root.source_dir() / "noc_unit_groups_gone.csv")
    else:
        unreadable = drop(empty_root, "noc_unit_groups_locked.csv")
        unreadable.chmod(0)
    drop(empty_root, "oasis_skills_sample.csv", (SAMPLE_SOURCES / "oasis_skills_sample.csv").read_bytes())
    sensor = Sensor(empty_root)
    sensor.tick()
    requests = sensor.tick()
    keys = sorted(request.run_key.split(":")[0] for request in requests)
    assert keys == ["noc_unit_groups", "oasis_skills_sample"]
    unreadable_request = next(r for r in requests if r.run_key.startswith("noc_unit_groups:"))
    assert ":unreadable:" in unreadable_request.run_key


def test_cursor_stays_small_over_many_files(tmp_path: Path) -> None:
    folder = tmp_path / "source"
    folder.mkdir()
    for index in range(2_000):
        (folder / f"file_{index}.csv").write_text("a\n1\n")
    files = list(scan_source(folder))
    ready, cursor = plan_tick(iter(files), SourceCursor())
    assert ready == [] and len(cursor.pending) == 2_000
    ready, cursor = plan_tick(iter(files), cursor)
    assert len(ready) == 2_000 and cursor.pending == {}
    for file in ready:
        handled(cursor, file)
    assert len(cursor.model_dump_json()) < 200  # a watermark (and the file handled at its time), not a list
    ready, cursor = plan_tick(iter(files), cursor)
    assert ready == [] and cursor.pending == {}


def test_a_file_with_the_watermark_time_is_still_new(tmp_path: Path) -> None:
    """Object storage stamps last-modified times to the second: two objects written in the same second."""
    first = SourceFile("a.csv", tmp_path / "a.csv", size=10, mtime_ns=5_000_000_000, ctime_ns=5_000_000_000)
    second = SourceFile("b.csv", tmp_path / "b.csv", size=12, mtime_ns=5_000_000_000, ctime_ns=5_000_000_000)
    _, cursor = plan_tick(iter([first]), SourceCursor())
    ready, cursor = plan_tick(iter([first]), cursor)
    assert ready == [first]
    handled(cursor, first)
    _, cursor = plan_tick(iter([first, second]), cursor)  # b listed after a was handled, with a's time
    assert list(cursor.pending) == ["b.csv"]
    ready, cursor = plan_tick(iter([first, second]), cursor)
    assert ready == [second]
    handled(cursor, second)
    ready, cursor = plan_tick(iter([first, second]), cursor)
    assert ready == [] and cursor.pending == {}


def test_daily_schedule_is_off_until_turned_on(empty_root: DataRoot) -> None:
    defs = build_definitions(empty_root)
    schedule = defs.resolve_schedule_def("daily_refresh")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert defs.resolve_sensor_def("new_source_files").default_status == dg.DefaultSensorStatus.STOPPED


def pending_of(sensor: Sensor) -> dict[str, tuple[int, int, int]]:
    return SourceCursor.model_validate_json(sensor.cursor).pending


def tables_of(requests: list[dg.RunRequest]) -> list[str]:
    return sorted(request.tags["jobforge/table"] for request in requests)


def test_fifo_and_link_to_a_device_are_reported_once_never_read(empty_root: DataRoot) -> None:
    """Before: a tick blocked in sha256_file for good on a file a declared pattern matches; no file loaded again."""
    source = empty_root.source_dir()
    os.mkfifo(source / "skills_oasis_pipe.csv")  # declared table oasis_skills
    os.symlink("/dev/zero", source / "noc_structure_en.csv")  # declared table noc_structure
    os.mkfifo(source / "x.csv")  # no table
    drop(empty_root)
    sensor = Sensor(empty_root)
    assert tables_of(sensor.ticks(4)) == ["noc_unit_groups"]
    for name, reason in [
        ("skills_oasis_pipe.csv", "not a regular file (a FIFO)"),
        ("x.csv", "not a regular file (a FIFO)"),
        ("noc_structure_en.csv", "a symbolic link to /dev/zero, outside the source folder"),
    ]:
        assert len(sensor.said(f"source/{name}: refused: {reason}")) == 1, name
    assert pending_of(sensor) == {}


def test_link_out_of_source_is_refused_before_any_read(
    empty_root: DataRoot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_bytes((SAMPLE_SOURCES / SAMPLE).read_bytes())
    os.symlink(outside, empty_root.source_dir() / "noc_unit_groups_link.csv")
    hashed: list[Path] = []
    monkeypatch.setattr(sensors, "sha256_file", lambda path: hashed.append(path) or "0" * 64)
    sensor = Sensor(empty_root)
    assert sensor.ticks(3) == [] and hashed == []
    assert len(sensor.said("source/noc_unit_groups_link.csv: refused: a symbolic link to")) == 1


def drop_tables(config: DataRoot, count: int, size: int = 40) -> None:
    for index in range(count):
        drop(config, f"t{index}.csv", b"a,b\n" + b"1,2\n" * ((size - 4) // 4))


def test_hashing_is_budgeted_per_tick_and_the_rest_wait(empty_root: DataRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sensors, "HASH_BYTES_PER_TICK", 100)  # two 40-byte files per tick
    drop_tables(empty_root, 5)
    sensor = Sensor(empty_root)
    sensor.tick()
    loaded: list[str] = []
    for expected in (2, 2, 1, 0):
        requests = sensor.tick()
        assert len(requests) == expected
        loaded += tables_of(requests)
        waiting = {f"t{index}.csv" for index in range(5)} - {f"{table}.csv" for table in loaded}
        assert set(pending_of(sensor)) == waiting  # the watermark passed none of them
    assert sorted(loaded) == [f"t{index}" for index in range(5)]


def test_time_budget_still_hashes_one_file_per_tick(empty_root: DataRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sensors, "HASH_SECONDS_PER_TICK", 0.0)
    drop_tables(empty_root, 3)
    sensor = Sensor(empty_root)
    sensor.tick()
    assert [len(sensor.tick()) for _ in range(4)] == [1, 1, 1, 0]


def test_file_larger_than_the_budget_is_requested_unhashed_once(
    empty_root: DataRoot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sensors, "HASH_BYTES_PER_TICK", 10)
    hashed: list[Path] = []
    monkeypatch.setattr(sensors, "sha256_file", lambda path: hashed.append(path) or "0" * 64)
    drop_tables(empty_root, 1)
    sensor = Sensor(empty_root)
    (request,) = sensor.ticks(2)
    assert hashed == [] and ":unhashed:" in request.run_key and request.tags["jobforge/source_sha256"] == ""
    os.chmod(empty_root.source_dir() / "t0.csv", 0o644)  # a new change time, same bytes (as the archive's link)
    (again,) = sensor.ticks(2)
    assert again.run_key == request.run_key  # Dagster skips a run key it has seen


def test_undecodable_and_overlong_names_are_refused_once(empty_root: DataRoot) -> None:
    """Before: PydanticSerializationError on every tick (the cursor could not be saved); `File name too long`."""
    source = empty_root.source_dir()
    with open(os.fsencode(source) + b"/caf\xe9.csv", "wb") as handle:
        handle.write(b"a\n1\n")
    long_name = "x" * 246 + ".csv"
    (source / long_name).write_text("a\n1\n")
    drop(empty_root)
    sensor = Sensor(empty_root)
    assert tables_of(sensor.ticks(4)) == ["noc_unit_groups"]
    assert len(sensor.said("b'caf\\xe9.csv' is not valid UTF-8")) == 1
    assert len(sensor.said(f"source/{long_name}: refused: its default table name")) == 1
    assert pending_of(sensor) == {}
    assert run_job(empty_root).success


def test_a_source_rolled_back_loads_again(empty_root: DataRoot) -> None:
    """A -> B -> A: before, the second A had A's first run key, which Dagster skips; gold stayed on B."""
    path = drop(empty_root)
    version_a = path.read_bytes()
    version_b = version_a.replace(b"Legislators", b"Legislators and councillors")
    sensor = Sensor(empty_root)
    keys = []
    for content in (version_a, version_b, version_a):
        path.write_bytes(content)
        sensor.tick()
        before = sensor.cursor
        (request,) = sensor.tick()
        assert request.tags["jobforge/source_sha256"] == hashlib.sha256(content).hexdigest()
        sensor.cursor = before  # the same tick again (a daemon restarted before saving its cursor)
        (repeated,) = sensor.tick()
        assert repeated.run_key == request.run_key  # the same bytes at the same sighting: one run
        os.chmod(path, 0o644)  # seen again while the run waits (as the archive's link does): no second run
        assert sensor.ticks(2) == []
        assert sensor.said(f"source/{SAMPLE}: {request.run_key.split(':')[1][:12]} was requested already")
        keys.append(request.run_key)
        assert run_job(empty_root).success  # the run the daemon starts
        assert sensor.ticks(3) == []  # loaded: the archive's new link to the file starts nothing
        assert sensor.unsettled() == set()  # gold holds the bytes: forgotten
    assert len(set(keys)) == 3


def test_a_symbolic_link_loop_is_refused_alone(empty_root: DataRoot) -> None:
    """Before: `RuntimeError: Symlink loop` when the code location loaded, and on every tick once it appeared."""
    source = empty_root.source_dir()
    os.symlink(source / "b.csv", source / "a.csv")
    os.symlink(source / "a.csv", source / "b.csv")
    drop(empty_root)
    sensor = Sensor(empty_root)  # each tick loads the definitions again, as a code location reload does
    assert tables_of(sensor.ticks(4)) == ["noc_unit_groups"]
    for name in ("a.csv", "b.csv"):
        assert len(sensor.said(f"source/{name}: refused: a symbolic link loop")) == 1, name
    assert pending_of(sensor) == {}


def test_a_fifo_at_gold_does_not_stop_a_tick(empty_root: DataRoot, fifos) -> None:
    """Before: reading the stamp of gold/<table>.parquet, a FIFO, blocked the tick for good."""
    drop(empty_root)
    gold = empty_root.table_path(Layer.GOLD, "noc_unit_groups")
    gold.parent.mkdir(parents=True)
    fifos(gold)
    assert tables_of(Sensor(empty_root).ticks(2)) == ["noc_unit_groups"]  # each tick is bounded


def mistaken(registry: SourceRegistry) -> SourceRegistry:
    """The registry with a mistake in the sample's entry: its English titles declared as integers."""
    sample = registry.by_name["noc_unit_groups"]
    wrong = sample.model_copy(update={"types": {**sample.types, "title_en": "int32"}})
    return registry.model_copy(
        update={"tables": [wrong if spec.name == sample.name else spec for spec in registry.tables]}
    )


def test_a_file_whose_run_failed_is_requested_again_once_the_cause_is_fixed(empty_root: DataRoot) -> None:
    """Before: its run key was used and the watermark had passed it: without touching the file, never again."""
    drop(empty_root)
    sensor = Sensor(empty_root, registry=mistaken(SourceRegistry.load()))
    (request,) = sensor.ticks(2)
    assert not sensor.run(request).success  # bronze: 'Legislators' is not a valid Int32
    assert sensor.ticks(3) == []  # the same cause (the archive's link changed the file's change time): no new run
    assert sensor.unsettled() == {SAMPLE}
    sensor.registry = SourceRegistry.load()  # the mistake fixed, the code location reloaded
    (again,) = sensor.tick()
    assert sensor.said(f"source/{SAMPLE}: table 'noc_unit_groups' changed since its run was requested")
    assert again.run_key != request.run_key
    assert again.tags["jobforge/source_sha256"] == request.tags["jobforge/source_sha256"]
    assert sensor.ticks(2) == []  # requested under the new version: once
    assert sensor.run(again).success
    assert sensor.ticks(3) == [] and sensor.unsettled() == set()  # loaded: settled


def test_a_requested_file_that_is_removed_is_forgotten(empty_root: DataRoot) -> None:
    path = drop(empty_root)
    sensor = Sensor(empty_root)
    assert len(sensor.ticks(2)) == 1 and sensor.unsettled() == {SAMPLE}
    path.unlink()  # before its run loaded it
    assert sensor.ticks(1) == [] and sensor.unsettled() == set()


def test_each_arrival_of_a_version_has_its_own_run_and_a_repeated_one_is_cheap(empty_root: DataRoot) -> None:
    """A -> B -> A -> B while the runs wait, then the runs in order. Before: the third and fourth arrivals had the
    keys of the first two (the key named the gold they replaced, still empty), so Dagster skipped them."""
    path = drop(empty_root)
    version_a = path.read_bytes()
    version_b = version_a.replace(b"Legislators", b"Lawmakers")
    sensor = Sensor(empty_root)
    queued = []
    for content in (version_a, version_b, version_a, version_b):
        path.write_bytes(content)
        (request,) = sensor.ticks(2)
        queued.append(request)
    assert len({request.run_key for request in queued}) == 4
    outcomes = [sensor.run(request) for request in queued]
    assert [outcome.success for outcome in outcomes] == [False, True, True, True]  # A's run finds B: refused
    rebuilt = [
        [e for e in outcome.get_asset_materialization_events() if "jobforge/status" not in e.materialization.metadata]
        for outcome in outcomes[1:]
    ]
    assert [len(events) for events in rebuilt] == [4, 0, 0]  # the last two find the table current: reported only
    gold = pl.read_parquet(empty_root.table_path(Layer.GOLD, "noc_unit_groups"))
    assert "Lawmakers" in gold["title_en"].to_list()
