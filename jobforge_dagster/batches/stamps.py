"""Batches: one version of one source file. Opening one from the source, finding the batch a layer file
was built from, and the batch history kept beside each layer."""

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jobforge_dagster.batches.archive import archive_mode, archive_source
from jobforge_dagster.catalog.models import BatchRecord, TransitionFacts
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.errors import SourceChangedError, SourceDataError
from jobforge_dagster.layers import Layer
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.tables import find_source_file
from jobforge_dagster.storage import storage_of
from jobforge_dagster.storage.atomic import link_atomic
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.files import fingerprint, sha256_file
from jobforge_dagster.storage.object_store import fetch
from jobforge_dagster.storage.parquet import read_footer
from jobforge_dagster.transforms import staged

if TYPE_CHECKING:
    from upath import UPath

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


def parse_stamp(metadata: dict[bytes, bytes]) -> LayerStamp | None:
    """The stamp in a parquet footer's key-value metadata; None when it carries none."""
    if b"jobforge.batch_id" not in metadata or b"jobforge.source_sha256" not in metadata:
        return None
    version = metadata.get(b"jobforge.table_version")
    return LayerStamp(
        metadata[b"jobforge.batch_id"].decode(),
        metadata[b"jobforge.source_sha256"].decode(),
        version.decode() if version else None,
    )


def layer_stamp(path: Path) -> LayerStamp | None:
    """The stamp of a layer file; None when there is no readable file or it carries no JobForge stamp."""
    try:
        return parse_stamp(read_footer(path).metadata or {})
    except (OSError, ValueError):
        return None


def read_stamp(path: Path) -> tuple[str, str]:
    """(batch id, source sha256) of a layer file, from its parquet key-value metadata."""
    found = parse_stamp(read_footer(path).metadata or {})
    if found is None:
        raise ValueError(f"{path} carries no JobForge batch metadata; rebuild it from its source")
    return found.batch_id, found.source_sha256


def batch_of(path: Path, table: str, catalog: CatalogManager) -> BatchRecord:
    """The batch a layer file was built from (its catalog record, or what the file itself says)."""
    batch_id, sha = read_stamp(path)
    return catalog.get_batch(batch_id) or BatchRecord(
        batch_id=batch_id, table=table, source_file="", sha256=sha, size_bytes=0
    )


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


def open_batch(spec: TableSpec, root: DataRoot, catalog: CatalogManager) -> OpenedSource | None:
    """Find the table's source file, hash it while it is validated, and save its batch; None if no file matches.

    A source on object storage is fetched once (its fingerprint, size + ETag + last-modified, taken before and
    after) and the local copy is read, hashed and archived.
    """
    source = find_source_file(spec, root.source_dir())
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


def kept_batch(root: DataRoot, layer: Layer, table: str, batch_id: str) -> Path:
    """The kept file of one batch of a staged, bronze or silver table; a clear error listing the kept ones."""
    folder = root.batches_dir(layer, table)
    path = folder / f"batch={batch_id}.parquet"
    well_formed = re.fullmatch(rf"{re.escape(table)}-[0-9a-f]{{12}}", batch_id) is not None
    if well_formed and path.exists():
        return path
    kept = sorted(p.stem.removeprefix("batch=") for p in folder.glob("batch=*.parquet"))
    if not well_formed:
        raise FileNotFoundError(f"{batch_id!r} is not a batch id of {table} ({table}-<12 hex digits>); kept: {kept}")
    raise FileNotFoundError(f"no kept {layer.value} batch {batch_id!r} for {table}; kept: {kept}")


def keep_batch(root: DataRoot, layer: Layer, table: str, batch_id: str, retention: int | None) -> Path:
    """Keep the file just written as `<layer>/<table>/batch=<id>.parquet` (a hard link: no copy; on object
    storage a server-side copy) and drop the oldest batch files beyond `retention` (None: keep all)."""
    kept = root.batch_path(layer, table, batch_id)
    link_atomic(root.table_path(layer, table), kept)
    if retention:
        history = sorted(kept.parent.glob("batch=*.parquet"), key=lambda path: path.stat().st_mtime_ns)
        for old in history[: max(len(history) - retention, 0)]:
            if old != kept:
                old.unlink(missing_ok=True)
    return kept
