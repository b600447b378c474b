"""A run's OpenLineage exporter: what the catalog announces (transitions, checks), handed to the emitter.

The emitter (the OpenLineage client, its transports and the event builders) is loaded with the first event, so a
run that announces nothing (every table current) never loads it. Every event is written to
`<data root>/catalog/openlineage/` and, when the client's standard configuration is present, sent through it
(`jobforge_dagster.lineage.emitter`). With `OPENLINEAGE_DISABLED=true` nothing is built or loaded.
"""

import os
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from jobforge_dagster.catalog.models import LayerTransitionLog, TableMetadata, TransitionFacts
from jobforge_dagster.quality.outcome import ChecksRun
from jobforge_dagster.storage.paths import DataPath

if TYPE_CHECKING:
    from jobforge_dagster.lineage.emitter import Emitter


def disabled() -> bool:
    return os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true"


class LineageExporter:
    """Announces transitions and checks as OpenLineage events. The owner calls `flush()` to wait for the event
    files and `close()` at the end (a context manager closes itself)."""

    def __init__(self, root: DataPath, events_dir: DataPath, source_dir: DataPath | None = None) -> None:
        """`source_dir`: where source files are read when that is not `<root>/source` (their datasets are named
        there)."""
        self.root, self.events_dir, self.source_dir = root, events_dir, source_dir
        self.emitter: Emitter | None = None
        self.closed = disabled()

    def opened(self) -> "Emitter | None":
        """The emitter, loaded and started on the first event; None when disabled or closed."""
        if self.emitter is None and not self.closed:
            from jobforge_dagster.lineage.emitter import Emitter  # the OpenLineage client: only for a run that emits

            self.emitter = Emitter(self.root, self.events_dir, self.source_dir)
        return self.emitter

    def started(self, facts: TransitionFacts, run_id: str | None) -> None:
        if emitter := self.opened():
            emitter.started(facts, run_id)

    def completed(self, written: LayerTransitionLog, table: TableMetadata) -> None:
        if emitter := self.opened():
            emitter.completed(written, table)

    def failed(self, facts: TransitionFacts, failed: LayerTransitionLog) -> None:
        if emitter := self.opened():
            emitter.failed(facts, failed)

    def checked(self, checks: Callable[[], ChecksRun]) -> None:
        """`checks()` (called only when events are sent) gives the checks run to announce."""
        if emitter := self.opened():
            emitter.checked(checks)

    def flush(self, timeout: float = 10.0, files_only: bool = False) -> bool:
        """Wait for the events handed over to be written (and, unless `files_only`, sent to the configured
        client); False if some were still waiting when `timeout` ran out. True when none was handed over."""
        return self.emitter is None or self.emitter.flush(timeout, files_only)

    def close(self, timeout: float = 10.0) -> None:
        """Write and send what is waiting (`timeout` at most for each), stop the threads, and log the events the
        configured client did not receive."""
        if self.emitter is not None:
            self.emitter.close(timeout)
        self.emitter, self.closed = None, True

    def __enter__(self) -> "LineageExporter":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
