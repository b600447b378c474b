"""Issue 12's deployment on one machine, real servers on loopback: the 32 real files, PostgreSQL instance storage
(deploy/postgres/dagster.yaml), the multiprocess executor (`max_concurrent: 2`), and data root and sources on an
S3 endpoint (moto_server), reached through the standard AWS variables only."""

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from jobforge_dagster.errors import QueryError
from jobforge_dagster.layers import Layer
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.sources.tables import collect_tables, list_source_files
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.conftest import require_real_data
from jobforge_dagster_tests.end_to_end.test_postgres import postgres_cli, rows
from jobforge_dagster_tests.postgres_server import PostgresServer, throwaway_postgres
from jobforge_dagster_tests.postgres_server import unavailable as postgres_unavailable
from jobforge_dagster_tests.s3_server import S3Server, throwaway_s3
from jobforge_dagster_tests.s3_server import unavailable as s3_unavailable

pytest.importorskip("dagster_postgres", reason="dagster-postgres is not installed (pip install -e '.[postgres]')")
pytest.importorskip("s3fs", reason="s3fs is not installed (pip install -e '.[s3]')")

MULTIPROCESS = {"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[PostgresServer, S3Server]]:
    for reason in (postgres_unavailable(), s3_unavailable()):
        if reason:
            pytest.skip(reason)
    with throwaway_postgres() as postgres, throwaway_s3() as s3:
        yield postgres, s3


def upload_folder(s3: S3Server, folder: Path, prefix: str) -> None:
    client = s3.client()
    for name in list_source_files(folder):
        client.upload_file(str(folder / name), s3.bucket, f"{prefix}/{name}")


def expected_gold_tables(source: Path) -> set[str]:
    """The gold table of every registry table one of the real files feeds, and the OaSIS attribute dimension."""
    files = list_source_files(source)
    specs = collect_tables(SourceRegistry.load("noc2021"), source).tables
    return {spec.gold_table for spec in specs if any(spec.matches(name) for name in files)} | {"dim_oasis_attribute"}


def noc_codes(source: Path) -> int:
    """Codes in the NOC structure file, counted with Python's csv module."""
    text = (source / "noc_structure_en.csv").read_bytes().decode("utf-8-sig")
    return sum(1 for _ in csv.DictReader(io.StringIO(text, newline="")))


def test_real_files_on_postgres_multiprocess_and_s3(
    servers: tuple[PostgresServer, S3Server], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = require_real_data()
    postgres, s3 = servers
    prefix = "deploy"
    upload_folder(s3, source, f"{prefix}/noc2021")
    data_url, source_url = s3.url(f"{prefix}/data"), s3.url(f"{prefix}/noc2021")
    real = {"JOBFORGE_SOURCE_ROOT": source_url, "JOBFORGE_REGISTRY": "noc2021"}
    cli = postgres_cli(tmp_path / "home", data_url, postgres, **real, **s3.env)
    run_config = tmp_path / "multiprocess.yaml"
    run_config.write_text(yaml.safe_dump(MULTIPROCESS))
    done = cli.run(
        "job", "execute", "-m", "jobforge_dagster", "-j", "medallion_pipeline", "-c", str(run_config), timeout=1200
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "multiprocess executor" in done.stderr

    gold_keys = {key.removeprefix(f"{prefix}/data/gold/") for key in s3.keys(f"{prefix}/data/gold")}
    assert gold_keys == {f"{table}.parquet" for table in expected_gold_tables(source)}
    assert not list(tmp_path.rglob("*.parquet")), "a layer file was written to local disk"
    ((status,),) = rows(postgres, cli, "SELECT status FROM runs")
    assert status == "SUCCESS"
    materialized = rows(
        postgres, cli, "SELECT DISTINCT asset_key FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
    )
    assert {f'["gold", "{table}"]' for table in expected_gold_tables(source)} <= {key for (key,) in materialized}
    assert not list(cli.home.rglob("*.db")), "run history went to sqlite, not PostgreSQL"

    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    with GoldQueryEngine(DataRoot(data_root=data_url)) as engine:
        assert engine.query("SELECT count(*) AS n FROM dim_noc").item() == noc_codes(source) == 822
        for outside in ("read_csv('/etc/passwd')", f"read_parquet('{data_url}/silver/noc_structure.parquet')"):
            with pytest.raises(QueryError, match="Permission|disabled"):
                engine.query(f"SELECT * FROM {outside}")
    assert DataRoot(data_root=data_url).table_path(Layer.SILVER, "noc_structure").exists()
