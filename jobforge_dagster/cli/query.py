"""`jobforge query "SQL" [--format table|csv|json]`: one read-only SELECT over gold, in the same sandbox as
`GoldQueryEngine` (only a single SELECT runs; files outside gold/ cannot be read)."""

import argparse

import polars as pl

from jobforge_dagster.errors import QueryError
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.storage.data_root import DataRoot

NAME = "query"
FORMATS = ("table", "csv", "json")


def add_parser(commands: argparse._SubParsersAction) -> None:
    query = commands.add_parser(NAME, help="run one read-only SELECT over the gold tables")
    query.add_argument("sql", help="one SELECT statement, e.g. \"SELECT count(*) FROM dim_noc\"")
    query.add_argument("--format", choices=FORMATS, default="table", help="output format (default table)")


def formatted(frame: pl.DataFrame, form: str) -> str:
    """The result as a table for a terminal, CSV (with a header) or a JSON list of objects."""
    if form == "json":
        return frame.write_json()
    if form == "csv":
        try:
            return frame.write_csv().rstrip("\n")
        except pl.exceptions.PolarsError as error:
            raise QueryError(f"the result cannot be written as CSV ({error}); use --format json") from error
    with pl.Config(tbl_rows=-1, tbl_cols=-1, fmt_str_lengths=200, tbl_width_chars=-1):
        return str(frame)


def run(arguments: argparse.Namespace, root: DataRoot) -> tuple[int, str]:
    with GoldQueryEngine(root) as engine:
        frame = engine.query(arguments.sql)
    return 0, formatted(frame, arguments.format)
