"""Crash safety and concurrency: killed runs, concurrent runs and failed steps never corrupt what is on disk."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from jobforge_dagster.catalog.models import TransitionStatus
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import LAYERS, Layer
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.conftest import run_job
from jobforge_dagster_tests.dagster_cli import DagsterCli

TABLE = "occupations"


def write_source(path: Path, rows: int) -> None:
    """A NOC-like CSV of `rows` rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    index = pl.int_range(0, rows)
    pl.select(
        Code=(index % 100_000).cast(pl.String).str.zfill(5),
        Title=pl.lit("Software developers and programmers, including web developers"),
        Titre=pl.lit("Développeurs/développeuses et programmeurs/programmeuses de logiciels"),
        Employment=(index * 7 % 500_000).cast(pl.String),
    ).write_csv(path)


def start_cli(data_root: Path, home: Path, *extra: str) -> subprocess.Popen:
    return DagsterCli.fresh(home, data_root).job_execute(*extra)


def assert_disk_consistent(config: DataRoot) -> None:
    """Every visible parquet file is whole, and every catalog entry and success log matches its file."""
    for path in config.root.rglob("*.parquet"):
        if not any(part.startswith(".") for part in path.relative_to(config.root).parts):
            pq.read_table(path)  # raises on a partial file
    catalog = CatalogManager(config)
    for table in catalog.list_tables():
        path = config.root / table.file_path
        assert path.exists() and pq.read_metadata(path).num_rows == table.row_count, table.file_path
    for log in catalog.get_lineage_logs():
        if log.status is not TransitionStatus.FAILED:
            assert log.target_file is not None and (config.root / log.target_file).exists()


def test_sigkill_mid_write_keeps_previous_outputs_and_next_run_recovers(tmp_path: Path) -> None:
    config = DataRoot(data_root=str(tmp_path / "data"))
    source = config.source_dir() / f"{TABLE}.csv"
    write_source(source, 1_000)
    assert run_job(config).success
    previous = {layer: config.table_path(layer, TABLE).read_bytes() for layer in LAYERS}

    write_source(source, 1_500_000)  # large enough that each layer's write takes a while
    process = start_cli(config.root, tmp_path / "home")
    deadline = time.monotonic() + 120
    killed_during_write = False
    while process.poll() is None and time.monotonic() < deadline:
        if any(config.root.rglob("*.tmp")):
            process.send_signal(signal.SIGKILL)
            killed_during_write = True
            break
        time.sleep(0.005)
    process.wait(timeout=30)
    assert killed_during_write, "the run ended before a write could be interrupted"

    # a temporary file may be left, hidden; every visible file is whole and unchanged or fully replaced
    for layer in LAYERS:
        current = config.table_path(layer, TABLE).read_bytes()
        rows = pq.read_metadata(config.table_path(layer, TABLE)).num_rows
        assert current == previous[layer] or rows == 1_500_000
    assert_disk_consistent(config)
    with GoldQueryEngine(config) as engine:
        assert engine.query(f"SELECT count(*) AS n FROM {TABLE}")["n"][0] in (1_000, 1_500_000)

    assert run_job(config).success  # the next run completes and cleans up
    assert not list(config.root.rglob("*.tmp"))
    assert pq.read_metadata(config.table_path(Layer.GOLD, TABLE)).num_rows == 1_500_000
    assert_disk_consistent(config)


def test_two_runs_of_the_same_table_are_serialised(tmp_path: Path) -> None:
    config = DataRoot(data_root=str(tmp_path / "data"))
    write_source(config.source_dir() / f"{TABLE}.csv", 300_000)
    force = ("--tags", '{"jobforge/force": "true"}')  # the second run would otherwise find the table current
    first = start_cli(config.root, tmp_path / "home1", *force)
    second = start_cli(config.root, tmp_path / "home2", *force)
    assert first.wait(timeout=300) == 0, first.stderr.read()[-2000:]
    assert second.wait(timeout=300) == 0, second.stderr.read()[-2000:]
    logs = CatalogManager(config).get_lineage_logs(table=TABLE)
    runs: dict[str, list] = {}
    for log in logs:
        runs.setdefault(log.run_id, []).append(log)
    assert len(runs) == 2 and all(len(run) == 4 for run in runs.values())
    spans = sorted((min(log.started_at for log in run), max(log.completed_at for log in run)) for run in runs.values())
    assert spans[0][1] <= spans[1][0], "the two runs wrote the table at the same time"
    assert_disk_consistent(config)
    assert pq.read_metadata(config.table_path(Layer.GOLD, TABLE)).num_rows == 300_000


def test_failed_gold_step_leaves_last_good_gold_queryable(tmp_path: Path) -> None:
    config = DataRoot(data_root=str(tmp_path / "data"))
    source = config.source_dir() / "structure.csv"
    source.parent.mkdir(parents=True)
    registry = SourceRegistry(
        tables=[
            TableSpec(
                name="structure",
                pattern="structure.csv",
                renames={"code": "noc_code", "class_title": "title"},
                types={"level": "int8"},
                gold_name="dim_noc",
                gold_transform="dim_noc",
            )
        ]
    )
    source.write_text(
        "Level,Level name,Code,Class title,Definition\n1,Broad Category,0,Legislative and senior management,x\n"
    )
    assert run_job(config, registry).success
    source.write_text("Level,Level name,Code,Class title\n1,Broad Category,1,Business\n")  # no definition
    result = run_job(config, registry, raise_on_error=False)
    assert not result.success
    with GoldQueryEngine(config) as engine:
        assert engine.query("SELECT noc_code, title FROM dim_noc").rows() == [
            ("0", "Legislative and senior management")
        ]
    failed = [log for log in CatalogManager(config).get_lineage_logs() if log.status is TransitionStatus.FAILED]
    assert [(log.source_layer, log.target_layer) for log in failed] == [("silver", "gold")]
    assert "definition" in failed[0].errors[0]
    assert pq.read_metadata(config.table_path(Layer.SILVER, "structure")).num_rows == 1
    assert_disk_consistent(config)


def test_a_killed_run_does_not_keep_its_table_pool_slot(tmp_path: Path) -> None:
    """SIGKILL inside a step leaves the run STARTED with its `table_<name>` slot claimed; the next run of that
    table frees the slot of the dead run (marked failed) and completes instead of waiting forever."""
    cli = DagsterCli.fresh(tmp_path / "home", tmp_path / "data")
    write_source(cli.data_root / "source" / f"{TABLE}.csv", 1_500_000)
    first = cli.job_execute()
    deadline = time.monotonic() + 120
    while first.poll() is None and time.monotonic() < deadline and not any(cli.data_root.rglob("*.tmp")):
        time.sleep(0.005)
    assert first.poll() is None, "the first run ended before it could be killed inside a step"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    second = cli.run("job", "execute", "-m", "jobforge_dagster", "-j", "medallion_pipeline", timeout=240)
    assert second.returncode == 0, second.stderr[-3000:]
    runs = {run.run_id: run for run in cli.instance().get_runs()}
    statuses = sorted(run.status.value for run in runs.values())
    assert statuses == ["FAILURE", "SUCCESS"], "the killed run is marked failed, the next one succeeded"
    assert pq.read_metadata(DataRoot(data_root=str(cli.data_root)).table_path(Layer.GOLD, TABLE)).num_rows == 1_500_000


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 6 MiB tmpfs (needs root and mount; skipped, saying why, elsewhere), unmounted afterwards."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_keeps_every_layer_and_its_catalog_consistent(small_disk: Path, tmp_path: Path) -> None:
    """The disk fills up in the middle of a run: each layer keeps its previous file and the catalog JSON that
    describes it, no temporary is left, and the transition that could not be written is logged as failed."""
    config = DataRoot(data_root=str(small_disk / "data"))
    source = config.source_dir() / f"{TABLE}.csv"
    write_source(source, 1_000)
    assert run_job(config).success
    before = {layer: config.table_path(layer, TABLE).read_bytes() for layer in LAYERS}
    big = pl.select(code=pl.int_range(0, 60_000).cast(pl.String), text=pl.int_range(0, 60_000).hash().cast(pl.String))
    big.with_columns(pl.col("text") + pl.col("text").str.reverse()).write_csv(source)  # ~2.5 MB that compresses badly
    result = run_job(config, raise_on_error=False)
    assert not result.success
    error = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert "No space left on device" in error
    failed = [log for log in CatalogManager(config).get_lineage_logs() if log.status is TransitionStatus.FAILED]
    assert failed and "No space left on device" in failed[-1].errors[0]
    replaced = [layer for layer in LAYERS if config.table_path(layer, TABLE).read_bytes() != before[layer]]
    assert Layer.GOLD not in replaced, "gold stays the last good one"
    assert not [path for path in config.root.rglob("*.tmp")], "no temporary is left behind"
    assert_disk_consistent(config)
    for layer in LAYERS:  # each catalog entry describes the batch whose file is in place
        table = CatalogManager(config).load_table_metadata(TABLE, layer.value)
        stamp = pq.read_metadata(config.table_path(layer, TABLE)).metadata[b"jobforge.batch_id"].decode()
        assert table.batch_id == stamp, layer


def test_a_full_catalog_disk_leaves_the_layer_file_unreplaced(tmp_path: Path, monkeypatch) -> None:
    """The layer file fits but its catalog entry does not: the previous parquet stays, still described by its
    catalog JSON (a layer file is never renamed into place before its catalog entry and lineage log are written)."""
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")  # its event files would take the catalog disk's last pages
    config = DataRoot(data_root=str(tmp_path / "data"))
    source = config.source_dir() / f"{TABLE}.csv"
    write_source(source, 1_000)
    assert run_job(config).success
    catalog_dir, saved = config.catalog_dir(), tmp_path / "catalog-saved"
    shutil.copytree(catalog_dir, saved)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(catalog_dir)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        shutil.copytree(saved, catalog_dir, dirs_exist_ok=True)
        fill_leaving_two_pages(catalog_dir)
        before = config.table_path(Layer.STAGED, TABLE).read_bytes()
        write_source(source, 2_000)
        result = run_job(config, raise_on_error=False)
        assert not result.success
        assert config.table_path(Layer.STAGED, TABLE).read_bytes() == before, "staged was not replaced"
        staged = CatalogManager(config).load_table_metadata(TABLE, "staged")
        assert (
            staged.row_count == 1_000
            and staged.batch_id
            == pq.read_metadata(config.table_path(Layer.STAGED, TABLE)).metadata[b"jobforge.batch_id"].decode()
        )
        failed = [log for log in CatalogManager(config).get_lineage_logs() if log.status is TransitionStatus.FAILED]
        assert [(log.target_layer, "No space left on device" in log.errors[0]) for log in failed] == [("staged", True)]
        assert not list(config.root.rglob("*.tmp"))
    finally:
        subprocess.run(["umount", "-l", str(catalog_dir)], check=False)


def fill_leaving_two_pages(folder: Path) -> None:
    """Fill a filesystem so that two 4 KiB pages stay free: room for the new batch's record and one more small
    JSON file, not for the layer's catalog entry and its lineage log as well."""
    status = os.statvfs(folder)
    (folder / "filler").write_bytes(b"\0" * (status.f_bavail * status.f_frsize - 2 * 4096))


def test_the_next_run_removes_what_a_killed_writer_left_everywhere(tmp_path: Path) -> None:
    """Hidden temporaries of every kind a killed run can leave for a table are removed by its next run."""
    config = DataRoot(data_root=str(tmp_path / "data"))
    write_source(config.source_dir() / f"{TABLE}.csv", 100)
    leftovers = [
        config.table_path(Layer.STAGED, TABLE).with_name(f".{TABLE}.parquet.1.tmp"),
        config.root / "raw" / TABLE / ".abc.csv.2.tmp",
        config.catalog_dir() / "checks" / f".{TABLE}--x.json.3.tmp",
        config.catalog_dir() / "openlineage" / f".20261127T0000-{TABLE}.staged-START-x.json.4.tmp",
    ]
    other_table = config.catalog_dir() / "openlineage" / f".20261127T0000-{TABLE}_other.staged-START-x.json.5.tmp"
    for path in [*leftovers, other_table]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half")
    assert run_job(config).success
    assert [path for path in leftovers if path.exists()] == []
    assert other_table.exists(), "another table's temporaries are its own run's to remove"
