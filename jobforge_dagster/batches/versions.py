"""What "current" means for a table's layer files: the same source bytes, registry entry and transform code.

Every layer file carries its batch (the source's sha256) and the table version it was built under in its
parquet key-value metadata. A table version is a digest of the table's registry entry and of the code that
shapes layer output (`code`), so a registry or code change makes every layer out of date.
"""

import functools
import hashlib
from pathlib import Path

from jobforge_dagster.batches.code import kept_code_digest
from jobforge_dagster.batches.stamps import layer_stamp
from jobforge_dagster.catalog.models import BatchRecord, FileSeal
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import Layer
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.tables import TableFiles
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.files import fingerprint, sha256_file


@functools.cache
def output_code_version() -> str:
    return kept_code_digest()


def table_version(spec: TableSpec, code: str | None = None) -> str:
    """16 hex digits naming the table's registry entry together with the output code."""
    entry = spec.model_dump_json(exclude_none=True)
    return hashlib.sha256(f"{code or output_code_version()}\n{entry}".encode()).hexdigest()[:16]


def source_sha256(root: DataRoot, files: TableFiles, known: str | None) -> tuple[Path, str] | None:
    """(the table's source file, its sha256); the file is hashed only when its size, modification time, inode or
    change time differ from those recorded with batch `known`. None when no file matches."""
    path = files.source
    if path is None:
        return None
    catalog = CatalogManager(root)
    return path, recorded_or_hashed(catalog, catalog.get_batch(known) if known else None, path)


def recorded_or_hashed(catalog: CatalogManager, record: BatchRecord | None, path: Path) -> str:
    """The sha256 of source `path`: the record's while the file is the one it was read from, unchanged; else the
    file is hashed, and a record whose bytes it still holds takes the file as it is now (its path and
    fingerprint), so a data root copied or moved, or a file back from another version, is hashed once."""
    if record is not None and unchanged(record, path):
        return record.sha256
    before = fingerprint(path)
    sha = hash_of(path)
    if record is not None and sha == record.sha256 and fingerprint(path) == before:
        catalog.save_batch(record.model_copy(update={"source_path": str(path.absolute()), "fingerprint": before}))
    return sha


def unchanged(record: BatchRecord, path: Path) -> bool:
    """Whether `path` is the file batch `record` was read from, with the same fingerprint."""
    return record.source_path == str(path.absolute()) and record.fingerprint == fingerprint(path)


def hash_of(path: Path) -> str:
    return sha256_file(path)


def holds_batch(root: DataRoot, files: TableFiles, batch_id: str, sha256: str) -> bool:
    """Whether the table's source file holds the bytes of batch `batch_id` now. A file of another size is not
    hashed (the build that follows hashes it once); an unchanged fingerprint reuses the recorded sha256."""
    path = files.source
    if path is None:
        return False
    catalog = CatalogManager(root)
    record = catalog.get_batch(batch_id)
    if record is not None and not unchanged(record, path) and record.size_bytes != path.stat().st_size:
        return False
    return recorded_or_hashed(catalog, record, path) == sha256


def current_batch(root: DataRoot, files: TableFiles, layers: list[Layer]) -> str | None:
    """The batch every one of `layers` already holds when the source's bytes, the registry entry and the code
    are those it was built from, and each layer file is the one its run wrote (`layer_intact`); None when any of
    them must be rebuilt."""
    spec = files.spec
    version = table_version(spec)
    stamps = [layer_stamp(root.table_path(layer, spec.layer_table(layer))) for layer in layers]
    built = [stamp for stamp in stamps if stamp is not None and stamp.table_version == version]
    if not stamps or len(built) != len(stamps) or len({(s.batch_id, s.source_sha256) for s in built}) != 1:
        return None
    if not all(layer_intact(root, layer, spec.layer_table(layer)) for layer in layers):
        return None
    return built[0].batch_id if holds_batch(root, files, built[0].batch_id, built[0].source_sha256) else None


def layer_intact(root: DataRoot, layer: Layer, table: str) -> bool:
    """Whether `<layer>/<table>.parquet` holds the bytes its run wrote, as its catalog entry records them: its
    fingerprint is the one sealed (`FileSeal`), else its sha256 is the entry's (and the seal is refreshed). A layer
    with no catalog entry, or whose entry records no sha256, is not intact."""
    catalog, path = CatalogManager(root), root.table_path(layer, table)
    try:
        entry = catalog.load_table_metadata(table, layer.value)
        now = fingerprint(path)
    except (OSError, ValueError):
        return False
    if entry is None or entry.file_sha256 is None:
        return False
    seal = catalog.load_seal(layer.value, table)
    if seal is not None and (seal.sha256, seal.fingerprint) == (entry.file_sha256, now):
        return True
    try:
        if sha256_file(path) != entry.file_sha256:
            return False
    except OSError:
        return False
    catalog.save_seal(layer.value, table, FileSeal(sha256=entry.file_sha256, fingerprint=now))
    return True
