"""Read-only SQL over the gold layer with DuckDB, returning polars frames."""

import functools
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import duckdb
import polars as pl

from jobforge_dagster.dictionary.model import Language
from jobforge_dagster.errors import QueryError
from jobforge_dagster.layers import BATCH_ID, INGESTED_AT, SOURCE_FILE, SOURCE_LINE, SOURCE_ROW, Layer
from jobforge_dagster.query.comments import comment_columns, table_comment
from jobforge_dagster.query.describe import catalog_entry, describe_table
from jobforge_dagster.query.sandbox import open_duckdb, private_temp_dir, sandbox
from jobforge_dagster.query.sql import lineage_queries, named_tables, quote_identifier, quote_literal
from jobforge_dagster.query.views import (
    GOLD_SCHEMA,
    create_view,
    foreign_objects,
    gold_view,
    marked_views,
    prepare_schema,
)
from jobforge_dagster.query.watchdog import Watchdog
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.files import not_regular
from jobforge_dagster.storage.object_store import reaching

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Opens the DuckDB connection an engine runs on, as a context manager (e.g. `DuckDBResource.get_connection`).
Connector = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


DEFAULT_TIMEOUT_SECONDS = 300.0
DEFAULT_MEMORY_LIMIT = "2GB"
DEFAULT_THREADS = 2
DEFAULT_MAX_TEMP_DIRECTORY_SIZE = "1GB"
DEFAULT_MAX_ROWS = 1_000_000
LOCK_GRACE_SECONDS = 30.0
REQUIRED_PROVENANCE = (SOURCE_FILE, BATCH_ID, INGESTED_AT, SOURCE_ROW)


class GoldQueryEngine:
    """One DuckDB connection with a view per gold parquet file (in schema `gold`, first on the search path, so a
    database file's own objects are left alone), sandboxed to the gold folder.

    Only single SELECT (or WITH ... SELECT) statements run. DuckDB itself refuses any file outside the
    gold folder (`enable_external_access = false`, `allowed_directories`), and `lock_configuration`
    stops SQL from changing that or the resource limits: `memory_limit`, `threads` and
    `max_temp_directory_size` bound one query's memory, cores and spill; `max_rows` bounds its result.

    The engine may be shared by threads: queries run one at a time, each under its own timeout. A query
    waits for the one before it at most `timeout_seconds + LOCK_GRACE_SECONDS`, then fails.
    """

    def __init__(
        self,
        config: DataRoot | None = None,
        connect: Connector | None = None,
        timeout_seconds: float | None = DEFAULT_TIMEOUT_SECONDS,
        *,
        db_path: str | Path | None = None,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        threads: int = DEFAULT_THREADS,
        max_temp_directory_size: str = DEFAULT_MAX_TEMP_DIRECTORY_SIZE,
        max_rows: int = DEFAULT_MAX_ROWS,
    ) -> None:
        """`config` None reads `$JOBFORGE_DATA_ROOT`; `db_path` keeps the views in that DuckDB file."""
        if connect is not None and db_path is not None:
            raise ValueError("pass connect or db_path, not both")
        self.data_root = config if config is not None else DataRoot.from_env()
        self.gold_dir = self.data_root.layer_dir(Layer.GOLD)
        self.db_path = Path(db_path).resolve() if db_path is not None else None
        self.timeout_seconds, self.max_rows = timeout_seconds, max_rows
        self.skipped_tables: dict[str, str] = {}
        self._lock = threading.RLock()
        self._stack = ExitStack()
        self.temp_dir = private_temp_dir(self._stack)
        limits = {
            "memory_limit": quote_literal(memory_limit),
            "threads": str(int(threads)),
            "temp_directory": quote_literal(str(self.temp_dir)),
            "max_temp_directory_size": quote_literal(max_temp_directory_size),
        }
        try:
            self._start(connect or functools.partial(open_duckdb, str(self.db_path or ":memory:")), limits)
        except BaseException:
            self._stack.close()
            raise

    def _start(self, connect: Connector, limits: dict[str, str]) -> None:
        """Open and sandbox the connection, start the watchdog, create the views."""
        self._connection = self._open(connect)
        self._database = prepare_schema(self._connection)
        filesystem = self.data_root.storage.duckdb_filesystem(self.gold_dir)
        sandbox(self._connection, limits, self._gold_prefix(), filesystem)
        self._watchdog = Watchdog(self._connection.interrupt)
        self._stack.callback(self._watchdog.stop)
        self._views = marked_views(self._connection)
        self.register_gold_tables()

    def _open(self, connect: Connector) -> duckdb.DuckDBPyConnection:
        """Enter the connection on the stack; also close it directly, as a connection context (dagster_duckdb's)
        may close it only when it exits without an exception."""
        connection = self._stack.enter_context(connect())
        self._stack.callback(connection.close)
        return connection

    def _gold_prefix(self) -> str:
        """The one folder (or object-store prefix) DuckDB may read, with a trailing slash."""
        return str(self.data_root.storage.resolved(self.gold_dir)) + "/"

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the connection for one query (or view refresh); refuse after waiting too long."""
        wait = -1.0 if self.timeout_seconds is None else self.timeout_seconds + LOCK_GRACE_SECONDS
        if not self._lock.acquire(timeout=wait):
            raise QueryError(f"another query on this engine was still running after {wait} s")
        try:
            yield
        finally:
            self._lock.release()

    def close(self) -> None:
        """Stop the watchdog and close the connection; a second call does nothing."""
        self._stack.close()

    def __enter__(self) -> "GoldQueryEngine":
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def register_gold_tables(self) -> list[str]:
        """(Re)create one view per readable `gold/<table>.parquet`; drop views whose file is gone or bad.

        A file DuckDB cannot read, or a symlink leading out of gold/, is skipped: its table goes into
        `skipped_tables` (name -> reason) with a logged warning, and the other tables stay queryable.
        """
        with reaching(self.gold_dir):  # object storage that cannot be reached: one line saying what to set
            files = {path.stem: path for path in sorted(self.gold_dir.glob("*.parquet"))}
        skipped: dict[str, str] = {}
        with self._exclusive():
            others = foreign_objects(self._connection)
            for name, path in files.items():
                reason = self._create_view(name, path, others)
                if reason is not None:
                    skipped[name] = reason
                    log.warning("gold table %r skipped: %s", name, reason)
            registered = files.keys() - skipped.keys()
            for gone in self._views - registered:
                self._connection.execute(f"DROP VIEW IF EXISTS {self.qualified(gone)}")
            self._views, self.skipped_tables = set(registered), skipped
        return sorted(registered)

    def register_gold_table(self, name: str) -> None:
        """(Re)create the view of one gold table, e.g. after a run replaced its file; a QueryError if it is
        missing or unreadable."""
        path = self.gold_dir / f"{name}.parquet"
        if not path.exists():
            raise QueryError(self.not_found(name))
        with self._exclusive():
            reason = self._create_view(name, path, foreign_objects(self._connection))
            if reason is not None:
                self._views.discard(name)
                self.skipped_tables[name] = reason
                raise QueryError(f"gold table {name!r} was skipped: {reason}")
            self._views.add(name)
            self.skipped_tables.pop(name, None)

    def not_found(self, table: str) -> str:
        """Why a table cannot be queried: no such gold file, and where the engine looked."""
        known = self.list_tables()
        return (
            f"no gold table {table!r} in {self.gold_dir} (known: {', '.join(known) if known else 'none'}); "
            f"{self.data_root.looked_in()}"
        )

    def _create_view(self, name: str, path: Path, others: set[str]) -> str | None:
        """Create or replace the view of one gold file; the reason it cannot be read (or that its name in schema
        `gold` is taken by an object in `others`), or None."""
        shown = Path(self.gold_dir.name, path.name).as_posix()
        try:
            target = self.data_root.storage.resolved(path)
        except OSError as error:  # a loop of links
            return f"{shown} cannot be read: {error.strerror}"
        if not str(target).startswith(self._gold_prefix()):
            return f"{shown} leads outside gold/ (to {target})"
        if (kind := not_regular(target)) is not None:  # DuckDB would block on a FIFO
            return f"{shown} {kind}"
        if name.lower() in others:
            return f"{GOLD_SCHEMA}.{name} already exists in {self.db_path}, and this engine did not create it"
        entry = catalog_entry(self.data_root, name) if self.db_path else None  # a file BI tools read: comments
        try:
            create_view(self._connection, self.qualified(name), str(target), table_comment(entry))
            if entry is not None:
                comment_columns(self._connection, self.qualified(name), entry)
        except duckdb.Error as error:
            return f"{shown} is not a readable parquet file: {str(error).splitlines()[0]}"
        return None

    def _refuse_skipped(self, sql: str) -> None:
        """A QueryError naming the file and reason when the query reads a skipped gold table."""
        if not self.skipped_tables:
            return
        named = named_tables(sql)
        for name, reason in sorted(self.skipped_tables.items()):
            if name.lower() in named:
                raise QueryError(f"gold table {name!r} was skipped: {reason}")

    def list_tables(self) -> list[str]:
        return sorted(self._views)

    @staticmethod
    def check_read_only(sql: str) -> None:
        """Refuse anything but exactly one SELECT statement, using DuckDB's own parser."""
        try:
            statements = duckdb.extract_statements(sql)
        except duckdb.Error as error:
            raise QueryError(f"cannot parse query: {error}") from error
        if len(statements) != 1:
            raise QueryError(f"exactly one statement is allowed, got {len(statements)}")
        kind = statements[0].type
        if kind != duckdb.StatementType.SELECT:
            raise QueryError(f"only SELECT queries are allowed, got {kind.name}")

    def query(self, sql: str) -> pl.DataFrame:
        """Run one read-only query and return its result (at most `max_rows` rows) as a polars DataFrame."""
        self.check_read_only(sql)
        self._refuse_skipped(sql)
        return self._fetch(sql)

    def _fetch(self, sql: str) -> pl.DataFrame:
        """Fetch at most `max_rows + 1` rows; more than `max_rows` is an error."""
        frame = self._guarded(lambda: self._first_rows(sql, self.max_rows + 1))
        if frame.height > self.max_rows:
            raise QueryError(f"query returns more than {self.max_rows} rows (max_rows); add a LIMIT or aggregate")
        return frame

    def _first_rows(self, sql: str, count: int) -> pl.DataFrame:
        """Read the result in Arrow batches and stop after `count` rows (a LIMIT around the query costs more)."""
        import pyarrow as pa  # loaded with the first query that asks for a prefix of its rows

        reader = self._connection.sql(sql).to_arrow_reader(count)
        batches, rows = [], 0
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            if rows >= count:
                break
        return pl.from_arrow(pa.Table.from_batches(batches, schema=reader.schema))

    def _guarded(self, action: Callable[[], T]) -> T:
        """Run `action` on the connection alone and under the timeout; DuckDB errors become QueryError."""
        with self._exclusive():
            self._watchdog.arm(self.timeout_seconds)
            try:
                return action()
            except duckdb.InterruptException as error:
                raise QueryError(f"query cancelled after {self.timeout_seconds} s") from error
            except duckdb.Error as error:
                raise QueryError(f"query failed: {error}") from error
            finally:
                self._watchdog.disarm()

    def query_with_provenance(self, sql: str) -> pl.DataFrame:
        """The query's result with the provenance of each row.

        `_source_file`, `_batch_id`, `_ingested_at`, `_source_row`, and `_source_line` when a gold table
        read has it, are appended when missing, if the query is a plain SELECT over one gold table (no
        join, set operation, CTE, GROUP BY, DISTINCT or aggregate); otherwise a QueryError asks for them.
        """
        self.check_read_only(sql)
        self._refuse_skipped(sql)
        tables = self._gold_tables_in(sql)
        line = [SOURCE_LINE] if any(SOURCE_LINE in self._columns(self._select_all(t)) for t in tables) else []
        present = set(self._columns(sql))
        missing = [column for column in (*REQUIRED_PROVENANCE, *line) if column not in present]
        return self._fetch(self._with_columns(sql, missing) if missing else sql)

    def _with_columns(self, sql: str, missing: list[str]) -> str:
        """`sql` with `missing` appended to its SELECT list, via DuckDB's JSON form of the statement."""
        hint = f"select {', '.join(missing)} from the gold table yourself"
        tree = self._serialize(sql)
        table = self._extendable_table(tree)
        if table is None:
            raise QueryError(
                "provenance columns are added only to a plain SELECT over one gold table"
                f" (no join, set operation, CTE, GROUP BY or DISTINCT); {hint}"
            )
        lacking = [column for column in missing if column not in self._columns(self._select_all(table))]
        if lacking:
            raise QueryError(f"gold table {table!r} has no {', '.join(lacking)}")
        extra = self._serialize("SELECT " + ", ".join(map(quote_identifier, missing)))
        tree["statements"][0]["node"]["select_list"] += extra["statements"][0]["node"]["select_list"]
        extended = self._guarded(lambda: self._scalar("SELECT json_deserialize_sql(?::JSON)", json.dumps(tree)))
        self.check_read_only(extended)
        try:
            self._columns(extended)
        except QueryError as error:
            raise QueryError(f"cannot add provenance columns to this query ({error}); {hint}") from error
        return extended

    def _extendable_table(self, tree: dict[str, Any]) -> str | None:
        """The gold view a serialized statement selects from, if it is one plain SELECT over it alone."""
        node = tree["statements"][0]["node"] if len(tree.get("statements", [])) == 1 else {}
        source = node.get("from_table") or {}
        if node.get("type") != "SELECT_NODE" or node["cte_map"]["map"] or source.get("type") != "BASE_TABLE":
            return None
        if node["group_expressions"] or node["group_sets"] or node.get("having") is not None:
            return None
        if any(modifier["type"] == "DISTINCT_MODIFIER" for modifier in node["modifiers"]):
            return None
        if source.get("catalog_name") not in ("", None, self._database):
            return None
        if (source.get("schema_name") or "").lower() not in ("", GOLD_SCHEMA):
            return None
        views = {name.lower(): name for name in self._views}
        return views.get(source["table_name"].lower())

    def _serialize(self, sql: str) -> dict[str, Any]:
        return json.loads(self._guarded(lambda: self._scalar("SELECT json_serialize_sql(?)", sql)))

    def _scalar(self, sql: str, parameter: str) -> Any:
        return self._connection.execute(sql, [parameter]).fetchall()[0][0]

    def _columns(self, sql: str) -> list[str]:
        """The result columns of a query, from binding it without running it."""
        return self._guarded(lambda: self._connection.sql(sql).columns)

    def qualified(self, table: str) -> str:
        """A gold table's view as engine SQL names it: `"<database>".gold."<table>"`."""
        return gold_view(table, self._database)

    def _select_all(self, table: str) -> str:
        return f"SELECT * FROM {self.qualified(table)}"

    def _gold_tables_in(self, sql: str) -> list[str]:
        """The gold views a query names (DuckDB identifiers are case-insensitive)."""
        views = {name.lower(): name for name in self._views}
        return sorted(views[name] for name in named_tables(sql) if name in views)

    def columns_of(self, table: str) -> list[str]:
        """The columns of a gold table."""
        if table not in self._views:
            raise QueryError(self.not_found(table))
        return self._columns(self._select_all(table))

    def select_where(self, table: str, where: str, limit: int | None = None) -> pl.DataFrame:
        """Rows of one gold table matching a SQL predicate; the predicate can only filter that table's rows."""
        self.columns_of(table)
        inner = f"SELECT * FROM {self.qualified(table)} WHERE (\n{where}\n)"
        self.check_read_only(inner)
        tree = self._serialize(inner)
        if tree.get("error") or self._extendable_table(tree) != table:
            reason = tree.get("error_message") or "it must be an expression over the table's columns"
            raise QueryError(f"--where {where!r} is not a predicate over {table}: {reason}")
        limited = f"SELECT * FROM (\n{inner}\n) AS matched" + (f" LIMIT {int(limit)}" if limit is not None else "")
        return self.query(limited)

    def describe(self, table: str, language: Language = "en") -> pl.DataFrame:
        """The data dictionary of a gold table: one row per column of its view (`query.describe.DESCRIBE_SCHEMA`),
        its meaning, role, unit, null meaning, references, source headers and transforms, in `language`."""
        self.columns_of(table)
        relation = self._guarded(lambda: self._connection.sql(self._select_all(table)))
        types = dict(zip(relation.columns, map(str, relation.types), strict=True))
        return describe_table(self.data_root, table, types, language)

    def query_with_lineage(self, sql: str) -> dict[str, Any]:
        """The result plus, for each gold table the query reads, where its rows came from."""
        data = self.query(sql)
        tables = self._gold_tables_in(sql)
        return {"data": data, "tables": tables, "lineage": {table: self.get_lineage(table) for table in tables}}

    def get_lineage(self, table: str | None = None) -> dict[str, Any]:
        """Rows per source file, batches, and the first and last ingestion time of a gold table; with no table,
        of every gold table (table -> its lineage)."""
        if table is None:
            return {name: self.get_lineage(name) for name in self.list_tables()}
        if table not in self._views:
            raise QueryError(self.not_found(table))
        per_file_sql, summary_sql = lineage_queries(self.qualified(table))
        per_file, summary = self.query(per_file_sql), self.query(summary_sql).row(0, named=True)
        return {
            "table": table,
            "file": Path(self.gold_dir.name, f"{table}.parquet").as_posix(),
            "row_count": summary["row_count"],
            "source_files": dict(zip(per_file["source_file"], per_file["row_count"], strict=True)),
            "batches": summary["batches"],
            "first_ingested_at": summary["first_ingested"],
            "last_ingested_at": summary["last_ingested"],
        }
