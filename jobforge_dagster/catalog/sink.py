"""Where the catalog announces each transition it records (an OpenLineage exporter, or nowhere)."""

from typing import Protocol

from jobforge_dagster.catalog.models import LayerTransitionLog, TableMetadata, TransitionFacts


class LineageSink(Protocol):
    """Told when a transition starts, completes (with the written file's table metadata) or fails."""

    def started(self, facts: TransitionFacts, run_id: str | None) -> None: ...

    def completed(self, written: LayerTransitionLog, table: TableMetadata) -> None: ...

    def failed(self, facts: TransitionFacts, failed: LayerTransitionLog) -> None: ...


class NoLineage:
    """A sink that announces nothing: the catalog alone, as the seed's API records it."""

    def started(self, facts: TransitionFacts, run_id: str | None) -> None:
        return None

    def completed(self, written: LayerTransitionLog, table: TableMetadata) -> None:
        return None

    def failed(self, facts: TransitionFacts, failed: LayerTransitionLog) -> None:
        return None
