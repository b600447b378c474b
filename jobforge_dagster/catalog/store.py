"""The catalog on disk, `<data root>/catalog/`: table JSON per layer, one lineage log per transition, batches."""

import glob
from pathlib import Path

from pydantic import ValidationError

from jobforge_dagster.catalog.models import (
    BatchRecord,
    CheckResults,
    FileSeal,
    LayerTransitionLog,
    TableMetadata,
    TransitionFacts,
)
from jobforge_dagster.catalog.sink import LineageSink, NoLineage
from jobforge_dagster.storage.atomic import write_model
from jobforge_dagster.storage.data_root import DataRoot, default_source_root, resolve_root


def data_root_of(config: DataRoot | str | Path | None) -> DataRoot:
    """A data root from what a caller has: a `DataRoot`, a folder (path or `s3://` URL), or None (the
    environment: `$JOBFORGE_DATA_ROOT`, `$JOBFORGE_SOURCE_ROOT`)."""
    if config is None:
        return DataRoot.from_env()
    if isinstance(config, DataRoot):
        return config
    return DataRoot(data_root=resolve_root(str(config)), source_root=default_source_root())


class CatalogManager:
    """Reads and writes the JSON catalog; every write is atomic. Each transition it records (started, done,
    failed) is also announced to its lineage sink (an OpenLineage exporter in a Dagster run; none by default).

    `config` is a `DataRoot`, a data root folder, or None for the environment's (as the seed's API allows)."""

    def __init__(self, config: DataRoot | str | Path | None = None, lineage: LineageSink | None = None) -> None:
        self.root = data_root_of(config)
        self.lineage: LineageSink = lineage or NoLineage()

    def table_file(self, layer: str, table: str) -> Path:
        return self.root.catalog_tables_dir(layer) / f"{table}.json"

    def save_table_metadata(self, metadata: TableMetadata) -> Path:
        path = self.table_file(metadata.layer, metadata.table_name)
        write_model(path, metadata)
        return path

    def load_table_metadata(self, table: str, layer: str) -> TableMetadata | None:
        path = self.table_file(layer, table)
        return TableMetadata.model_validate_json(path.read_text("utf-8")) if path.exists() else None

    def list_tables(self, layer: str | None = None) -> list[TableMetadata]:
        folder = self.root.catalog_tables_dir()
        pattern = f"{layer}/*.json" if layer else "*/*.json"
        return [TableMetadata.model_validate_json(p.read_text("utf-8")) for p in sorted(folder.glob(pattern))]

    def seal_file(self, layer: str, table: str) -> Path:
        return self.root.catalog_dir() / "seals" / layer / f"{table}.json"

    def save_seal(self, layer: str, table: str, seal: FileSeal) -> None:
        """Remember a layer file's fingerprint with its sha256; not synced to disk (a seal lost only costs a hash)."""
        write_model(self.seal_file(layer, table), seal, durable=False)

    def load_seal(self, layer: str, table: str) -> FileSeal | None:
        """The seal of a layer file; None when there is none or it cannot be read."""
        try:
            return FileSeal.model_validate_json(self.seal_file(layer, table).read_text("utf-8"))
        except (OSError, ValidationError):
            return None

    def lineage_file(self, log: LayerTransitionLog) -> Path:
        return self.root.catalog_lineage_dir() / f"{log.table}--{log.transition_id}.json"

    def save_lineage_log(self, log: LayerTransitionLog) -> Path:
        path = self.lineage_file(log)
        write_model(path, log)
        return path

    def record_start(self, facts: TransitionFacts, run_id: str | None) -> None:
        """A transition has started: announced (OpenLineage START); the catalog writes nothing until it ends."""
        self.lineage.started(facts, run_id)

    def record_transition(self, log: LayerTransitionLog, metadata: TableMetadata) -> Path:
        """A transition whose file is in place: its table metadata, its lineage log, announced (COMPLETE)."""
        self.save_table_metadata(metadata)
        path = self.save_lineage_log(log)
        self.lineage.completed(log, metadata)
        return path

    def record_failure(self, facts: TransitionFacts, run_id: str | None, error: BaseException) -> Path:
        """The one way a failed transition is logged (status `failed`, with the error), and announced (FAIL)."""
        failed = facts.failed(run_id, error)
        path = self.save_lineage_log(failed)
        self.lineage.failed(facts, failed)
        return path

    def get_lineage_logs(self, batch_id: str | None = None, table: str | None = None) -> list[LayerTransitionLog]:
        """Transition logs, oldest first, optionally for one batch or one table (only that table's files read)."""
        pattern = f"{glob.escape(table)}--*.json" if table is not None else "*.json"
        logs = [
            LayerTransitionLog.model_validate_json(path.read_text("utf-8"))
            for path in self.root.catalog_lineage_dir().glob(pattern)
        ]
        selected = [
            log
            for log in logs
            if (batch_id is None or log.batch_id == batch_id) and (table is None or log.table == table)
        ]
        return sorted(selected, key=lambda log: (log.started_at, log.completed_at))

    def save_batch(self, batch: BatchRecord) -> Path:
        """Record a batch once; a later sighting only updates where it was read and archived, and the file's
        fingerprint then."""
        path = self.root.catalog_batches_dir() / f"{batch.batch_id}.json"
        known = self.get_batch(batch.batch_id)
        where = {"source_path": batch.source_path, "archive_file": batch.archive_file, "fingerprint": batch.fingerprint}
        if known is None:
            write_model(path, batch)
        elif any(getattr(known, name) != value for name, value in where.items()):
            write_model(path, known.model_copy(update=where))
        return path

    def save_check_results(self, results: CheckResults) -> Path:
        path = self.root.checks_dir() / f"{results.table}--{results.batch_id}.json"
        write_model(path, results)
        return path

    def get_check_results(self, table: str, batch_id: str) -> CheckResults | None:
        """The latest evaluation of a gold table's checks for one batch."""
        path = self.root.checks_dir() / f"{table}--{batch_id}.json"
        return CheckResults.model_validate_json(path.read_text("utf-8")) if path.exists() else None

    def list_batches(self, table: str | None = None) -> list[BatchRecord]:
        """Every recorded version of a table's source file (all tables if None), oldest first."""
        batches = [
            BatchRecord.model_validate_json(path.read_text("utf-8"))
            for path in self.root.catalog_batches_dir().glob("*.json")
        ]
        return sorted(
            (batch for batch in batches if table is None or batch.table == table), key=lambda b: b.first_seen_at
        )

    def get_batch(self, batch_id: str) -> BatchRecord | None:
        path = self.root.catalog_batches_dir() / f"{batch_id}.json"
        return BatchRecord.model_validate_json(path.read_text("utf-8")) if path.exists() else None
