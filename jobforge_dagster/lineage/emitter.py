"""The OpenLineage client and event builders behind a run's exporter: events built and written on worker threads.

Every event is written to `<data root>/catalog/openlineage/`, one JSON object per file. When the OpenLineage
client's standard configuration is present (`OPENLINEAGE_URL`, `OPENLINEAGE_CONFIG`, `openlineage.yml`,
`OPENLINEAGE__TRANSPORT__...`) the same events also go through that client (e.g. HTTP to Marquez). With
`OPENLINEAGE_DISABLED=true` nothing is built. A failure to build or send is a warning, and a configuration the
client cannot use is one warning when the exporter is created (the event files are still written): lineage never
fails the pipeline. Closing the emitter logs how many events the client did not deliver, and where to.
Loaded by `LineageExporter` with the run's first event.
"""

import logging
import os
from collections.abc import Callable
from pathlib import Path

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import RunEvent
from openlineage.client.facet_v2 import set_producer

from jobforge_dagster.catalog.models import LayerTransitionLog, TableMetadata, TransitionFacts
from jobforge_dagster.lineage.events import DatasetNames, check_events, complete_event, fail_event, start_event
from jobforge_dagster.lineage.facets import producer
from jobforge_dagster.lineage.transport import AtomicFileTransport, BackgroundWorker, FolderConfig
from jobforge_dagster.quality.outcome import ChecksRun
from jobforge_dagster.storage.paths import DataPath

log = logging.getLogger(__name__)

#: Environment variables the client sets itself from OPENLINEAGE_URL (not a configuration of their own).
ALIASED = "OPENLINEAGE__TRANSPORT__TRANSPORTS__DEFAULT_HTTP"


def client_settings() -> tuple:
    """What configures the OpenLineage client: OPENLINEAGE* variables (not those the client sets itself) and
    the `openlineage.yml` files it would read."""
    variables = sorted(
        (name, value)
        for name, value in os.environ.items()
        if name.startswith("OPENLINEAGE") and not name.startswith(ALIASED)
    )
    candidates = [Path.cwd() / "openlineage.yml", Path.home() / ".openlineage" / "openlineage.yml"]
    return (*variables, *(str(path) for path in candidates if path.is_file()))


def remote_configured(settings: tuple) -> bool:
    """Whether the client's standard configuration names a transport (URL, config file or transport variables)."""
    names = {item[0] for item in settings if isinstance(item, tuple)}
    files = [item for item in settings if isinstance(item, str)]
    config = os.environ.get("OPENLINEAGE_CONFIG")
    transport = any(name.startswith("OPENLINEAGE__TRANSPORT__") for name in names)
    return "OPENLINEAGE_URL" in names or transport or bool(files) or bool(config and Path(config).is_file())


def configured_client(settings: tuple) -> OpenLineageClient | None:
    """The client the standard configuration makes; None, with one warning naming the variables (not their
    values), when it cannot make one (a mistyped URL or transport): the event files are still written."""
    try:
        return OpenLineageClient()
    except Exception as error:
        names = [item[0] if isinstance(item, tuple) else item for item in settings]
        log.warning(
            "OpenLineage: the configured transport (%s) cannot be used: %s: %s; events are written to "
            "catalog/openlineage/ only",
            ", ".join(names),
            type(error).__name__,
            error,
        )
        return None


def destination(client: OpenLineageClient) -> str:
    """Where the client sends events, as a log names it: its URL, else its transport's kind."""
    transport = client.transport
    return getattr(transport, "url", None) or os.environ.get("OPENLINEAGE_URL") or type(transport).__name__


class Emitter:
    """Hands each event to be built and written on a worker thread (and sent to the configured client on
    another). The owner calls `flush()` to wait for the files and `close()` at the end: it waits for the client
    (bounded), stops the threads and logs what was not delivered."""

    def __init__(self, root: DataPath, events_dir: DataPath, source_dir: DataPath | None = None) -> None:
        """`source_dir`: where source files are read when that is not `<root>/source` (their datasets are named
        there)."""
        self.root = root
        self.names = DatasetNames(root, source_dir)
        self.remote: BackgroundWorker | None = None
        set_producer(producer())  # facets built here name JobForge as their producer, like the events
        folder = AtomicFileTransport(FolderConfig(folder=str(events_dir)))
        self.sinks: list[Callable[[RunEvent], None]] = [OpenLineageClient(transport=folder).emit]
        self.destination = ""
        settings = client_settings()
        if remote_configured(settings) and (client := configured_client(settings)) is not None:
            self.remote = BackgroundWorker(client.emit, "openlineage-client")
            self.sinks.append(self.remote.put)
            self.destination = destination(client)
        self.local: BackgroundWorker | None = BackgroundWorker(self.deliver, "openlineage-events")

    def started(self, facts: TransitionFacts, run_id: str | None) -> None:
        self.send(lambda: [start_event(self.names, facts, run_id)])

    def completed(self, written: LayerTransitionLog, table: TableMetadata) -> None:
        self.send(lambda: [complete_event(self.names, written, table)])

    def failed(self, facts: TransitionFacts, failed: LayerTransitionLog) -> None:
        self.send(lambda: [fail_event(self.names, facts, failed)])

    def checked(self, checks: Callable[[], ChecksRun]) -> None:
        """`checks()` (called only when events are sent) gives the checks run to announce."""
        self.send(lambda: check_events(self.names, checks()))

    def send(self, build: Callable[[], list[RunEvent]]) -> None:
        if self.local is not None:  # None once closed
            self.local.put(build)

    def deliver(self, build: Callable[[], list[RunEvent]]) -> None:
        """Build the events and hand each to every sink (on the worker thread)."""
        try:
            events = build()
        except Exception as error:
            log.warning("OpenLineage: could not build an event: %s: %s", type(error).__name__, error)
            return
        for sink in self.sinks:
            for event in events:
                try:
                    sink(event)
                except Exception as error:
                    log.warning("OpenLineage: could not emit %s of %s: %s", event.eventType, event.job.name, error)

    def flush(self, timeout: float = 10.0, files_only: bool = False) -> bool:
        """Wait for the events handed over to be written (and, unless `files_only`, sent to the configured
        client); False if some were still waiting when `timeout` ran out."""
        workers = [self.local] if files_only else [self.local, self.remote]
        return all([worker.flush(timeout) for worker in workers if worker is not None])

    def close(self, timeout: float = 10.0) -> None:
        """Write and send what is waiting (`timeout` at most for each), stop the threads, and log the events the
        configured client did not receive."""
        if self.local is not None:
            self.local.close(timeout)
        if self.remote is not None and (lost := self.remote.close(timeout)):
            log.warning(
                "OpenLineage: %d of %d events were not delivered to %s", lost, self.remote.handed, self.destination
            )
        self.local = self.remote = None
