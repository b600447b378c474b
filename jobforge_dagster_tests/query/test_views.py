"""The gold views in a DuckDB file: kept in schema `gold`, marked as the engine's own, and nothing else touched."""

from pathlib import Path

import duckdb

from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.conftest import Runner


def test_db_path_keeps_what_the_engine_did_not_create(config: DataRoot, run: Runner, tmp_path: Path) -> None:
    """Before: the user's own view was dropped, and their table `noc_unit_groups` made gold's skipped."""
    run(config)
    db_path = tmp_path / "mine.duckdb"
    with duckdb.connect(str(db_path)) as own:
        own.execute("CREATE TABLE noc_unit_groups AS SELECT 'mine' AS who")
        own.execute("CREATE VIEW my_view AS SELECT 42 AS answer")
        own.execute("CREATE SCHEMA gold")
        own.execute("CREATE TABLE gold.oasis_skills_sample AS SELECT 'also mine' AS who")
    for _ in range(2):  # a second session finds its own views, and still only those
        with GoldQueryEngine(config, db_path=db_path) as engine:
            assert list(engine.skipped_tables) == ["oasis_skills_sample"]
            assert "gold.oasis_skills_sample already exists" in engine.skipped_tables["oasis_skills_sample"]
            assert engine.query("SELECT count(*) AS n FROM noc_unit_groups")["n"][0] == 12
    with duckdb.connect(str(db_path), read_only=True) as outside:
        assert outside.sql("SELECT who FROM main.noc_unit_groups").fetchall() == [("mine",)]
        assert outside.sql("SELECT answer FROM my_view").fetchall() == [(42,)]
        assert outside.sql("SELECT who FROM gold.oasis_skills_sample").fetchall() == [("also mine",)]
        assert outside.sql("SELECT count(*) FROM gold.noc_unit_groups").fetchall() == [(12,)]
