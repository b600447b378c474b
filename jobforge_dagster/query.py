"""Read-only SQL over the gold layer with DuckDB, returning polars frames."""

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import duckdb
import polars as pl
from dagster_duckdb import DuckDBResource

from jobforge_dagster.config import JobForgeConfig
from jobforge_dagster.layers import BATCH_ID, INGESTED_AT, SOURCE_FILE, Layer

log = logging.getLogger(__name__)
T = TypeVar("T")


class QueryError(ValueError):
    """A query that was refused or failed, with the reason."""


DEFAULT_TIMEOUT_SECONDS = 300.0
DEFAULT_MEMORY_LIMIT = "2GB"
DEFAULT_THREADS = 2
DEFAULT_MAX_TEMP_DIRECTORY_SIZE = "1GB"
DEFAULT_MAX_ROWS = 1_000_000
LOCK_GRACE_SECONDS = 30.0


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Watchdog:
    """One thread that calls `interrupt` when an armed deadline passes (cheaper than a timer per query)."""

    def __init__(self, interrupt: Callable[[], None]) -> None:
        self._interrupt = interrupt
        self._deadline: float | None = None
        self._stopped = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._watch, name="gold-query-watchdog", daemon=True)
        self._thread.start()

    def arm(self, seconds: float | None) -> None:
        with self._condition:
            self._deadline = time.monotonic() + seconds if seconds else None
            self._condition.notify()

    def disarm(self) -> None:
        with self._condition:
            self._deadline = None

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        with self._condition:
            while not self._stopped:
                if self._deadline is None:
                    self._condition.wait()
                elif time.monotonic() >= self._deadline:
                    self._deadline = None
                    self._interrupt()
                else:
                    self._condition.wait(self._deadline - time.monotonic())


class GoldQueryEngine:
    """One DuckDB connection with a view per gold parquet file, sandboxed to the gold folder.

    Only single SELECT (or WITH ... SELECT) statements run. DuckDB itself refuses any file outside the
    gold folder (`enable_external_access = false`, `allowed_directories`), and `lock_configuration`
    stops SQL from changing that or the resource limits: `memory_limit`, `threads` and
    `max_temp_directory_size` bound one query's memory, cores and spill; `max_rows` bounds its result.

    The engine may be shared by threads: queries run one at a time, each under its own timeout. A query
    waits for the one before it at most `timeout_seconds + LOCK_GRACE_SECONDS`, then fails.
    """

    def __init__(
        self,
        config: JobForgeConfig,
        duckdb_resource: DuckDBResource | None = None,
        timeout_seconds: float | None = DEFAULT_TIMEOUT_SECONDS,
        *,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        threads: int = DEFAULT_THREADS,
        max_temp_directory_size: str = DEFAULT_MAX_TEMP_DIRECTORY_SIZE,
        max_rows: int = DEFAULT_MAX_ROWS,
    ) -> None:
        self.gold_dir = config.layer_dir(Layer.GOLD)
        self.gold_dir.mkdir(parents=True, exist_ok=True)
        self.timeout_seconds = timeout_seconds
        self.max_rows = max_rows
        limits = {
            "memory_limit": quote_literal(memory_limit),
            "threads": str(int(threads)),
            "max_temp_directory_size": quote_literal(max_temp_directory_size),
        }
        self._views: set[str] = set()
        self.skipped_tables: dict[str, str] = {}
        self._lock = threading.RLock()
        self._stack = ExitStack()
        self.temp_dir = self._private_temp_dir()
        limits["temp_directory"] = quote_literal(str(self.temp_dir))
        try:
            self._connection = self._open(duckdb_resource or DuckDBResource(database=":memory:"))
            self._configure(limits)
            self._watchdog = Watchdog(self._connection.interrupt)
            self._stack.callback(self._watchdog.stop)
            self.register_gold_tables()
        except BaseException:
            self._stack.close()
            raise

    def _private_temp_dir(self) -> Path:
        """A new folder only this user can read, for DuckDB's spill files, removed on close.

        DuckDB adds `temp_directory` to the allowed directories; its default, `.tmp` under the working
        directory, would let SQL read whatever lies there.
        """
        path = Path(tempfile.mkdtemp(prefix="gold-query-"))
        self._stack.callback(shutil.rmtree, path, ignore_errors=True)
        return path

    def _open(self, resource: DuckDBResource) -> duckdb.DuckDBPyConnection:
        """Enter the resource's connection on the stack; also close it directly, as dagster_duckdb
        closes only when its context exits without an exception."""
        connection = self._stack.enter_context(resource.get_connection())
        self._stack.callback(connection.close)
        return connection

    def _configure(self, limits: dict[str, str]) -> None:
        """Set the limits, then sandbox the connection (no replacement scans or extension loading, files
        only under gold/), then lock the configuration so SQL cannot change any of it."""
        for name, value in limits.items():
            try:
                self._connection.execute(f"SET {name} = {value}")
            except duckdb.Error as error:
                raise QueryError(f"invalid {name} {value}: {error}") from error
        allowed = quote_literal(str(self.gold_dir.resolve()) + "/")
        for statement in (
            "SET python_enable_replacements = false",
            "SET autoinstall_known_extensions = false",
            "SET autoload_known_extensions = false",
            f"SET allowed_directories = [{allowed}]",
            "SET enable_external_access = false",
            "SET lock_configuration = true",
        ):
            self._connection.execute(statement)

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
        files = {path.stem: path for path in sorted(self.gold_dir.glob("*.parquet"))}
        skipped: dict[str, str] = {}
        with self._exclusive():
            for name, path in files.items():
                reason = self._create_view(name, path)
                if reason is not None:
                    skipped[name] = reason
                    log.warning("gold table %r skipped: %s", name, reason)
            registered = files.keys() - skipped.keys()
            for gone in self._views - registered:
                self._connection.execute(f"DROP VIEW IF EXISTS {quote_identifier(gone)}")
            self._views, self.skipped_tables = set(registered), skipped
        return sorted(registered)

    def _create_view(self, name: str, path: Path) -> str | None:
        """Create or replace the view of one gold file; the reason it cannot be read, or None."""
        shown = Path(self.gold_dir.name, path.name).as_posix()
        target = path.resolve()
        if not target.is_relative_to(self.gold_dir.resolve()):
            return f"{shown} leads outside gold/ (to {target})"
        try:
            self._connection.execute(
                f"CREATE OR REPLACE VIEW {quote_identifier(name)} AS "
                f"SELECT * FROM read_parquet({quote_literal(str(target))})"
            )
        except duckdb.Error as error:
            return f"{shown} is not a readable parquet file: {str(error).splitlines()[0]}"
        return None

    def _refuse_skipped(self, sql: str) -> None:
        """A QueryError naming the file and reason when the query reads a skipped gold table."""
        if not self.skipped_tables:
            return
        named = {table.lower() for table in duckdb.get_table_names(sql, qualified=False)}
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
        frame = self._guarded(lambda: self._connection.sql(sql).limit(self.max_rows + 1).pl())
        if frame.height > self.max_rows:
            raise QueryError(f"query returns more than {self.max_rows} rows (max_rows); add a LIMIT or aggregate")
        return frame

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

    def query_with_provenance(self, sql: str) -> dict[str, Any]:
        """The result plus, for each gold table the query reads, where its rows came from."""
        data = self.query(sql)
        tables = sorted(duckdb.get_table_names(sql, qualified=False) & self._views)
        return {
            "data": data,
            "tables": tables,
            "lineage": {table: self.get_lineage(table) for table in tables},
        }

    def get_lineage(self, table: str) -> dict[str, Any]:
        """Rows per source file, batches, and the first and last ingestion time of a gold table."""
        if table not in self._views:
            raise QueryError(f"no gold table {table!r}; known: {self.list_tables()}")
        name = quote_identifier(table)
        per_file = self.query(
            f"SELECT {SOURCE_FILE} AS source_file, count(*) AS row_count FROM {name} GROUP BY 1 ORDER BY 1"
        )
        summary = self.query(
            f"SELECT list(DISTINCT {BATCH_ID} ORDER BY {BATCH_ID}) AS batches, min({INGESTED_AT}) AS first_ingested,"
            f" max({INGESTED_AT}) AS last_ingested, count(*) AS row_count FROM {name}"
        ).row(0, named=True)
        return {
            "table": table,
            "file": Path(self.gold_dir.name, f"{table}.parquet").as_posix(),
            "row_count": summary["row_count"],
            "source_files": dict(zip(per_file["source_file"], per_file["row_count"], strict=True)),
            "batches": summary["batches"],
            "first_ingested_at": summary["first_ingested"],
            "last_ingested_at": summary["last_ingested"],
        }
