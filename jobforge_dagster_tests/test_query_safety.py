"""Query safety: SQL users read gold and nothing else; hostile names cannot inject SQL; long queries stop."""

from pathlib import Path

import polars as pl
import pytest

from jobforge_dagster.data_root import DataRoot
from jobforge_dagster.layers import Layer
from jobforge_dagster.query import GoldQueryEngine, QueryError, quote_identifier


@pytest.fixture
def engine(tmp_path: Path):
    config = DataRoot(data_root=str(tmp_path / "data"))
    gold = config.layer_dir(Layer.GOLD)
    gold.mkdir(parents=True)
    pl.DataFrame({"noc_code": ["00010", "00011", "21211"]}).write_parquet(gold / "noc.parquet")
    pl.DataFrame({"x": [1]}).write_parquet(gold / 'evil"; DROP VIEW noc; --.parquet')
    (tmp_path / "secret.csv").write_text("a\n1\n")
    with GoldQueryEngine(config, timeout_seconds=2) as engine:
        yield engine


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE t AS SELECT 1",
        "DROP VIEW noc",
        "INSERT INTO noc VALUES ('1')",
        "DELETE FROM noc",
        "COPY noc TO 'out.csv'",
        "ATTACH 'other.db'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "PRAGMA version",
        "SELECT 1; SELECT 2",
        "SELECT 1; DROP VIEW noc",
    ],
)
def test_refuses_anything_but_one_select(engine: GoldQueryEngine, sql: str) -> None:
    with pytest.raises(QueryError):
        engine.query(sql)
    assert engine.query("SELECT count(*) AS n FROM noc")["n"][0] == 3


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM '{root}/secret.csv'",
        "SELECT * FROM read_csv('{root}/data/gold/../../secret.csv')",
    ],
)
def test_refuses_files_outside_gold(engine: GoldQueryEngine, sql: str) -> None:
    root = engine.gold_dir.parent.parent
    with pytest.raises(QueryError, match="(?i)permission|access|disabled"):
        engine.query(sql.format(root=root))


def test_bad_sql_and_timeout_give_clear_errors(engine: GoldQueryEngine) -> None:
    with pytest.raises(QueryError, match="parse"):
        engine.query("SELEC oops")
    with pytest.raises(QueryError, match="failed"):
        engine.query("SELECT missing_column FROM noc")
    with pytest.raises(QueryError, match="cancelled"):
        engine.query("SELECT count(*) FROM range(100000000000) a, range(100000) b")


def test_hostile_table_name_is_a_quoted_identifier(engine: GoldQueryEngine) -> None:
    hostile = 'evil"; DROP VIEW noc; --'
    assert hostile in engine.list_tables()
    assert engine.query(f"SELECT x FROM {quote_identifier(hostile)}")["x"].to_list() == [1]
    assert engine.query("SELECT count(*) AS n FROM noc")["n"][0] == 3  # the name did not run as SQL


def test_comment_and_string_tricks_stay_one_select(engine: GoldQueryEngine) -> None:
    assert engine.query("SELECT ';DROP VIEW noc' AS s -- ; DROP VIEW noc")["s"][0] == ";DROP VIEW noc"
    with pytest.raises(QueryError):
        engine.query("SELECT 1 /* ; */ ; DROP VIEW noc")
    assert engine.query("SELECT count(*) AS n FROM noc")["n"][0] == 3
