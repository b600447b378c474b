"""A DuckDB connection for gold queries, sandboxed: resource limits, no extensions or replacement scans, files
only under gold/, and a configuration SQL cannot change."""

import logging
import shutil
import tempfile
import time
from contextlib import AbstractContextManager, ExitStack, closing
from pathlib import Path
from typing import Any

import duckdb

from jobforge_dagster.errors import QueryError
from jobforge_dagster.query.sql import quote_literal

log = logging.getLogger(__name__)

#: How long an engine waits for a database file another process holds.
DB_LOCK_WAIT_SECONDS = 30.0


def open_duckdb(
    database: str, lock_wait: float = DB_LOCK_WAIT_SECONDS
) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    """A DuckDB connection to `database` (a file, or `:memory:`), closed when the block ends. A file another
    process holds is waited for, `lock_wait` seconds at most (logged); any other error is raised at once."""
    deadline = time.monotonic() + lock_wait
    while True:
        try:
            return closing(duckdb.connect(database))
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() >= deadline:
                raise
            log.warning("%s is locked by another process; waiting (at most %.0f s)", database, lock_wait)
            time.sleep(0.5)


def private_temp_dir(stack: ExitStack) -> Path:
    """A new folder only this user can read, for DuckDB's spill files, removed when `stack` closes.

    DuckDB adds `temp_directory` to the allowed directories; its default, `.tmp` under the working directory,
    would let SQL read whatever lies there.
    """
    path = Path(tempfile.mkdtemp(prefix="gold-query-"))
    stack.callback(shutil.rmtree, path, ignore_errors=True)
    return path


def sandbox(connection: duckdb.DuckDBPyConnection, limits: dict[str, str], allowed: str, filesystem: Any) -> None:
    """Set the limits, then sandbox the connection (no replacement scans or extension loading, files only under
    `allowed`, read through `filesystem` when given), then lock the configuration so SQL cannot change any of it."""
    for name, value in limits.items():
        try:
            connection.execute(f"SET {name} = {value}")
        except duckdb.Error as error:
            raise QueryError(f"invalid {name} {value}: {error}") from error
    if filesystem is not None:  # DuckDB 2.0 cannot install httpfs offline: objects are read through fsspec
        connection.register_filesystem(filesystem)
    for statement in (
        "SET python_enable_replacements = false",
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        f"SET allowed_directories = [{quote_literal(allowed)}]",
        "SET enable_external_access = false",
        "SET lock_configuration = true",
    ):
        connection.execute(statement)
