"""Query safety: SQL users read gold and nothing else; hostile names cannot inject SQL; long queries stop."""

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from jobforge_dagster.errors import QueryError
from jobforge_dagster.layers import Layer
from jobforge_dagster.query import sandbox as sandbox_module
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.query.sql import quote_identifier
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.conftest import bounded


@pytest.fixture
def engine(gold_root: DataRoot):
    config, gold = gold_root, gold_root.layer_dir(Layer.GOLD)
    pl.DataFrame({"noc_code": ["00010", "00011", "21211"]}).write_parquet(gold / "noc.parquet")
    pl.DataFrame({"x": [1]}).write_parquet(gold / 'evil"; DROP VIEW noc; --.parquet')
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


LONG_SQL = "SELECT count(*) FROM range(100000000000) a, range(100000) b"


def test_python_variables_are_not_tables(engine: GoldQueryEngine) -> None:
    secret_frame = pl.DataFrame({"token": ["hush"]})  # noqa: F841 - a replacement scan would find it by name
    with pytest.raises(QueryError):
        engine.query("SELECT * FROM secret_frame")


def test_working_directory_tmp_folder_is_not_readable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "secret.txt").write_text("hush")
    config = DataRoot(data_root=str(tmp_path / "data"))
    with GoldQueryEngine(config, timeout_seconds=2) as engine:
        for path in (".tmp/secret.txt", str(tmp_path / ".tmp" / "secret.txt")):
            with pytest.raises(QueryError, match="(?i)permission|access|disabled"):
                engine.query(f"SELECT content FROM read_text('{path}')")
        temp_dir = engine.temp_dir
        assert temp_dir.is_dir() and not temp_dir.is_relative_to(tmp_path)
        assert temp_dir.stat().st_mode & 0o077 == 0  # private to this user
        setting = engine.query("SELECT current_setting('temp_directory') AS t")["t"][0]
        assert Path(setting) == temp_dir
    assert not temp_dir.exists()


MEMORY_SCRIPT = """
import json, resource, sys, time
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.errors import QueryError
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # guards the machine if the engine's limit fails
with GoldQueryEngine(DataRoot(data_root=sys.argv[1]), timeout_seconds=5, **json.loads(sys.argv[3])) as engine:
    start = time.monotonic()
    try:
        engine.query(sys.argv[2])
        outcome = "returned"
    except QueryError as error:
        outcome = str(error)
    seconds = time.monotonic() - start
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"outcome": outcome, "seconds": seconds, "hwm_mib": hwm // 1024}))
"""


@pytest.mark.parametrize(
    ("sql", "limits", "max_mib"),
    [
        ("SELECT len(list(range(1e9::BIGINT)))", {}, 2_600),  # default memory_limit 2GB
        ("SELECT len(list(x)) FROM range(1e9::BIGINT) t(x)", {"memory_limit": "400MB", "threads": 1}, 900),
    ],
)
def test_memory_heavy_query_stops_within_the_memory_limit(
    tmp_path: Path, sql: str, limits: dict[str, object], max_mib: int
) -> None:
    """Runs in a subprocess so VmHWM (peak resident memory) belongs to this query alone."""
    process = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(tmp_path / "data"), sql, json.dumps(limits)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(process.stdout.splitlines()[-1])
    assert result["outcome"] != "returned"
    assert "Out of Memory" in result["outcome"] or "cancelled" in result["outcome"]
    assert result["seconds"] < 30
    assert result["hwm_mib"] < max_mib, result


def test_limits_are_set_and_locked(tmp_path: Path) -> None:
    config = DataRoot(data_root=str(tmp_path / "data"))
    with GoldQueryEngine(config, memory_limit="300MB", threads=1, max_temp_directory_size="100MB") as engine:
        row = engine.query(
            "SELECT current_setting('memory_limit') AS m, current_setting('threads') AS t,"
            " current_setting('max_temp_directory_size') AS d, current_setting('lock_configuration') AS l"
        ).row(0, named=True)
        assert row["t"] == 1 and row["l"] is True
        assert row["m"].startswith("286") and row["d"].startswith("95")  # MiB as DuckDB reports them
    with pytest.raises(QueryError, match="memory_limit"):
        GoldQueryEngine(config, memory_limit="lots")


def test_result_rows_are_capped(tmp_path: Path) -> None:
    config = DataRoot(data_root=str(tmp_path / "data"))
    with GoldQueryEngine(config, max_rows=10) as engine:
        assert engine.query("SELECT * FROM range(10) t(x) ORDER BY x DESC")["x"].to_list() == list(range(9, -1, -1))
        with pytest.raises(QueryError, match="more than 10 rows"):
            engine.query("SELECT * FROM range(11)")
        assert engine.query("SELECT * FROM range(1000000) LIMIT 3").height == 3


def test_a_second_thread_leaves_the_first_querys_timeout_alone(engine: GoldQueryEngine) -> None:
    outcomes: dict[str, object] = {}

    def run(name: str, sql: str) -> None:
        start = time.monotonic()
        try:
            outcomes[name] = engine.query(sql)
        except QueryError as error:
            outcomes[name] = error
        outcomes[f"{name}_seconds"] = time.monotonic() - start

    slow = threading.Thread(target=run, args=("slow", LONG_SQL))
    slow.start()
    time.sleep(0.5)
    for name, sql in (("refused", "DROP VIEW noc"), ("fast", "SELECT count(*) AS n FROM noc")):
        other = threading.Thread(target=run, args=(name, sql))
        other.start()
        other.join(timeout=30)
    slow.join(timeout=15)
    while slow.is_alive():  # only when the timeout was lost: stop the query so the test ends
        engine._connection.interrupt()
        slow.join(timeout=1)
    assert isinstance(outcomes["slow"], QueryError) and "cancelled" in str(outcomes["slow"])
    assert outcomes["slow_seconds"] < 10
    assert isinstance(outcomes["refused"], QueryError)
    assert isinstance(outcomes["fast"], pl.DataFrame) and outcomes["fast"]["n"][0] == 3


def test_bad_gold_files_are_skipped_and_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = DataRoot(data_root=str(tmp_path / "data"))
    gold = config.layer_dir(Layer.GOLD)
    gold.mkdir(parents=True)
    pl.DataFrame({"noc_code": ["00010"]}).write_parquet(gold / "noc.parquet")
    (gold / "broken.parquet").write_bytes(b"PAR1 these are not parquet bytes")
    pl.DataFrame({"secret": ["hush"]}).write_parquet(tmp_path / "secret.parquet")
    (gold / "outside.parquet").symlink_to(tmp_path / "secret.parquet")
    with caplog.at_level(logging.WARNING, logger="jobforge_dagster.query.engine"), GoldQueryEngine(config) as engine:
        assert engine.list_tables() == ["noc"]
        assert sorted(engine.skipped_tables) == ["broken", "outside"]
        assert "gold/broken.parquet" in engine.skipped_tables["broken"]
        assert "outside gold" in engine.skipped_tables["outside"]
        assert "broken.parquet" in caplog.text and "outside.parquet" in caplog.text
        with pytest.raises(QueryError, match=r"gold/broken\.parquet"):
            engine.query("SELECT * FROM broken")
        with pytest.raises(QueryError, match=r"gold/outside\.parquet.*outside gold"):
            engine.query("SELECT o.secret FROM noc, Outside AS o")
        assert engine.query("SELECT noc_code FROM noc")["noc_code"].to_list() == ["00010"]
        pl.DataFrame({"x": [1]}).write_parquet(gold / "broken.parquet")  # repaired
        assert engine.register_gold_tables() == ["broken", "noc"]
        assert list(engine.skipped_tables) == ["outside"]
        assert engine.query("SELECT x FROM broken")["x"].to_list() == [1]


def test_a_symbolic_link_loop_in_gold_is_skipped(gold_root: DataRoot) -> None:
    """Before: `RuntimeError: Symlink loop` from the engine: every run failed at start-up, `jobforge trace` too."""
    gold = gold_root.layer_dir(Layer.GOLD)
    pl.DataFrame({"x": [1]}).write_parquet(gold / "good.parquet")
    os.symlink(gold / "other.parquet", gold / "loop.parquet")
    os.symlink(gold / "loop.parquet", gold / "other.parquet")
    with GoldQueryEngine(gold_root) as engine:
        assert engine.list_tables() == ["good"]
        assert sorted(engine.skipped_tables) == ["loop", "other"]
        assert engine.skipped_tables["loop"] == "gold/loop.parquet cannot be read: a symbolic link loop"


def test_a_fifo_in_gold_is_skipped_without_being_opened(gold_root: DataRoot, fifos) -> None:
    """Before: the engine blocked for good opening gold/pipe.parquet: every run hung at start-up, the trace too."""
    gold = gold_root.layer_dir(Layer.GOLD)
    pl.DataFrame({"x": [1]}).write_parquet(gold / "good.parquet")
    fifos(gold / "pipe.parquet")
    (gold / "linked.parquet").symlink_to(fifos(gold / "pipe"))
    engine = bounded(lambda: GoldQueryEngine(gold_root), 20)
    with engine:
        assert engine.list_tables() == ["good"]
        assert engine.skipped_tables == {
            "linked": "gold/linked.parquet is not a regular file (a FIFO)",
            "pipe": "gold/pipe.parquet is not a regular file (a FIFO)",
        }


def bad_database(tmp_path: Path, case: str) -> Path:
    """A db_path that cannot be a DuckDB database, made for real."""
    path = tmp_path / "jobforge.duckdb"
    if case == "a text file":
        path.write_text("noc_code,title\n")
    elif case == "an empty file":
        path.touch()
    elif case == "a folder":
        path.mkdir()
    elif case == "an immutable file":
        with duckdb.connect(str(path)):
            pass
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode != 0:
            pytest.skip("chattr +i is not available here")
    else:
        path = tmp_path / "missing" / "jobforge.duckdb"
    return path


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("a text file", "is not a DuckDB database file"),
        ("an empty file", "is an empty file, not a DuckDB database"),
        ("a folder", "is a folder, not a DuckDB database file"),
        ("a missing folder", "cannot be created: its folder"),
        ("an immutable file", "Operation not permitted"),
    ],
)
def test_a_bad_db_path_fails_at_once_naming_the_path(tmp_path: Path, case: str, reason: str) -> None:
    """Before: a raw _duckdb error (after silent retries, in the old layout 102 s), not naming what was wrong."""
    path = bad_database(tmp_path, case)
    config = DataRoot(data_root=str(tmp_path / "data"))
    started = time.monotonic()
    try:
        with pytest.raises(QueryError) as raised:
            bounded(lambda: GoldQueryEngine(config, db_path=path), 30)
    finally:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)
    assert time.monotonic() - started < 5
    assert str(raised.value).startswith(f"db_path {path}") and reason in str(raised.value)


#: Another process holding DuckDB's lock on a file for a while.
HOLDER = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
    "time.sleep(float(sys.argv[2]))"
)


def test_only_a_lock_held_by_another_process_is_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path, config = tmp_path / "jobforge.duckdb", DataRoot(data_root=str(tmp_path / "data"))
    for seconds, waits in ((2.0, 10.0), (30.0, 1.0)):
        monkeypatch.setattr(sandbox_module, "DB_LOCK_WAIT_SECONDS", waits)
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE)
        try:
            assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
            if seconds < waits:  # released while the engine waits: it opens the file
                with caplog.at_level("WARNING", logger=sandbox_module.__name__), GoldQueryEngine(config, db_path=path):
                    assert f"waiting up to {waits:g} s" in caplog.text and f"PID {holder.pid}" in caplog.text
            else:
                with pytest.raises(
                    QueryError, match=rf"db_path {path} is locked by another process .*PID {holder.pid}"
                ):
                    GoldQueryEngine(config, db_path=path)
        finally:
            holder.kill()
            holder.wait()
