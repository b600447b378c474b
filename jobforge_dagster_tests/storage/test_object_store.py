"""The data root and the sources on S3-compatible object storage: a real S3 HTTP endpoint (moto_server) on
loopback, reached through the standard AWS variables only."""

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.errors import ConfigurationError, QueryError
from jobforge_dagster.layers import Layer
from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.scan import scan_source
from jobforge_dagster.storage.atomic import atomic_group
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.trace.tracer import Tracer
from jobforge_dagster_tests.conftest import SAMPLE_SOURCES
from jobforge_dagster_tests.postgres_server import free_port
from jobforge_dagster_tests.s3_server import S3Server, throwaway_s3, unavailable

pytest.importorskip("s3fs", reason="s3fs is not installed (pip install -e '.[s3]')")

TABLES = ("noc_unit_groups", "oasis_skills_sample")
POOLS = {"concurrency": {"pools": {"default_limit": 1}}}


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    if reason := unavailable():
        pytest.skip(reason)
    with throwaway_s3() as server:
        yield server


@pytest.fixture
def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The endpoint, with only the standard AWS variables set for this test."""
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    return s3_server


def upload_samples(server: S3Server, prefix: str) -> None:
    client = server.client()
    for path in sorted(SAMPLE_SOURCES.glob("*.csv")):
        client.upload_file(str(path), server.bucket, f"{prefix}/{path.name}")


def run_pipeline(root: DataRoot, settings: dict | None = POOLS) -> dg.ExecuteInProcessResult:
    job = build_definitions(root).resolve_job_def("medallion_pipeline")
    instance = dg.DagsterInstance.ephemeral(settings=settings)
    return job.execute_in_process(instance=instance, raise_on_error=False)


def test_pipeline_writes_every_layer_to_s3(s3: S3Server) -> None:
    upload_samples(s3, "run1/data/source")
    root = DataRoot(data_root=s3.url("run1/data"))
    result = run_pipeline(root)
    assert result.success, [event.message for event in result.all_events if event.is_failure]
    keys = s3.keys("run1/data")
    for table in TABLES:
        for layer in ("staged", "bronze", "silver"):
            assert f"run1/data/{layer}/{table}.parquet" in keys
            assert any(key.startswith(f"run1/data/{layer}/{table}/batch=") for key in keys), (layer, table)
        assert f"run1/data/catalog/tables/staged/{table}.json" in keys
        assert any(key.startswith(f"run1/data/raw/{table}/") for key in keys), table
    assert {f"run1/data/gold/{table}.parquet" for table in TABLES} <= set(keys)
    assert any(key.startswith("run1/data/catalog/lineage/") for key in keys)
    assert any(key.startswith("run1/data/catalog/batches/") for key in keys)
    assert any(key.startswith("run1/data/catalog/checks/") for key in keys)
    assert not [key for key in keys if key.endswith(".tmp")], "a temporary key was written"
    gold = pl.read_parquet(root.table_path(Layer.GOLD, "noc_unit_groups").read_bytes())
    assert gold.height > 0 and "_batch_id" in gold.columns
    with GoldQueryEngine(root) as engine:  # the trace reads every layer, the catalog and the archive on S3
        (found,) = Tracer(root, engine).trace("noc_unit_groups", "noc_code = '00012'")
    assert found["source"]["file"] == "source/noc_unit_groups_sample.csv" and found["source"]["line"] == 4
    assert found["source"]["cells"]["Code - NOC 2021 V1.0"] == "00012"
    assert found["source"]["read_from"].startswith("raw/noc_unit_groups/")
    assert [layer["layer"] for layer in found["layers"]] == ["staged", "bronze", "silver", "gold"]
    assert all(check["passed"] for check in found["checks"])


def test_atomic_group_on_s3_uploads_all_in_order_or_nothing(s3: S3Server) -> None:
    """Objects of a group appear only once every one was written, the last one last; a failure uploads none."""
    root = DataRoot(data_root=s3.url("group"))
    first, second = root.root / "a.json", root.root / "b.json"
    with pytest.raises(RuntimeError, match="disk full"), atomic_group() as group:
        group.path(first).write_text("1")
        raise RuntimeError("disk full")
    assert s3.keys("group") == []
    with atomic_group() as group:
        group.path(first).write_text("1")
        group.path(second).write_text("2")
        assert s3.keys("group") == []
    heads = [s3.client().head_object(Bucket=s3.bucket, Key=f"group/{name}") for name in ("a.json", "b.json")]
    assert [head["ContentLength"] for head in heads] == [1, 1]
    assert heads[0]["LastModified"] <= heads[1]["LastModified"]
    assert second.read_text() == "2"


def test_object_storage_without_pool_limits_is_refused(s3: S3Server) -> None:
    upload_samples(s3, "nopools/data/source")
    result = run_pipeline(DataRoot(data_root=s3.url("nopools/data")), settings=None)
    assert not result.success
    (refused,) = [event for event in result.all_events if event.event_type_value == "RESOURCE_INIT_FAILURE"]
    error = refused.event_specific_data.error.to_string()
    assert ConfigurationError.__name__ in error and "no pool limit" in error and "default_limit: 1" in error, error
    assert s3.keys("nopools/data/staged") == [], "a run without pool limits wrote to object storage"


@pytest.fixture
def s3_gold(s3: S3Server) -> DataRoot:
    """A data root on S3 whose gold prefix holds one table, and beside gold a silver object no query may read."""
    root = DataRoot(data_root=s3.url("query/data"))
    frame = pl.DataFrame({"noc_code": ["00010", "00011", "10010"], "teer": [0, 0, 1]})
    for layer in (Layer.GOLD, Layer.SILVER):
        with root.table_path(layer, "noc").open("wb") as handle:
            frame.write_parquet(handle)
    return root


def test_gold_query_engine_reads_gold_on_s3(s3_gold: DataRoot) -> None:
    with GoldQueryEngine(s3_gold) as engine:
        assert engine.list_tables() == ["noc"]
        counted = engine.query("SELECT teer, count(*) AS n FROM noc GROUP BY teer ORDER BY teer")
        assert counted.rows() == [(0, 2), (1, 1)]
        direct = engine.query(f"SELECT count(*) AS n FROM read_parquet('{s3_gold.table_path(Layer.GOLD, 'noc')}')")
        assert direct.item() == 3


@pytest.mark.parametrize(
    "reading",
    [
        "read_csv('/etc/passwd')",
        "read_parquet('s3://{bucket}/query/data/silver/noc.parquet')",
        "read_parquet('s3://{bucket}/query/data/gold/../silver/noc.parquet')",
        "read_parquet('s3://{bucket}/query/data/goldish/noc.parquet')",
    ],
)
def test_gold_query_engine_on_s3_refuses_files_outside_gold(s3_gold: DataRoot, s3: S3Server, reading: str) -> None:
    with GoldQueryEngine(s3_gold) as engine, pytest.raises(QueryError, match="Permission|disabled|not allowed"):
        engine.query(f"SELECT * FROM {reading.format(bucket=s3.bucket)}")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sources_read_from_s3(s3: S3Server, tmp_path: Path) -> None:
    """JOBFORGE_SOURCE_ROOT on S3, data root local: each object fetched once, hashed, archived, loaded."""
    upload_samples(s3, "sources1")
    root = DataRoot(data_root=str(tmp_path / "data"), source_root=s3.url("sources1"))
    result = run_pipeline(root)
    assert result.success, [event.message for event in result.all_events if event.is_failure]
    sample = SAMPLE_SOURCES / "noc_unit_groups_sample.csv"
    (batch,) = CatalogManager(root).list_batches("noc_unit_groups")
    assert batch.sha256 == sha256_of(sample)
    assert batch.source_file == "source/noc_unit_groups_sample.csv"
    assert batch.source_path == f"{s3.url('sources1')}/noc_unit_groups_sample.csv"
    archived = tmp_path / "data" / batch.archive_file
    assert archived.read_bytes() == sample.read_bytes()
    assert (tmp_path / "data" / "gold" / "noc_unit_groups.parquet").exists()


def test_sensor_lists_sources_on_s3_by_size_last_modified_and_etag(s3: S3Server) -> None:
    """The sensor's listing of an S3 source prefix: a stable object is requested with its sha256, and an object
    rewritten with other bytes of the same size (even within the same second) has another signature."""
    upload_samples(s3, "sensor/data/source")
    root = DataRoot(data_root=s3.url("sensor/data"))
    defs = build_definitions(root)
    sensor = defs.resolve_sensor_def("new_source_files")
    cursor, requests = None, []
    for _ in range(2):
        with dg.build_sensor_context(cursor=cursor, definitions=defs, resources=defs.resources) as context:
            result = sensor.evaluate_tick(context)
        cursor, requests = result.cursor, requests + list(result.run_requests or [])
    tags = {request.tags["jobforge/source_file"]: request.tags["jobforge/source_sha256"] for request in requests}
    assert tags == {f"source/{path.name}": sha256_of(path) for path in SAMPLE_SOURCES.glob("*.csv")}
    (before,) = [file for file in scan_source(root.source_dir()) if file.relative == "noc_unit_groups_sample.csv"]
    body = (SAMPLE_SOURCES / "noc_unit_groups_sample.csv").read_bytes()
    s3.client().put_object(Bucket=s3.bucket, Key="sensor/data/source/noc_unit_groups_sample.csv", Body=body.swapcase())
    (after,) = [file for file in scan_source(root.source_dir()) if file.relative == "noc_unit_groups_sample.csv"]
    assert after.size == before.size and after.signature != before.signature


def test_batches_kept_and_backfilled_on_s3(s3: S3Server) -> None:
    """Two versions of a source on S3 leave two kept batches (server-side copies); a backfill rebuilds the first."""
    root = DataRoot(data_root=s3.url("batches/data"))
    registry = SourceRegistry(tables=[TableSpec(name="noc", pattern="noc.csv", key_columns=["code"])])
    batches = []
    for content in ("code,title\n00010,Legislators\n", "code,title\n00010,Legislators\n00011,Senior managers\n"):
        s3.client().put_object(Bucket=s3.bucket, Key="batches/data/source/noc.csv", Body=content.encode())
        job = build_definitions(root, registry).resolve_job_def("medallion_pipeline")  # the job runs tables with a file
        instance = dg.DagsterInstance.ephemeral(settings=POOLS)
        assert job.execute_in_process(instance=instance).success
        batches.append(CatalogManager(root).list_batches("noc")[-1].batch_id)
    first, second = batches
    assert first != second
    kept = {key.rsplit("/", 1)[-1] for key in s3.keys("batches/data/silver/noc")}
    assert kept == {f"batch={first}.parquet", f"batch={second}.parquet"}
    backfill = {"ops": {"noc_medallion": {"config": {"batch_id": first}}}}
    assert job.execute_in_process(instance=dg.DagsterInstance.ephemeral(settings=POOLS), run_config=backfill).success
    gold = pl.read_parquet(root.table_path(Layer.GOLD, "noc").read_bytes())
    assert gold["_batch_id"].unique().to_list() == [first] and gold.height == 1


def test_a_failed_run_on_s3_leaves_the_previous_objects(s3: S3Server) -> None:
    """A source that breaks the strict CSV reading fails its table's run: every object of the table stays as the
    last good run left it, and the failure is logged in the catalog on S3."""
    upload_samples(s3, "failed/data/source")
    root = DataRoot(data_root=s3.url("failed/data"))
    assert run_pipeline(root).success
    client = s3.client()

    def outputs() -> dict[str, str]:
        """ETag of every layer object and catalog entry of the table."""
        places = [f"failed/data/{layer.value}/noc_unit_groups" for layer in Layer] + ["failed/data/catalog/tables"]
        keys = [key for key in s3.keys("failed/data") if key.startswith(tuple(places)) and "noc_unit_groups" in key]
        return {key: client.head_object(Bucket=s3.bucket, Key=key)["ETag"] for key in keys}

    before = outputs()
    assert len(before) == 4 + 3 + 4  # four layer files, three kept batches, four catalog entries
    broken = b'Level,Hierarchical structure,Code - NOC 2021 V1.0\n1,"unclosed,00010\n'
    client.put_object(Bucket=s3.bucket, Key="failed/data/source/noc_unit_groups_sample.csv", Body=broken)
    assert not run_pipeline(root).success
    assert outputs() == before
    failed = [log for log in CatalogManager(root).get_lineage_logs(table="noc_unit_groups") if log.status == "failed"]
    assert failed and "noc_unit_groups_sample.csv" in " ".join(failed[-1].errors)


def without_credentials(tmp_path: Path, endpoint: str) -> dict[str, str]:
    """The environment of a process that finds no AWS credentials anywhere (no variables, files or metadata)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    nowhere = str(tmp_path / "no-aws-files")
    return env | {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_CONFIG_FILE": nowhere,
        "AWS_SHARED_CREDENTIALS_FILE": nowhere,
        "AWS_EC2_METADATA_DISABLED": "true",
        "JOBFORGE_DATA_ROOT": "s3://jobforge/nocredentials/data",
    }


def run_program(program: str, *args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    executable = Path(sys.executable).with_name(program)
    return subprocess.run([str(executable), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("reach", ["no credentials", "no endpoint"])
def test_object_storage_that_cannot_be_reached_is_one_line(s3: S3Server, tmp_path: Path, reach: str) -> None:
    """Before: a traceback of 100-220 lines when the code location loaded, and one with exit 1 from jobforge trace."""
    env = without_credentials(tmp_path, s3.endpoint)
    if reach == "no endpoint":
        env |= {**s3.env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}  # nothing listens there
    said = "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    said = said if reach == "no credentials" else f"the endpoint {env['AWS_ENDPOINT_URL']} cannot be reached"
    trace = run_program("jobforge", "trace", "dim_noc", "--where", "true", env=env, cwd=tmp_path)
    assert trace.returncode == 2, trace.stderr[-3000:]
    (line,) = trace.stderr.strip().splitlines()
    assert line.startswith(f"jobforge trace: s3://jobforge/nocredentials/data/gold: {said}")
    load = run_program("dagster", "definitions", "validate", "-m", "jobforge_dagster", env=env, cwd=tmp_path)
    assert load.returncode != 0
    assert f"s3://jobforge/nocredentials/data/source: {said}" in load.stderr + load.stdout
    assert len((load.stderr + load.stdout).splitlines()) < 20, load.stderr
