"""The gold views an engine creates: in schema `gold` (first on the search path, so unqualified names still find
them), each marked as the engine's own with a comment. Only marked views are ever replaced or dropped: a DuckDB
file's own tables and views stay as they were."""

import duckdb

from jobforge_dagster.query.sql import quote_identifier, quote_literal

#: The schema of the gold views, first on the search path: a database file's own objects are left alone.
GOLD_SCHEMA = "gold"
#: The end of the comment on every view the engine creates (after the table's description, in a database file):
#: only views carrying it are ever replaced or dropped.
VIEW_MARK = "jobforge: a view of a gold parquet file"


def gold_view(name: str, database: str) -> str:
    """The view of a gold table, fully qualified (a database file may itself be named `gold`)."""
    return f"{quote_identifier(database)}.{GOLD_SCHEMA}.{quote_identifier(name)}"


def prepare_schema(connection: duckdb.DuckDBPyConnection) -> str:
    """Create schema `gold` in the connection's database and put it first on the search path (before the
    configuration is locked); the database's name."""
    database = connection.execute("SELECT current_database()").fetchall()[0][0]
    quoted = quote_identifier(database)
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}.{GOLD_SCHEMA}")
    connection.execute(f"SET search_path = {quote_literal(f'{quoted}.{GOLD_SCHEMA},{quoted}.main')}")
    return database


def marked_views(connection: duckdb.DuckDBPyConnection) -> set[str]:
    """The views an engine created in this database in an earlier session (none in memory)."""
    rows = connection.execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = ?"
        " AND database_name = current_database() AND ends_with(comment, ?)",
        [GOLD_SCHEMA, VIEW_MARK],
    ).fetchall()
    return {name for (name,) in rows}


def foreign_objects(connection: duckdb.DuckDBPyConnection) -> set[str]:
    """Lower-cased names of the objects in schema `gold` that no engine created (a database file's own)."""
    rows = connection.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = $schema AND database_name = current_database()"
        " UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = $schema"
        " AND database_name = current_database() AND NOT coalesce(ends_with(comment, $mark), false)",
        {"schema": GOLD_SCHEMA, "mark": VIEW_MARK},
    ).fetchall()
    return {name.lower() for (name,) in rows}


def create_view(connection: duckdb.DuckDBPyConnection, view: str, parquet: str, description: str = "") -> None:
    """Create or replace the marked view `view` (qualified) over the parquet file `parquet`; its comment is
    `description` (if any), then the mark."""
    connection.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM read_parquet({quote_literal(parquet)})")
    comment = f"{description}\n{VIEW_MARK}" if description else VIEW_MARK
    connection.execute(f"COMMENT ON VIEW {view} IS {quote_literal(comment)}")
