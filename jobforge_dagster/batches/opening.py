"""Opening a batch: a table's source file found, hashed while it is validated, archived, and recorded."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jobforge_dagster.batches.archive import archive_mode, archive_source
from jobforge_dagster.batches.stamps import batch_id_for
from jobforge_dagster.catalog.models import BatchRecord
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.errors import SourceChangedError, SourceDataError
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.tables import TableFiles
from jobforge_dagster.storage import storage_of
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.files import fingerprint, sha256_file
from jobforge_dagster.storage.object_store import fetch
from jobforge_dagster.transforms import staged

if TYPE_CHECKING:
    from upath import UPath


@dataclass(frozen=True)
class OpenedSource:
    """A table's source file as found: its batch (saved), its fingerprint once hashed and archived (size,
    times, inode), and its validated scan or what reading it raised (raised once the batch is known, so the
    failure is logged against it)."""

    path: Path
    batch: BatchRecord
    fingerprint: str
    read: staged.SourceRead | Exception

    def scan(self) -> staged.SourceRead:
        if isinstance(self.read, Exception):
            raise self.read
        return self.read

    def guard(self, rows: int) -> None:
        """Before the staged file is committed: the source is unchanged and every record it holds was read."""
        if fingerprint(self.path) != self.fingerprint:
            raise SourceChangedError(
                f"{self.batch.source_file} changed while it was being read; run again once it is complete"
            )
        records = self.scan().records
        if records is not None and rows != records:
            raise SourceDataError(f"read {rows} records but the file holds {records}", file=self.batch.source_file)


def open_batch(files: TableFiles, root: DataRoot, catalog: CatalogManager) -> OpenedSource | None:
    """Find the table's source file, hash it while it is validated, and save its batch; None if no file matches.

    A source on object storage is fetched once (its fingerprint, size + ETag + last-modified, taken before and
    after) and the local copy is read, hashed and archived.
    """
    spec, source = files.spec, files.source
    if source is None:
        return None
    storage = storage_of(source)
    display = root.relative(source)
    before = fingerprint(source)
    bytes_at, sha, read = (
        fetch_and_read(source, spec, display) if storage.remote else read_hashing(source, spec, display)
    )
    if fingerprint(source) != before:
        raise SourceChangedError(f"{display} changed while it was being read; run again once it is complete")
    mode = archive_mode(spec.archive)
    if storage.remote and mode == "link":  # the local copy is archived: an object has no hard links
        mode = "copy"
    archived, guard = archive_source(root, spec.name, bytes_at, sha, before, mode)
    batch = BatchRecord(
        batch_id=batch_id_for(spec.name, sha),
        table=spec.name,
        source_file=display,
        sha256=sha,
        size_bytes=source.stat().st_size,
        source_path=str(source.absolute()),
        archive_file=root.relative(archived) if archived is not None else None,
        fingerprint=guard,
    )
    catalog.save_batch(batch)
    return OpenedSource(source, batch, guard, read)


def read_hashing(source: Path, spec: TableSpec, display: str) -> tuple[Path, str, staged.SourceRead | Exception]:
    """A local source: (itself, its sha256, its validated scan or what reading it raised), hashed while read.

    hashlib and DuckDB release the GIL, so the sha256 pass and the validation pass overlap.
    """
    read: staged.SourceRead | Exception
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as pool:
        digest = pool.submit(sha256_file, source)
        try:
            read = staged.read_source(source, spec, display)
        except Exception as error:  # raised by OpenedSource.scan, once the batch exists
            read = error
        return source, digest.result(), read


def fetch_and_read(source: "UPath", spec: TableSpec, display: str) -> tuple[Path, str, staged.SourceRead | Exception]:
    """A source on object storage, fetched once: (the local copy, the sha256 of the bytes fetched, its validated
    scan or what reading it raised). The copy is what the run reads and archives: the same bytes as hashed."""
    local, sha = fetch(source)
    try:
        return local, sha, staged.read_source(local, spec, display)
    except Exception as error:  # raised by OpenedSource.scan, once the batch exists
        return local, sha, error
