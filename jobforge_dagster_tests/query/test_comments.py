"""The data dictionary as DuckDB comments in the file `GoldQueryEngine(db_path=...)` keeps, read back by another
connection as BI tools read them (`duckdb_views().comment`, `duckdb_columns().comment`)."""

from pathlib import Path

import duckdb

from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.query.views import VIEW_MARK
from jobforge_dagster.storage.data_root import DataRoot


def comments(path: Path) -> tuple[dict[str, str | None], dict[tuple[str, str], str | None]]:
    """(view -> comment, (view, column) -> comment) of the gold views in a database file."""
    with duckdb.connect(str(path), read_only=True) as connection:
        views = dict(connection.execute("SELECT view_name, comment FROM duckdb_views() WHERE NOT internal").fetchall())
        columns = connection.execute(
            "SELECT c.table_name, c.column_name, c.comment FROM duckdb_columns() c "
            "JOIN duckdb_views() v ON v.view_name = c.table_name AND v.schema_name = c.schema_name WHERE NOT v.internal"
        ).fetchall()
    return views, {(view, column): comment for view, column, comment in columns}


def test_every_gold_column_is_commented_in_english_and_french(gold: DataRoot, tmp_path: Path) -> None:
    database = tmp_path / "jobforge.duckdb"
    for _ in range(2):  # the second engine recognises the views as its own (the mark ends their comment)
        with GoldQueryEngine(gold, db_path=database) as engine:
            assert engine.skipped_tables == {}
    views, columns = comments(database)
    assert views["noc_unit_groups"].endswith(f"\n{VIEW_MARK}") and views["oasis_skills_sample"] == VIEW_MARK
    assert set(views) == {"noc_unit_groups", "oasis_skills_sample"}
    english, french = views["noc_unit_groups"].split("\n")[:2]
    assert english.startswith("Small sample of NOC 2021 unit groups") and "Part of the JobForge repository" in english
    assert french.startswith("Petit échantillon de groupes de base de la CNP 2021")
    assert len(columns) == 11 + 13
    assert [key for key, comment in columns.items() if not comment or len(comment.split("\n")) != 2] == []
    assert columns[("noc_unit_groups", "title_fr")] == (
        "Title of the NOC 2021 group. In French.\nTitre du groupe de la CNP 2021. En français."
    )
    assert columns[("oasis_skills_sample", "writing")].startswith('Column "Writing  " of a source file that is not')


def test_an_in_memory_engine_writes_no_comment(gold: DataRoot) -> None:
    with GoldQueryEngine(gold) as engine:
        found = engine.query("SELECT count(comment) AS n FROM duckdb_columns() WHERE table_name = 'noc_unit_groups'")
    assert found["n"].to_list() == [0]
