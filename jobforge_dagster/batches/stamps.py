"""Batch stamps: every layer file names, in its parquet footer, the batch (one version of one source file) and
the table version it was built from."""

from dataclasses import dataclass
from pathlib import Path

from jobforge_dagster.catalog.models import BatchRecord, TransitionFacts
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.storage.parquet import read_key_value_metadata

#: Parquet key-value metadata in every layer file: the batch it was built from.
STAMP_KEYS = ("batch_id", "source_sha256", "table", "source_layer", "table_version")


def batch_id_for(table: str, sha256: str) -> str:
    """Deterministic: the same bytes of the same table are the same batch."""
    return f"{table}-{sha256[:12]}"


def stamp(facts: TransitionFacts) -> dict[str, str]:
    """The parquet key-value metadata that ties a layer file to its batch (and the table version it was built
    under, when known)."""
    values = {key: getattr(facts, key) for key in STAMP_KEYS}
    return {f"jobforge.{key}": str(value) for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class LayerStamp:
    """What a layer file says it was built from."""

    batch_id: str
    source_sha256: str
    table_version: str | None


def parse_stamp(metadata: dict[str, str]) -> LayerStamp | None:
    """The stamp in a parquet footer's key-value metadata; None when it carries none."""
    if "jobforge.batch_id" not in metadata or "jobforge.source_sha256" not in metadata:
        return None
    version = metadata.get("jobforge.table_version")
    return LayerStamp(metadata["jobforge.batch_id"], metadata["jobforge.source_sha256"], version or None)


def layer_stamp(path: Path) -> LayerStamp | None:
    """The stamp of a layer file; None when there is no readable file or it carries no JobForge stamp."""
    try:
        return parse_stamp(read_key_value_metadata(path))
    except (OSError, ValueError):
        return None


def read_stamp(path: Path) -> tuple[str, str]:
    """(batch id, source sha256) of a layer file, from its parquet key-value metadata."""
    found = parse_stamp(read_key_value_metadata(path))
    if found is None:
        raise ValueError(f"{path} carries no JobForge batch metadata; rebuild it from its source")
    return found.batch_id, found.source_sha256


def batch_of(path: Path, table: str, catalog: CatalogManager) -> BatchRecord:
    """The batch a layer file was built from (its catalog record, or what the file itself says)."""
    batch_id, sha = read_stamp(path)
    return catalog.get_batch(batch_id) or BatchRecord(
        batch_id=batch_id, table=table, source_file="", sha256=sha, size_bytes=0
    )


