"""Files that arrive after the code location loaded: the sensor adds a `new_files` partition and requests its run
in the same tick; the run builds the file's default table, which lands in gold under its default name."""

import hashlib
import os
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.sensor_definition import SensorExecutionData

from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.layers import LAYERS, Layer
from jobforge_dagster.orchestration import sensors
from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.orchestration.keys import NEW_FILES_JOB, REFRESH_JOB
from jobforge_dagster.orchestration.sensor_cursor import SourceCursor
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.sources.arrivals import partition_table
from jobforge_dagster.sources.tables import collect_tables
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.conftest import SAMPLE_SOURCES, both_registries, bounded
from jobforge_dagster_tests.orchestration.test_sensors import Collect

SKILLS = "oasis_skills_sample.csv"
NEW = "skills_arrived.csv"  # default table `skills_arrived`; no registry pattern matches it


@pytest.fixture(autouse=True)
def two_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests tick back to back, faster than a file settles: with a settle time out of reach, a file is taken
    once unchanged over two ticks, whatever the machine's load."""
    monkeypatch.setenv(sensors.SETTLE_ENV, "3600")


class LoadedOnce:
    """The sensor of definitions built once (a daemon's loaded code location), ticked as the daemon does."""

    def __init__(self, empty_root: DataRoot) -> None:
        self.empty_root = empty_root
        self.defs = build_definitions(empty_root, both_registries())  # dim_noc, the models' names are taken
        home = Path(empty_root.data_root).parent / "home"  # an instance with a ref, as the daemon's: partitions resolve
        home.mkdir(exist_ok=True)
        self.instance = dg.DagsterInstance.local_temp(str(home))
        self.cursor: str | None = None
        self.logs: list[str] = []

    def tick(self) -> SensorExecutionData:
        sensor = self.defs.resolve_sensor_def("new_source_files")
        with dg.build_sensor_context(
            instance=self.instance,
            instance_ref=self.instance.get_ref(),
            cursor=self.cursor,
            definitions=self.defs,
            resources=self.defs.resources,
        ) as context:
            context.log.addHandler(Collect(self.logs))
            result = bounded(lambda: sensor.evaluate_tick(context))
        self.cursor = result.cursor
        for request in result.dynamic_partitions_requests or []:  # what the daemon does with them
            self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        return result

    def watermark(self) -> int:
        return SourceCursor.model_validate_json(self.cursor or "{}").watermark_ns

    def pending(self) -> dict[str, tuple[int, int, int]]:
        return SourceCursor.model_validate_json(self.cursor or "{}").pending

    def run(self, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
        """The run the daemon would launch for `request`."""
        job = self.defs.resolve_job_def(request.job_name)
        return job.execute_in_process(
            instance=self.instance,
            partition_key=request.partition_key,
            asset_selection=request.asset_selection,
            run_config=request.run_config,
            tags=request.tags,
            raise_on_error=False,
        )


def drop(empty_root: DataRoot, name: str = NEW, content: bytes | None = None) -> Path:
    path = empty_root.source_dir() / name
    path.write_bytes((SAMPLE_SOURCES / SKILLS).read_bytes() if content is None else content)
    return path


def test_an_arrival_gets_its_partition_and_run_in_the_same_tick(empty_root: DataRoot) -> None:
    sensor = LoadedOnce(empty_root)
    assert sensor.tick().run_requests == []
    path = drop(empty_root)
    first = sensor.tick()
    assert first.run_requests == [] and list(sensor.pending()) == [NEW]  # seen once: may still be growing
    assert sensor.watermark() == 0
    second = sensor.tick()
    (request,) = second.run_requests
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert (request.job_name, request.partition_key) == (NEW_FILES_JOB, "skills_arrived")
    assert request.run_key.startswith(f"skills_arrived:{sha}:{path.stat().st_ctime_ns}:")  # table version last
    assert request.run_config == {"ops": {"new_files_medallion": {"config": {"sha256": sha}}}}
    (added,) = second.dynamic_partitions_requests
    assert (added.partitions_def_name, list(added.partition_keys)) == ("new_files", ["skills_arrived"])
    assert sensor.watermark() == path.stat().st_ctime_ns and sensor.pending() == {}
    assert sensor.tick().run_requests == []  # handled: not requested again


def test_the_partition_run_lands_in_gold_under_the_default_name(empty_root: DataRoot) -> None:
    sensor = LoadedOnce(empty_root)
    drop(empty_root)
    sensor.tick()
    (request,) = sensor.tick().run_requests
    result = sensor.run(request)
    assert result.success
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert materialized == {"staged/new_files", "bronze/new_files", "silver/new_files", "gold/new_files"}
    checks = result.get_asset_check_evaluations()
    assert [(check.check_name, check.passed, check.partition) for check in checks] == [
        ("integrity", True, "skills_arrived")
    ]
    with GoldQueryEngine(empty_root) as engine:
        rows = engine.query("SELECT oasis_code_final, writing FROM skills_arrived ORDER BY oasis_code_final")
    assert rows.row(0) == ("00010.00", 4)  # silver inferred the rating column an integer; the code stays text
    for layer in (Layer.STAGED, Layer.BRONZE, Layer.SILVER):
        assert empty_root.table_path(layer, "skills_arrived").exists()
    catalog = CatalogManager(empty_root)
    (batch,) = catalog.list_batches("skills_arrived")
    assert batch.source_file == f"source/{NEW}"
    logs = catalog.get_lineage_logs(batch_id=batch.batch_id)
    assert sorted(log.target_layer for log in logs) == ["bronze", "gold", "silver", "staged"]
    assert (empty_root.catalog_dir() / "checks" / f"skills_arrived--{batch.batch_id}.json").exists()
    events = sorted(path.name for path in (empty_root.catalog_dir() / "openlineage").glob("*-skills_arrived.gold-*"))
    assert [name.split("-")[2] for name in events] == ["START", "COMPLETE"], events
    assert sensor.tick().run_requests == [] and sensor.tick().run_requests == []  # in gold: nothing more


def test_the_run_refuses_other_bytes_than_the_sensor_saw(empty_root: DataRoot) -> None:
    sensor = LoadedOnce(empty_root)
    path = drop(empty_root)
    sensor.tick()
    (request,) = sensor.tick().run_requests
    path.write_bytes(path.read_bytes().replace(b"Legislators", b"Legislators and councillors"))
    result = sensor.run(request)
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.message
    assert f"source/{NEW} now holds other bytes" in message and "gets its own run" in message
    assert not empty_root.table_path(Layer.GOLD, "skills_arrived").exists()
    sensor.tick()
    (newer,) = sensor.tick().run_requests  # the newer version's own run
    assert newer.run_key != request.run_key and sensor.run(newer).success


def test_a_clash_is_refused_alone_and_the_others_load(empty_root: DataRoot) -> None:
    sensor = LoadedOnce(empty_root)
    drop(empty_root, "dim_noc.csv", b"a,b\n1,2\n")  # the gold name of the declared table noc_structure
    drop(empty_root, "new_files.csv", b"a,b\n1,2\n")  # the family's own name
    drop(empty_root, "a-b.csv", b"a,b\n1,2\n")  # both would be `a_b`
    drop(empty_root, "a_b.csv", b"a,b\n3,4\n")
    drop(empty_root)
    sensor.tick()
    result = sensor.tick()
    assert [request.partition_key for request in result.run_requests] == ["skills_arrived"]
    assert list(result.dynamic_partitions_requests[0].partition_keys) == ["skills_arrived"]
    assert sensor.pending() == {}  # every file handled: requested or refused with its reason
    said = "\n".join(sensor.logs)
    for expected in [
        "source/dim_noc.csv: refused: its default table name 'dim_noc' is the gold name of table 'noc_structure'",
        "source/new_files.csv: refused: its default table name 'new_files' is the asset family 'new_files'",
        "source/a-b.csv: refused: its default table name 'a_b' is also that of source/a_b.csv; rename one",
        "source/a_b.csv: refused: its default table name 'a_b' is also that of source/a-b.csv; rename one",
    ]:
        assert expected in said


def test_a_tick_with_only_refusals_says_so(empty_root: DataRoot) -> None:
    sensor = LoadedOnce(empty_root)
    drop(empty_root, "dim_noc.csv", b"a,b\n1,2\n")
    sensor.tick()
    result = sensor.tick()
    assert result.run_requests == [] and not result.dynamic_partitions_requests
    assert result.skip_message == (
        "1 file(s) refused: source/dim_noc.csv: refused: its default table name 'dim_noc' is the gold name of "
        "table 'noc_structure'; declare it in the registry under another name"
    )


def test_after_a_reload_the_file_is_its_own_table_over_the_same_files(empty_root: DataRoot) -> None:
    sensor = LoadedOnce(empty_root)
    path = drop(empty_root)
    sensor.tick()
    (request,) = sensor.tick().run_requests
    assert sensor.run(request).success
    reloaded = build_definitions(empty_root)  # the code location reloaded: the file is a load-time table
    main = reloaded.resolve_job_def("medallion_pipeline").asset_layer.executable_asset_keys
    assert dg.AssetKey(["gold", "skills_arrived"]) in main
    sensor.defs = reloaded
    sensor.cursor = None  # even a sensor that sees every file again requests nothing: these bytes are in gold
    assert sensor.tick().run_requests == [] and sensor.tick().run_requests == []
    path.write_bytes(path.read_bytes().replace(b"Legislators", b"Legislators and councillors"))
    sensor.tick()
    (changed,) = sensor.tick().run_requests
    assert (changed.job_name, changed.partition_key) == (REFRESH_JOB, None)  # its own table now, not the family
    assert {key.to_user_string() for key in changed.asset_selection} == {
        f"{layer.value}/skills_arrived" for layer in LAYERS
    }
    assert sensor.run(changed).success
    assert len(CatalogManager(empty_root).list_batches("skills_arrived")) == 2  # one history across the reload
    with GoldQueryEngine(empty_root) as engine:
        titles = engine.query("SELECT oasis_label_final FROM skills_arrived WHERE oasis_code_final = '00010.00'")
    assert titles.item() == "Legislators and councillors"


def test_a_changed_arrival_is_requested_as_the_same_partition(empty_root: DataRoot) -> None:
    sensor = LoadedOnce(empty_root)
    path = drop(empty_root)
    sensor.tick()
    (first,) = sensor.tick().run_requests
    assert sensor.run(first).success
    path.write_bytes(path.read_bytes().replace(b"Legislators", b"Legislators and councillors"))
    sensor.tick()
    second = sensor.tick()
    (again,) = second.run_requests
    assert again.partition_key == first.partition_key and again.run_key != first.run_key
    assert again.run_key.split(":")[2] == str(path.stat().st_ctime_ns)  # keyed by this arrival
    assert sensor.run(again).success
    assert sensor.instance.get_dynamic_partitions("new_files") == ["skills_arrived"]


def test_jobs_keep_the_family_apart(empty_root: DataRoot) -> None:
    defs = build_definitions(empty_root)
    family = {f"{layer.value}/new_files" for layer in LAYERS}
    refresh = {key.to_user_string() for key in defs.resolve_job_def(REFRESH_JOB).asset_layer.executable_asset_keys}
    main = {
        key.to_user_string() for key in defs.resolve_job_def("medallion_pipeline").asset_layer.executable_asset_keys
    }
    new = {key.to_user_string() for key in defs.resolve_job_def(NEW_FILES_JOB).asset_layer.executable_asset_keys}
    assert new == family and not (family & refresh) and not (family & main)
    assert "gold/noc_unit_groups" in refresh


def test_the_watermark_passes_only_arrivals_handled(empty_root: DataRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three arrivals, a hashing budget of two per tick: the third waits, pending, below no watermark."""
    monkeypatch.setattr(sensors, "HASH_BYTES_PER_TICK", 100)
    sensor = LoadedOnce(empty_root)
    paths = []
    for index in range(3):  # apart in time: change times are coarse (a clock tick)
        paths.append(drop(empty_root, f"arrived_{index}.csv", b"a,b\n" + b"1,2\n" * 9))
        time.sleep(0.05)
    sensor.tick()
    first = sensor.tick()
    assert [request.partition_key for request in first.run_requests] == ["arrived_0", "arrived_1"]
    assert list(first.dynamic_partitions_requests[0].partition_keys) == ["arrived_0", "arrived_1"]
    assert list(sensor.pending()) == ["arrived_2.csv"]
    assert sensor.watermark() == paths[1].stat().st_ctime_ns < paths[2].stat().st_ctime_ns
    (last,) = sensor.tick().run_requests
    assert last.partition_key == "arrived_2" and sensor.pending() == {}
    assert sensor.watermark() == paths[2].stat().st_ctime_ns
    assert sorted(sensor.instance.get_dynamic_partitions("new_files")) == ["arrived_0", "arrived_1", "arrived_2"]


@pytest.mark.parametrize(
    ("key", "files", "message"),
    [
        ("../gold/x", [], "not a table name: table name '../gold/x' is not a safe identifier"),
        ("dim_noc", ["dim_noc.csv"], "the name 'dim_noc' is the gold name of table 'noc_structure'"),
        ("gone", [], "no file has the default table name 'gone' (moved or deleted?)"),
        ("a_b", ["a-b.csv", "a_b.csv"], "is also that of source/a_b.csv; rename one"),
    ],
)
def test_a_partition_without_exactly_one_file_of_its_name_is_refused(
    empty_root: DataRoot, key: str, files: list[str], message: str
) -> None:
    sources = collect_tables(both_registries(), empty_root.source_dir())  # loaded before the files arrived
    for name in files:
        drop(empty_root, name, b"a,b\n1,2\n")
    with pytest.raises(SourceDataError) as raised:
        partition_table(key, sources, empty_root.source_dir())
    assert message in str(raised.value)


def test_a_partition_uses_the_default_table_its_run_loaded(empty_root: DataRoot) -> None:
    """The sensor's load predates the file; the run's own load has the file's default table: the same one."""
    before = collect_tables(SourceRegistry.load(), empty_root.source_dir())
    path = empty_root.source_dir() / "sub" / "My File.csv"
    path.parent.mkdir()
    path.write_bytes(b"a,b\n1,2\n")
    built = partition_table("sub_my_file", before, empty_root.source_dir())
    reloaded = collect_tables(SourceRegistry.load(), empty_root.source_dir())
    loaded = partition_table("sub_my_file", reloaded, empty_root.source_dir())
    assert built == loaded
    assert (built.name, built.pattern, built.declared) == ("sub_my_file", "sub/My File.csv", False)


def test_a_folder_moved_in_is_loaded_though_its_files_are_older_than_the_watermark(
    empty_root: DataRoot, tmp_path: Path
) -> None:
    """Before: a moved folder keeps its files' change times, so files older than the watermark were never seen."""
    outside = tmp_path / "batch"
    outside.mkdir()
    (outside / "moved.csv").write_bytes(b"a,b\n1,2\n")
    time.sleep(0.05)
    sensor = LoadedOnce(empty_root)
    drop(empty_root)
    sensor.tick()
    assert [request.partition_key for request in sensor.tick().run_requests] == ["skills_arrived"]
    assert sensor.watermark() > (outside / "moved.csv").stat().st_ctime_ns
    os.rename(outside, empty_root.source_dir() / "batch")  # one filesystem: the files keep their change times
    sensor.tick()
    assert [request.partition_key for request in sensor.tick().run_requests] == ["batch_moved"]
    assert sensor.tick().run_requests == [] and sensor.pending() == {}
    assert SourceCursor.model_validate_json(sensor.cursor or "").folders == {
        "batch": (empty_root.source_dir() / "batch").stat().st_ino
    }


def test_a_fifo_beside_an_arrival_of_the_same_name_is_refused_alone(empty_root: DataRoot) -> None:
    sensor = LoadedOnce(empty_root)
    os.mkfifo(empty_root.source_dir() / "skills_arrived.txt")  # never opened; takes no name, as at load
    drop(empty_root)
    sensor.tick()
    (request,) = sensor.tick().run_requests
    assert request.partition_key == "skills_arrived" and sensor.pending() == {}
    assert "source/skills_arrived.txt: refused: not a regular file (a FIFO)" in sensor.logs
    assert sensor.run(request).success


def test_an_arrival_replaced_by_a_link_out_is_refused_by_name(empty_root: DataRoot) -> None:
    """Before: the run said no file had the default name "(moved or deleted?)", though the file was there."""
    sensor = LoadedOnce(empty_root)
    path = drop(empty_root)
    sensor.tick()
    (request,) = sensor.tick().run_requests
    path.unlink()
    path.symlink_to("/etc/passwd")  # between the tick and its run
    result = sensor.run(request)
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.message
    assert f"source/{NEW}: refused: a symbolic link to /etc/passwd, outside the source folder" in message
    assert "moved or deleted" not in message


@pytest.mark.parametrize("key", ["", None])
def test_a_run_without_a_partition_key_says_what_it_needs(empty_root: DataRoot, key: str | None) -> None:
    """Before: DagsterInvariantViolationError: Cannot access partition_key for a non-partitioned run."""
    result = (
        build_definitions(empty_root)
        .resolve_job_def(NEW_FILES_JOB)
        .execute_in_process(instance=dg.DagsterInstance.ephemeral(), partition_key=key, raise_on_error=False)
    )
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.message
    assert message.startswith("dagster._core.definitions.events.Failure: a run of the new_files family needs")
    assert "partition key" in message and "default table name" in message
