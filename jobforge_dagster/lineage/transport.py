"""Where OpenLineage events go: one JSON file per event in a folder, and a worker thread per destination so a
run never waits for lineage."""

import contextlib
import datetime
import enum
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any

import attr
from openlineage.client.transport.transport import Config, Transport

from jobforge_dagster.lineage.events import event_file_name
from jobforge_dagster.storage.atomic import atomic_path
from jobforge_dagster.storage.paths import as_path

log = logging.getLogger(__name__)



@attr.define
class FolderConfig(Config):
    folder: str = ""

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> "FolderConfig":
        return cls(folder=params["folder"])


class AtomicFileTransport(Transport):
    """One JSON object per event in one folder, written to a hidden file and renamed: never seen half-written.

    No fsync: lineage files are a record, and the rename alone makes each file appear whole.
    """

    kind = "jobforge_folder"
    config_class = FolderConfig

    def __init__(self, config: FolderConfig) -> None:
        self.folder = as_path(config.folder)

    def emit(self, event: Any) -> None:
        with atomic_path(self.folder / event_file_name(event), durable=False) as temporary:
            temporary.write_text(event_json(event) + "\n", encoding="utf-8")


@cache
def field_names(kind: type) -> tuple[str, ...]:
    return tuple(field.name for field in attr.fields(kind))


def plain(value: Any) -> Any:
    """`value` as openlineage-python's `Serde.to_dict` gives it (attrs objects as dicts, None left out of dicts,
    None and empty dicts left out of lists, enums as values, dates and UUIDs as text), in one pass."""
    if attr.has(type(value)):
        value = {name: getattr(value, name) for name in field_names(type(value))}
    if isinstance(value, dict):
        found = {key: plain(item) for key, item in value.items()}
        return {key: item for key, item in found.items() if item is not None}
    if isinstance(value, list | tuple):
        found = [plain(item) for item in value if item is not None]
        return [item for item in found if item is not None and item != {}]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value) if isinstance(value, uuid.UUID) else value


def event_json(event: Any) -> str:
    """An event as openlineage-python's `Serde.to_json` writes it."""
    return json.dumps(plain(event), sort_keys=True, default=lambda o: f"<<non-serializable: {type(o).__qualname__}>>")


class BackgroundWorker:
    """Runs `handle(item)` for each item handed over, in order, on one daemon thread, so the run never waits.

    After `max_failures` failures in a row it stops (one warning says so); items beyond `capacity` waiting are
    dropped with a warning.
    """

    def __init__(self, handle: Callable[[Any], None], name: str, max_failures: int = 3, capacity: int = 10_000) -> None:
        self.handle, self.name, self.max_failures = handle, name, max_failures
        self.pending: queue.Queue = queue.Queue(capacity)
        self.failures = 0
        self.handed = self.lost = 0  # items handed over; items dropped, failed or given up on
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    @property
    def stopped(self) -> bool:
        return self.failures >= self.max_failures

    def put(self, item: Any) -> None:
        self.handed += 1
        if self.stopped:
            self.lost += 1
            return
        try:
            self.pending.put_nowait(item)
        except queue.Full:
            self.lost += 1
            log.warning("OpenLineage: %d items already waiting in %s; one dropped", self.pending.maxsize, self.name)

    def _work(self) -> None:
        while True:
            item = self.pending.get()
            if item is STOP:
                self.pending.task_done()
                return
            try:
                if self.stopped:
                    self.lost += 1
                else:
                    self.handle(item)
                    self.failures = 0
            except Exception as error:
                self.failures += 1
                self.lost += 1
                log.warning("OpenLineage: %s could not send an event: %s", self.name, error)
                if self.stopped:
                    log.warning("OpenLineage: %s failed %d times in a row; it sends no more", self.name, self.failures)
            finally:
                self.pending.task_done()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every item handed over is handled (or given up on); False if `timeout` ran out first."""
        deadline = time.monotonic() + timeout
        with self.pending.all_tasks_done:
            while self.pending.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.pending.all_tasks_done.wait(remaining)
        return True

    def close(self, timeout: float = 10.0) -> int:
        """Wait for the items handed over (`timeout` at most), then stop the thread; how many were not handled."""
        finished = self.flush(timeout)
        waiting = 0 if finished else self.pending.unfinished_tasks
        with contextlib.suppress(queue.Full):  # a full queue: the thread is a daemon, it ends with the process
            self.pending.put_nowait(STOP)
        return self.lost + waiting


#: Handed to a worker to end its thread.
STOP = object()
