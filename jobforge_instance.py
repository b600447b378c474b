"""Dagster instance plugins for JobForge, kept outside the code location package so that the webserver and
daemon can load them from dagster.yaml without importing (and building) the code location.

Relative `base_dir`s in dagster.yaml resolve against `$DAGSTER_HOME` (the folder holding dagster.yaml), not
the working directory, through the `Home*` classes below and `PooledSqliteEventLogStorage`.

`PooledSqliteEventLogStorage` is Dagster's sqlite event log with one connection pool per database file.
Dagster's own class creates a SQLAlchemy engine and a new sqlite connection for every event it stores; this
one pools connections, commits without an fsync each and remembers the schema facts Dagster asks before every
asset event (what that saves: BENCHMARKS.md). Storage layout, schema and locking are Dagster's: the databases
stay readable by an unmodified Dagster.
"""

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any

from dagster import AssetKey
from dagster._core.event_api import EventLogRecord
from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager
from dagster._core.storage.root import LocalArtifactStorage
from dagster._core.storage.runs import SqliteRunStorage
from dagster._core.storage.schedules import SqliteScheduleStorage
from dagster._serdes import ConfigurableClassData
from dagster._time import datetime_from_timestamp
from dagster._utils.concurrency import ConcurrencyClaimStatus
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine


def home_relative(config_value: Mapping[str, Any]) -> dict[str, Any]:
    """The config with a relative `base_dir` resolved against `$DAGSTER_HOME` when it is set."""
    home, base_dir = os.environ.get("DAGSTER_HOME"), config_value.get("base_dir")
    if home and isinstance(base_dir, str) and not os.path.isabs(base_dir):
        return {**config_value, "base_dir": os.path.join(home, base_dir)}
    return dict(config_value)


class HomeSqliteRunStorage(SqliteRunStorage):
    """Dagster's sqlite run storage, its folder relative to `$DAGSTER_HOME`."""

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> SqliteRunStorage:
        return SqliteRunStorage.from_local(inst_data=inst_data, **home_relative(config_value))


class HomeSqliteScheduleStorage(SqliteScheduleStorage):
    """Dagster's sqlite schedule storage, its folder relative to `$DAGSTER_HOME`."""

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> SqliteScheduleStorage:
        return SqliteScheduleStorage.from_local(inst_data=inst_data, **home_relative(config_value))


class HomeLocalArtifactStorage(LocalArtifactStorage):
    """Dagster's local artifact storage, its folder relative to `$DAGSTER_HOME`."""

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> LocalArtifactStorage:
        return LocalArtifactStorage(inst_data=inst_data, **home_relative(config_value))


class HomeLocalComputeLogManager(LocalComputeLogManager):
    """Dagster's local compute log manager, its folder relative to `$DAGSTER_HOME`."""

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> LocalComputeLogManager:
        return LocalComputeLogManager(inst_data=inst_data, **home_relative(config_value))


#: Run databases whose engines stay open; the index database always does.
OPEN_RUN_SHARDS = 8
#: Latest-materialization records this process stored, kept to answer reads without deserializing them.
KEPT_RECORDS = 512


def _relaxed_sync(dbapi_connection: Any, _record: Any) -> None:
    """WAL (Dagster's choice) with synchronous=NORMAL: no fsync per commit; a power cut may lose the last events,
    never corrupt the database."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine and is a Python program (guards against pid reuse)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            command = handle.read()
    except OSError:
        return True  # no /proc: trust the signal check
    return b"python" in command or b"dagster" in command


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage that keeps an engine (and its connection pool) per shard, least recently used first out.

    A pool slot held by a run whose process is gone (a SIGKILL, a power cut) is freed when another run asks for
    that slot, and the dead run is marked failed: with a local sqlite instance no daemon may be watching.
    """

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        self._present: set[tuple[str, str]] = set()
        self._stored = threading.local()  # the event being stored by this thread, and its serialized form
        self._records: OrderedDict[str, EventLogRecord] = OrderedDict()
        self._records_lock = threading.Lock()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> "PooledSqliteEventLogStorage":
        return cls(inst_data=inst_data, **home_relative(config_value))

    def claim_concurrency_slot(
        self, concurrency_key: str, run_id: str, step_key: str, priority: int | None = None
    ) -> ConcurrencyClaimStatus:
        status = super().claim_concurrency_slot(concurrency_key, run_id, step_key, priority)
        if status.is_claimed or not self._free_slots_of_dead_runs(concurrency_key, run_id):
            return status
        return super().claim_concurrency_slot(concurrency_key, run_id, step_key, priority)

    def _free_slots_of_dead_runs(self, concurrency_key: str, asking_run_id: str) -> bool:
        """Free the pool's slots held by runs that ended or whose process died; whether any were freed."""
        holders = self.get_concurrency_info(concurrency_key).active_run_ids - {asking_run_id}
        dead = [run_id for run_id in holders if self._run_is_dead(run_id)]
        for run_id in dead:
            self.free_concurrency_slots_for_run(run_id)
        return bool(dead)

    def _run_is_dead(self, run_id: str) -> bool:
        instance = self._instance if self.has_instance else None
        run = instance.get_run_by_id(run_id) if instance is not None else None
        if run is None or run.is_finished:
            return run is None or run.is_finished
        pid = self._run_pid(run_id)
        if pid is None or process_alive(pid):
            return False
        instance.report_run_failed(run, f"the run's process {pid} is gone (killed?); its pool slots were freed")
        return True

    def _run_pid(self, run_id: str) -> int | None:
        """The process that executes the run's steps, from its latest engine event that names one."""
        records = self.get_records_for_run(run_id, of_type=DagsterEventType.ENGINE_EVENT, ascending=False).records
        for record in records:
            data = (
                record.event_log_entry.dagster_event.engine_event_data if record.event_log_entry.dagster_event else None
            )
            pid = data.metadata.get("pid") if data is not None else None
            if pid is not None:
                return int(pid.value)
        return None

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(
                    self.conn_string_for_shard(shard), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
                )
                event.listen(engine, "connect", _relaxed_sync)
                self._engines[shard] = engine
            self._engines.move_to_end(shard)
            run_shards = [name for name in self._engines if name != INDEX_SHARD_NAME]
            for stale in run_shards[:-OPEN_RUN_SHARDS]:
                self._engines.pop(stale).dispose()
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    # A materialization is serialized once. Dagster stores it in the event log, then serializes it again, inside
    # an EventLogRecord, as the asset's latest materialization (the asset_keys row), and deserializes that row
    # whenever a step asks for an upstream asset's data version. Here the record's text is composed from the
    # event's, and the record stays in memory, keyed by that text, for the reads that follow in this process.

    def _event_to_row(self, event: EventLogEntry) -> dict[str, Any]:
        row = super()._event_to_row(event)
        self._stored.event = (event, row["event"])
        return row

    def _get_asset_entry_values(
        self, event: EventLogEntry, event_id: int, has_asset_key_index_cols: bool
    ) -> dict[str, Any]:
        stored = getattr(self._stored, "event", None)
        if stored is None or stored[0] is not event or not event.get_dagster_event().is_step_materialization:
            return super()._get_asset_entry_values(event, event_id, has_asset_key_index_cols)
        text = f'{{"__class__": "EventLogRecord", "event_log_entry": {stored[1]}, "storage_id": {event_id}}}'
        self._keep_record(text, EventLogRecord(storage_id=event_id, event_log_entry=event))
        values: dict[str, Any] = {"last_materialization": text, "last_run_id": event.run_id}
        if has_asset_key_index_cols:
            values["last_materialization_timestamp"] = datetime_from_timestamp(event.timestamp)
        return values

    def _keep_record(self, text: str, record: EventLogRecord) -> None:
        with self._records_lock:
            self._records[text] = record
            while len(self._records) > KEPT_RECORDS:
                self._records.popitem(last=False)

    def _get_latest_materialization_records(self, raw_asset_rows: Any) -> Mapping[AssetKey, EventLogRecord | None]:
        """Rows whose latest materialization this process stored (and no wipe since) are answered from memory."""
        kept: dict[AssetKey, EventLogRecord] = {}
        rest = []
        for row in raw_asset_rows:
            record = None if row["asset_details"] else self._records.get(row["last_materialization"] or "")
            if record is None:
                rest.append(row)
            else:
                kept[AssetKey.from_db_string(row["asset_key"])] = record
        return {**super()._get_latest_materialization_records(rest), **kept}

    # Dagster asks the schema before storing each asset or check event (has_table opens a fresh connection
    # for it) and before reading asset records. Tables, columns and completed data migrations only appear
    # (`dagster instance migrate`), so a positive answer is kept; a negative one is asked again.

    def _remember(self, kind: str, name: str, ask: Callable[[str], bool]) -> bool:
        if (kind, name) in self._present:
            return True
        present = ask(name)
        if present:
            self._present.add((kind, name))
        return present

    def has_table(self, table_name: str) -> bool:
        return self._remember("table", table_name, super().has_table)

    def has_secondary_index(self, name: str) -> bool:
        return self._remember("index", name, super().has_secondary_index)

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        return self._remember("asset_key_column", column_name, partial(super()._has_asset_key_col_on_connection, conn))

    def upgrade(self) -> None:
        self._present.clear()
        super().upgrade()

    def _dispose_engines(self) -> None:
        with self._engines_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def wipe(self) -> None:
        self._present.clear()
        self._dispose_engines()
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()
