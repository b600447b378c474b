"""deploy/postgres/dagster.yaml on a real PostgreSQL server: the main job, a sensor run under dagster-daemon and
two concurrent runs, each stored in PostgreSQL (no sqlite run history)."""

import itertools
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml

from jobforge_dagster_tests.conftest import REPO, SAMPLE_SOURCES
from jobforge_dagster_tests.dagster_cli import DagsterCli
from jobforge_dagster_tests.end_to_end.test_daemon import sensor_under_a_daemon
from jobforge_dagster_tests.postgres_server import PostgresServer, throwaway_postgres, unavailable

pytest.importorskip("dagster_postgres", reason="dagster-postgres is not installed (pip install -e '.[postgres]')")
pytest.importorskip("psycopg2", reason="psycopg2 is not installed (pip install -e '.[postgres]')")

DEPLOY_YAML = REPO / "deploy" / "postgres" / "dagster.yaml"
TABLES = ("noc_unit_groups", "oasis_skills_sample")
_databases = itertools.count()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """One throwaway server for the module; each test gets its own database."""
    if reason := unavailable():
        pytest.skip(reason)
    with throwaway_postgres() as server:
        yield server


def postgres_cli(home: Path, data_root: Path, server: PostgresServer, **extra_env: str) -> DagsterCli:
    """The dagster CLI with a fresh DAGSTER_HOME holding deploy/postgres/dagster.yaml and a new database."""
    database_env = server.create_database(f"dagster_{next(_databases)}")
    cli = DagsterCli.fresh(home, data_root, **database_env, **extra_env)
    shutil.copy(DEPLOY_YAML, home / "dagster.yaml")
    return cli


@pytest.fixture
def pg_cli(tmp_path: Path, postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> DagsterCli:
    """A postgres-backed CLI on a data root holding the samples; the DAGSTER_PG_* variables also set here so that
    `cli.instance()` reaches the same database."""
    cli = postgres_cli(tmp_path / "home", tmp_path / "data", postgres)
    shutil.copytree(SAMPLE_SOURCES, cli.data_root / "source")
    for name, value in cli.extra_env.items():
        monkeypatch.setenv(name, value)
    return cli


def rows(server: PostgresServer, cli: DagsterCli, sql: str) -> list[tuple]:
    """Rows of a query on the CLI's database, straight from PostgreSQL."""
    connection = server.connect(cli.extra_env["DAGSTER_PG_DB"])
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        connection.close()


def assert_no_sqlite_history(cli: DagsterCli) -> None:
    assert not list(cli.home.rglob("*.db")), "run history went to sqlite, not PostgreSQL"


def test_deploy_yaml_keeps_the_default_limits() -> None:
    """Same run and pool concurrency, run monitoring and telemetry as the repository's dagster.yaml."""
    default, deploy = (yaml.safe_load(path.read_text()) for path in (REPO / "dagster.yaml", DEPLOY_YAML))
    for section in ("concurrency", "run_coordinator", "run_monitoring", "telemetry"):
        assert deploy[section] == default[section], section
    database = deploy["storage"]["postgres"]["postgres_db"]
    assert {key: value["env"] for key, value in database.items()} == {
        "username": "DAGSTER_PG_USER",
        "password": "DAGSTER_PG_PASSWORD",
        "hostname": "DAGSTER_PG_HOST",
        "db_name": "DAGSTER_PG_DB",
        "port": "DAGSTER_PG_PORT",
    }


def test_main_job_on_postgres(pg_cli: DagsterCli, postgres: PostgresServer) -> None:
    done = pg_cli.run("job", "execute", "-m", "jobforge_dagster", "-j", "medallion_pipeline")
    assert done.returncode == 0, done.stderr[-3000:]
    for table in TABLES:
        assert (pg_cli.data_root / "gold" / f"{table}.parquet").exists()
    ((run_id, job, status),) = rows(postgres, pg_cli, "SELECT run_id, pipeline_name, status FROM runs")
    assert (job, status) == ("medallion_pipeline", "SUCCESS")
    materialized = rows(
        postgres,
        pg_cli,
        f"SELECT asset_key FROM event_logs WHERE run_id = '{run_id}' AND dagster_event_type = 'ASSET_MATERIALIZATION'",
    )
    assert {f'["gold", "{table}"]' for table in TABLES} <= {key for (key,) in materialized}
    instance = pg_cli.instance()
    engine = [entry.message for entry in instance.all_logs(run_id) if entry.dagster_event_type == "ENGINE_EVENT"]
    assert any("in process" in message for message in engine), "the default executor is no longer in-process"
    assert instance.event_log_storage.get_concurrency_info("table_noc_unit_groups").slot_count == 1
    assert_no_sqlite_history(pg_cli)


def test_sensor_run_on_postgres(tmp_path: Path, postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """dagster-daemon on the postgres instance picks up a dropped file and runs its table, once."""
    cli = postgres_cli(tmp_path / "home", tmp_path / "data", postgres, JOBFORGE_SENSOR_INTERVAL_SECONDS="1")
    for name, value in cli.extra_env.items():
        monkeypatch.setenv(name, value)
    sensor_under_a_daemon(cli, monkeypatch)
    assert rows(postgres, cli, "SELECT pipeline_name, status FROM runs") == [("table_refresh", "SUCCESS")]
    assert rows(postgres, cli, "SELECT count(*) FROM job_ticks WHERE status = 'SUCCESS'")[0][0] >= 1
    assert_no_sqlite_history(cli)


def materialize(cli: DagsterCli, table: str) -> subprocess.Popen:
    """`dagster asset materialize` of one table's four layers, started."""
    selection = ",".join(f"{layer}/{table}" for layer in ("staged", "bronze", "silver", "gold"))
    return cli.start("asset", "materialize", "-m", "jobforge_dagster", "--select", selection)


def test_two_concurrent_runs_on_postgres(pg_cli: DagsterCli, postgres: PostgresServer) -> None:
    """Two tables materialized by two processes at once: both succeed, both recorded, no pool slot left held.

    The tables are created first, as docs/deployment.md says (`dagster instance migrate`): Dagster creates them on
    first use, and two processes doing so at the same moment on an empty database collide."""
    migrated = pg_cli.run("instance", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    processes = [materialize(pg_cli, table) for table in TABLES]
    for process in processes:
        _, errors = process.communicate(timeout=300)
        assert process.returncode == 0, errors[-3000:]
    statuses = rows(postgres, pg_cli, "SELECT status FROM runs")
    assert sorted(statuses) == [("SUCCESS",), ("SUCCESS",)]
    instance = pg_cli.instance()
    for table in TABLES:
        assert (pg_cli.data_root / "gold" / f"{table}.parquet").exists()
        assert instance.get_latest_materialization_event(dg.AssetKey(["gold", table])) is not None
        assert instance.event_log_storage.get_concurrency_info(f"table_{table}").active_slot_count == 0
