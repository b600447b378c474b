"""The gold query engine: views over gold parquet, read-only SQL, no file access beyond gold."""

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl
import pytest

from jobforge_dagster.errors import QueryError
from jobforge_dagster.layers import Layer
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.query.sandbox import open_duckdb
from jobforge_dagster.storage.data_root import DATA_ROOT_ENV, DataRoot
from jobforge_dagster_tests.conftest import Runner

WITH_PROVENANCE = ["_source_file", "_batch_id", "_ingested_at", "_source_row"]


@pytest.fixture
def engine(gold_root: DataRoot):
    config, gold = gold_root, gold_root.layer_dir(Layer.GOLD)
    frame = pl.DataFrame(
        {
            "noc_code": ["00010", "00011", "21211"],
            "_source_file": ["source/noc.csv", "source/noc.csv", "source/extra.csv"],
            "_batch_id": ["noc-a", "noc-a", "noc-b"],
            "_source_row": [1, 2, 1],
            "_ingested_at": pl.Series(
                ["2026-01-01T00:00:00", "2026-01-01T00:00:00", "2026-02-01T00:00:00"]
            ).str.to_datetime(time_zone="UTC"),
        }
    )
    frame.write_parquet(gold / "noc.parquet")
    frame.head(1).write_parquet(gold / "odd name; drop.parquet")
    with GoldQueryEngine(config, timeout_seconds=2) as engine:
        yield engine


def test_views_per_gold_file_with_quoted_names(engine: GoldQueryEngine) -> None:
    assert engine.list_tables() == ["noc", "odd name; drop"]
    assert engine.query('SELECT count(*) AS n FROM "odd name; drop"')["n"][0] == 1


def test_query_returns_polars(engine: GoldQueryEngine) -> None:
    result = engine.query("WITH c AS (SELECT noc_code FROM noc) SELECT * FROM c ORDER BY 1")
    assert isinstance(result, pl.DataFrame)
    assert result["noc_code"].to_list() == ["00010", "00011", "21211"]


def test_lineage(engine: GoldQueryEngine) -> None:
    lineage = engine.get_lineage("noc")
    assert lineage["source_files"] == {"source/extra.csv": 1, "source/noc.csv": 2}
    assert lineage["batches"] == ["noc-a", "noc-b"]
    assert lineage["row_count"] == 3
    assert lineage["first_ingested_at"] < lineage["last_ingested_at"]
    result = engine.query_with_lineage("SELECT noc_code FROM noc WHERE noc_code = '00010'")
    assert result["data"]["noc_code"].to_list() == ["00010"]
    assert result["tables"] == ["noc"] and result["lineage"]["noc"]["row_count"] == 3
    with pytest.raises(QueryError, match="no gold table"):
        engine.get_lineage("missing")


def test_register_picks_up_new_and_removed_files(engine: GoldQueryEngine) -> None:
    pl.DataFrame({"x": [1]}).write_parquet(engine.gold_dir / "later.parquet")
    (engine.gold_dir / "noc.parquet").unlink()
    assert engine.register_gold_tables() == ["later", "odd name; drop"]
    with pytest.raises(QueryError):
        engine.query("SELECT * FROM noc")


def watchdogs() -> int:
    return sum(thread.name == "gold-query-watchdog" for thread in threading.enumerate())


def test_connection_closes_after_close_and_after_a_failed_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = DataRoot(data_root=str(tmp_path / "data"))
    opened: list[duckdb.DuckDBPyConnection] = []

    @contextmanager
    def recording() -> Iterator[duckdb.DuckDBPyConnection]:
        with open_duckdb(":memory:") as connection:
            opened.append(connection)
            yield connection

    before = watchdogs()
    engine = GoldQueryEngine(config, recording)
    engine.close()
    engine.close()  # a second close does nothing
    with pytest.raises(duckdb.ConnectionException):
        opened[0].execute("SELECT 1")

    def broken(self: GoldQueryEngine) -> list[str]:
        raise RuntimeError("views failed")

    monkeypatch.setattr(GoldQueryEngine, "register_gold_tables", broken)
    with pytest.raises(RuntimeError, match="views failed"):
        GoldQueryEngine(config, recording)
    with pytest.raises(duckdb.ConnectionException):
        opened[1].execute("SELECT 1")
    assert watchdogs() == before


def test_config_defaults_to_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "env-root"
    (root / "gold").mkdir(parents=True)
    pl.DataFrame({"x": [1]}).write_parquet(root / "gold" / "t.parquet")
    monkeypatch.setenv(DATA_ROOT_ENV, str(root))
    with GoldQueryEngine() as engine:
        assert engine.gold_dir == root / "gold"
        assert engine.list_tables() == ["t"]


def test_query_with_provenance_adds_missing_columns(engine: GoldQueryEngine) -> None:
    result = engine.query_with_provenance("SELECT noc_code AS code FROM noc AS n WHERE noc_code <> '21211' ORDER BY 1")
    assert result.columns == ["code", *WITH_PROVENANCE]
    assert result["code"].to_list() == ["00010", "00011"]
    assert result["_source_row"].to_list() == [1, 2]
    assert result["_source_file"].to_list() == ["source/noc.csv", "source/noc.csv"]
    complete = engine.query_with_provenance("SELECT _batch_id, * EXCLUDE (_batch_id) FROM noc")
    assert complete.columns[0] == "_batch_id" and complete.height == 3  # already there: unchanged


def test_query_with_provenance_adds_source_line_when_gold_has_it(engine: GoldQueryEngine) -> None:
    frame = pl.DataFrame(
        {"x": [7], "_source_file": ["source/x.csv"], "_batch_id": ["b"], "_source_row": [1], "_source_line": [2]}
    ).with_columns(_ingested_at=pl.lit("2026-01-01T00:00:00").str.to_datetime(time_zone="UTC"))
    frame.write_parquet(engine.gold_dir / "lined.parquet")
    engine.register_gold_tables()
    assert engine.query_with_provenance("SELECT x FROM lined").columns == ["x", *WITH_PROVENANCE, "_source_line"]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) FROM noc",
        "SELECT DISTINCT noc_code FROM noc",
        "SELECT noc_code, count(*) FROM noc GROUP BY 1",
        'SELECT a.noc_code FROM noc a JOIN "odd name; drop" b USING (noc_code)',
        "WITH c AS (SELECT * FROM noc) SELECT noc_code FROM c",
        "SELECT noc_code FROM noc UNION ALL SELECT noc_code FROM noc",
        "SELECT 1 AS x",
    ],
)
def test_query_with_provenance_refuses_what_it_cannot_extend(engine: GoldQueryEngine, sql: str) -> None:
    with pytest.raises(QueryError, match="select _source_file, _batch_id, _ingested_at, _source_row"):
        engine.query_with_provenance(sql)


def test_query_with_provenance_names_columns_gold_lacks(engine: GoldQueryEngine) -> None:
    pl.DataFrame({"x": [1]}).write_parquet(engine.gold_dir / "bare.parquet")
    engine.register_gold_tables()
    with pytest.raises(QueryError, match="'bare' has no _source_file, _batch_id"):
        engine.query_with_provenance("SELECT x FROM bare")
    with pytest.raises(QueryError, match="only SELECT"):
        engine.query_with_provenance("DROP VIEW noc")


def test_db_path_lets_other_tools_open_gold_read_only(config: DataRoot, run: Runner, tmp_path: Path) -> None:
    run(config)
    db_path = tmp_path / "jobforge.duckdb"
    with GoldQueryEngine(config, db_path=db_path, timeout_seconds=5) as engine:
        assert "noc_unit_groups" in engine.list_tables()
        count = engine.query("SELECT count(*) AS n FROM noc_unit_groups")["n"][0]
        traced = engine.query_with_provenance("SELECT noc_code FROM noc_unit_groups")
        assert traced.columns == ["noc_code", *WITH_PROVENANCE, "_source_line"] and traced["_source_row"].min() == 1
        with pytest.raises(QueryError, match="(?i)permission|access|disabled"):
            engine.query("SELECT * FROM read_csv('/etc/passwd')")
        assert engine.query("SELECT current_setting('lock_configuration') AS l")["l"][0] is True
    with duckdb.connect(str(db_path), read_only=True) as outside:
        assert outside.sql("SELECT count(*) FROM gold.noc_unit_groups").fetchall()[0][0] == count > 0
        view_sql = outside.sql("SELECT sql FROM duckdb_views() WHERE view_name = 'noc_unit_groups'").fetchall()[0][0]
        assert str(config.layer_dir(Layer.GOLD).resolve() / "noc_unit_groups.parquet") in view_sql
    (config.layer_dir(Layer.GOLD) / "oasis_skills_sample.parquet").unlink()
    with GoldQueryEngine(config, db_path=db_path) as engine:  # a stale view from the last session is dropped
        assert "oasis_skills_sample" not in engine.list_tables()
    with duckdb.connect(str(db_path), read_only=True) as outside:
        names = {row[0] for row in outside.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        assert "oasis_skills_sample" not in names and "noc_unit_groups" in names
    with pytest.raises(ValueError, match="not both"):
        GoldQueryEngine(config, functools.partial(open_duckdb, ":memory:"), db_path=db_path)


def test_lineage_of_every_table_with_no_argument(engine: GoldQueryEngine) -> None:
    """The seed's call `GoldQueryEngine().get_lineage()`: every gold table's lineage, by table."""
    every = engine.get_lineage()
    assert list(every) == ["noc", "odd name; drop"]
    assert every["noc"] == engine.get_lineage("noc") and every["odd name; drop"]["row_count"] == 1
