"""Object storage (`s3://bucket/prefix`): an object is written once to its final key from a local spool file.

A data root or source folder given as a URL is a `upath.UPath` on fsspec's s3fs, configured by the standard AWS
variables only (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`/`AWS_REGION`).
Object storage has no rename: one PUT, or a multipart upload that becomes visible only when completed, so no
reader ever sees part of an object. It has no locks either: Dagster's pools keep one step per table.
"""

import atexit
import contextlib
import functools
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from jobforge_dagster.errors import ConfigurationError
from jobforge_dagster.storage.base import Storage
from jobforge_dagster.storage.paths import ENDPOINT_ENV, DataPath, is_s3, region_from_env

if TYPE_CHECKING:
    from upath import UPath


def key_of(path: "UPath") -> str:
    """`bucket/key` of an object, as fsspec names it."""
    return path.path


@functools.cache
def spool_dir() -> Path:
    """This process's folder of local spool files (objects being written or read), removed when it exits."""
    folder = Path(tempfile.mkdtemp(prefix="jobforge-spool-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def spool_file(final: DataPath) -> Path:
    """A new local file name to write `final`'s content to before it is uploaded (its suffix kept)."""
    return spool_dir() / f"{uuid.uuid4().hex}-{final.name}"


def fetch(path: "UPath", chunk_size: int = 1 << 20) -> tuple[Path, str]:
    """Download an object once to a local spool file: (the file, the sha256 of the bytes fetched)."""
    local, digest = spool_file(path), hashlib.sha256()
    with path.fs.open(key_of(path), "rb") as reader, open(local, "wb") as writer:
        while chunk := reader.read(chunk_size):
            digest.update(chunk)
            writer.write(chunk)
    return local, digest.hexdigest()


@dataclass(frozen=True)
class ListedObject:
    """An object under a prefix as listed: its key relative to the prefix, size, last-modified time and ETag."""

    relative: str
    size: int
    modified_ns: int
    etag: str

    @property
    def version(self) -> int:
        """The ETag as a non-negative 63-bit number (it changes whenever the object is written again)."""
        return int(hashlib.sha256(self.etag.encode()).hexdigest()[:15], 16)


def unreachable(error: BaseException, path: DataPath) -> str | None:
    """What to set when `error` says object storage cannot be reached at all (no credentials, an endpoint that
    does not answer), as one line naming `path`; None for any other error."""
    names = {kind.__name__ for kind in type(error).__mro__}
    if names & {"NoCredentialsError", "PartialCredentialsError"}:
        return (
            f"{path}: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            f"(and AWS_ENDPOINT_URL for an endpoint other than AWS)"
        )
    if names & {"EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"}:
        endpoint = os.environ.get(ENDPOINT_ENV) or "of AWS S3 (no AWS_ENDPOINT_URL set)"
        return f"{path}: the endpoint {endpoint} cannot be reached ({error}); check AWS_ENDPOINT_URL and the network"
    cause = error.__cause__ or error.__context__
    return unreachable(cause, path) if cause is not None else None


@contextlib.contextmanager
def reaching(path: DataPath) -> Iterator[None]:
    """Object storage that cannot be reached becomes a ConfigurationError of one line (`unreachable`); any other
    error (and every error of a local folder) passes as it is."""
    try:
        yield
    except Exception as error:
        if (reason := unreachable(error, path)) is None:
            raise
        raise ConfigurationError(reason) from None


def list_objects(folder: "UPath") -> Iterator[ListedObject]:
    """Every object under `folder` (one listing, nothing read); none if the prefix holds nothing. Storage that
    cannot be reached is a ConfigurationError saying what to set."""
    prefix = key_of(folder).rstrip("/") + "/"
    try:
        with reaching(folder):
            listing = folder.fs.find(key_of(folder), detail=True)
    except FileNotFoundError:
        return
    for key, info in listing.items():
        if key.startswith(prefix) and info.get("type", "file") == "file":
            modified = info.get("LastModified")
            modified_ns = int(modified.timestamp() * 1_000_000_000) if modified is not None else 0
            etag = str(info.get("ETag", "")).strip('"')
            yield ListedObject(key[len(prefix) :], int(info["size"]), modified_ns, etag)


class ObjectStorage(Storage):
    """Paths are `upath.UPath`; temporaries are local spool files; there are no folders, links or locks."""

    remote = True

    @contextlib.contextmanager
    def atomic_path(self, final: DataPath, durable: bool = True) -> Iterator[Path]:
        """A local spool file, uploaded to `final` once the block succeeds (if it still exists)."""
        spool = spool_file(final)
        try:
            yield spool
            if spool.exists():
                self.upload(spool, final)
        finally:
            spool.unlink(missing_ok=True)

    def temporary_for(self, final: DataPath) -> Path:
        return spool_file(final)

    def move_into_place(self, temporary: Path, final: DataPath) -> None:
        self.upload(temporary, final)
        temporary.unlink(missing_ok=True)

    def upload(self, local: Path, final: "UPath") -> None:
        """Write `local`'s bytes to `final` in one upload: the object appears whole, or not at all."""
        final.fs.put_file(str(local), key_of(final))

    def link(self, existing: DataPath, link: DataPath) -> None:
        """A server-side copy (one CopyObject: the new object appears whole)."""
        existing.fs.copy(key_of(existing), key_of(link))

    def fingerprint(self, path: DataPath) -> str:
        """Size, ETag and last-modified time: they change whenever the object is written again."""
        info = path.fs.info(key_of(path))
        modified = info.get("LastModified") or info.get("mtime")
        stamp = modified.timestamp() if hasattr(modified, "timestamp") else modified
        return f"{info['size']}:{str(info.get('ETag', '')).strip(chr(34))}:{stamp}"

    def open_regular(self, path: DataPath) -> BinaryIO:
        """Opened for streamed reads (ranged requests)."""
        return path.fs.open(key_of(path), "rb")

    def not_regular(self, path: DataPath) -> str | None:
        """An object is always a plain sequence of bytes."""
        return None

    @contextlib.contextmanager
    def lock(self, path: DataPath) -> Iterator[None]:
        """No lock: Dagster's pools (`table_<name>`) keep one step per table, and a run on object storage refuses
        to start without a pool limit."""
        yield

    def temporaries(self, folder: DataPath) -> list[str]:
        """Object storage never holds temporaries."""
        return []

    def remove(self, path: DataPath) -> None:
        path.unlink(missing_ok=True)

    def polars_options(self, path: DataPath) -> dict[str, str] | None:
        """polars' object-store options from the AWS variables. `aws_allow_http` is an object_store key only: it
        is never handed to s3fs."""
        options: dict[str, str] = {}
        if not is_s3(str(path)):  # another fsspec protocol: polars' own defaults from its environment
            return options
        if endpoint := os.environ.get(ENDPOINT_ENV):
            options["aws_endpoint_url"] = endpoint
            if endpoint.startswith("http://"):
                options["aws_allow_http"] = "true"
        if region := region_from_env():
            options["aws_region"] = region
        return options

    def uri(self, path: DataPath) -> str:
        return str(path)

    def resolved(self, path: DataPath) -> DataPath:
        return path

    def duckdb_filesystem(self, root: DataPath) -> Any | None:
        """The root's fsspec filesystem (DuckDB 2.0 cannot install `httpfs` offline)."""
        return root.fs
