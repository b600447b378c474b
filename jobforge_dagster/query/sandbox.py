"""A DuckDB connection for gold queries, sandboxed: resource limits, no extensions or replacement scans, files
only under gold/, and a configuration SQL cannot change."""

import logging
import re
import shutil
import tempfile
import time
from contextlib import AbstractContextManager, ExitStack, closing
from pathlib import Path
from typing import Any

import duckdb

from jobforge_dagster.errors import QueryError
from jobforge_dagster.query.sql import quote_literal
from jobforge_dagster.storage.files import not_regular

log = logging.getLogger(__name__)

#: How long opening a database file waits for DuckDB's lock on it, held by another process.
DB_LOCK_WAIT_SECONDS = 30.0
#: How DuckDB names the process holding its lock on a file (`... is held in /usr/bin/python3 (PID 123). See also`).
LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.*?)\. See also")


def open_duckdb(database: str, lock_wait: float | None = None) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    """A DuckDB connection to `database` (`:memory:`, or a database file), closed when the block ends. A file
    that cannot be a DuckDB database is a QueryError naming it and what is wrong, at once; only DuckDB's lock held
    by another process is waited for, `lock_wait` seconds at most (DB_LOCK_WAIT_SECONDS by default), and said."""
    if database == ":memory:":
        return closing(duckdb.connect(database))
    path = Path(database)
    if (problem := database_problem(path)) is not None:
        raise QueryError(f"db_path {path} {problem}")
    return closing(connect_waiting(path, DB_LOCK_WAIT_SECONDS if lock_wait is None else lock_wait))


def database_problem(path: Path) -> str | None:
    """What makes `path` unusable as a DuckDB database file, seen before DuckDB opens it, or None."""
    if not path.parent.is_dir():
        return f"cannot be created: its folder {path.parent} does not exist"
    if path.is_dir():
        return "is a folder, not a DuckDB database file"
    if path.exists() and (kind := not_regular(path)) is not None:
        return kind
    if path.exists() and path.stat().st_size == 0:
        return "is an empty file, not a DuckDB database (remove it: the engine then creates the database)"
    return None


def connect_waiting(path: Path, lock_wait: float) -> duckdb.DuckDBPyConnection:
    """`duckdb.connect(path)`; DuckDB's lock held by another process is waited for (`lock_wait` s at most, said
    once), any other error is a QueryError at once."""
    deadline, said = time.monotonic() + lock_wait, False
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.Error as error:
            message = str(error).splitlines()[0]
            if (holder := LOCK_HOLDER.search(message)) is None:
                reason = "is not a DuckDB database file" if "not a valid DuckDB" in message else "cannot be opened"
                raise QueryError(f"db_path {path} {reason}: {message}") from None
            if time.monotonic() >= deadline:
                raise QueryError(
                    f"db_path {path} is locked by another process ({holder.group(1)}); waited {lock_wait:g} s. "
                    "Close it there, or give another db_path"
                ) from None
            if not said:
                log.warning("db_path %s: waiting up to %g s for %s to release DuckDB's lock on it", path, lock_wait,
                            holder.group(1))
                said = True
            time.sleep(0.2)


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
