"""Object storage (`s3://bucket/prefix`) behind the data root: paths, uploads, fingerprints and polars' options.

A data root or source folder given as a URL is a `upath.UPath` on fsspec's s3fs, configured by the standard AWS
variables only (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`/`AWS_REGION`).
A local folder stays a `pathlib.Path`, and every local code path is unchanged.

Object storage has no rename: an object is written once to its final key, from a local spool file (one PUT, or a
multipart upload that becomes visible only when completed), so no reader ever sees part of an object.
"""

import atexit
import functools
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Union

import polars as pl
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from upath import UPath

#: What a data path is: a local path, or an object-store path (`upath.UPath`).
DataPath = Union[Path, "UPath"]  # noqa: UP007 - a forward reference: upath is imported only when needed
ENDPOINT_ENV = "AWS_ENDPOINT_URL"
REGION_ENVS = ("AWS_REGION", "AWS_DEFAULT_REGION")


def is_url(value: str) -> bool:
    """Whether a configured root names object storage (`s3://...`) rather than a local folder."""
    return "://" in value and not value.startswith("file://")


def is_remote(path: object) -> bool:
    """Whether a data path lives on object storage."""
    return not isinstance(path, os.PathLike) and hasattr(path, "protocol")


def as_path(value: str) -> DataPath:
    """A configured root as a path: `UPath` for a URL (listings never cached: other processes write too), else
    a local `Path`."""
    if not is_url(value):
        return Path(value)
    try:
        from upath import UPath
    except ImportError as missing:
        extra = "pip install 'jobforge_dagster[s3]'"
        raise ImportError(f"{value}: object storage needs the s3 extra ({extra})") from missing
    return UPath(value.rstrip("/"), **(s3fs_options() if is_s3(value) else {}))


def is_s3(value: str) -> bool:
    """Whether a URL is on S3 (or an S3-compatible endpoint), the object storage the AWS variables configure."""
    return value.startswith(("s3://", "s3a://"))


def s3fs_options() -> dict[str, Any]:
    """s3fs's options from the standard AWS variables (so that a filesystem is reused only for the same endpoint
    and credentials); listings are never cached, since other processes write too."""
    options: dict[str, Any] = {"use_listings_cache": False}
    if endpoint := os.environ.get(ENDPOINT_ENV):
        options["endpoint_url"] = endpoint
    if key := os.environ.get("AWS_ACCESS_KEY_ID"):
        options |= {"key": key, "secret": os.environ.get("AWS_SECRET_ACCESS_KEY")}
    if region := region_from_env():
        options["client_kwargs"] = {"region_name": region}
    return options


def region_from_env() -> str | None:
    """`$AWS_REGION`, else `$AWS_DEFAULT_REGION`."""
    return next((os.environ[name] for name in REGION_ENVS if os.environ.get(name)), None)


def key_of(path: "UPath") -> str:
    """`bucket/key` of an object, as fsspec names it."""
    return path.path


def relative_part(path: DataPath, folder: DataPath) -> str | None:
    """`path` relative to `folder` as a POSIX string, or None when it is not inside it."""
    if is_remote(path) != is_remote(folder):
        return None
    if is_remote(path):
        inner, outer = str(path).rstrip("/"), str(folder).rstrip("/") + "/"
        return inner[len(outer) :] if inner.startswith(outer) else None
    path, folder = Path(path), Path(folder)
    return path.relative_to(folder).as_posix() if path.is_relative_to(folder) else None


@functools.cache
def spool_dir() -> Path:
    """This process's folder of local spool files (objects being written or read), removed when it exits."""
    folder = Path(tempfile.mkdtemp(prefix="jobforge-spool-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def spool_file(final: DataPath) -> Path:
    """A new local file name to write `final`'s content to before it is uploaded (its suffix kept)."""
    return spool_dir() / f"{uuid.uuid4().hex}-{final.name}"


def upload(local: Path, final: "UPath") -> None:
    """Write `local`'s bytes to `final` in one upload: the object appears whole, or not at all."""
    final.fs.put_file(str(local), key_of(final))


def copy_object(existing: "UPath", target: "UPath") -> None:
    """A server-side copy (one CopyObject: the new object appears whole)."""
    existing.fs.copy(key_of(existing), key_of(target))


def object_fingerprint(path: "UPath") -> str:
    """Size, ETag and last-modified time of an object: they change whenever the object is written again."""
    info = path.fs.info(key_of(path))
    modified = info.get("LastModified") or info.get("mtime")
    stamp = modified.timestamp() if hasattr(modified, "timestamp") else modified
    return f"{info['size']}:{str(info.get('ETag', '')).strip(chr(34))}:{stamp}"


def fetch(path: "UPath", chunk_size: int = 1 << 20) -> tuple[Path, str]:
    """Download an object once to a local spool file: (the file, the sha256 of the bytes fetched)."""
    local, digest = spool_file(path), hashlib.sha256()
    with path.fs.open(key_of(path), "rb") as reader, open(local, "wb") as writer:
        while chunk := reader.read(chunk_size):
            digest.update(chunk)
            writer.write(chunk)
    return local, digest.hexdigest()


def polars_storage_options(path: DataPath) -> dict[str, str] | None:
    """polars' object-store options for a remote path (None for a local one), from the AWS variables.

    `aws_allow_http` is an object_store key only: it is never handed to s3fs.
    """
    if not is_remote(path):
        return None
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


def scan_parquet(path: DataPath) -> pl.LazyFrame:
    """`pl.scan_parquet` of a local or remote layer file (a remote one through polars' own object store)."""
    if not is_remote(path):
        return pl.scan_parquet(path)
    return pl.scan_parquet(str(path), storage_options=polars_storage_options(path))


def read_footer(path: DataPath) -> pq.FileMetaData:
    """The parquet footer of a local or remote file (a remote one read by ranged requests)."""
    if not is_remote(path):
        return pq.read_metadata(path)
    with path.fs.open(key_of(path), "rb") as handle:
        return pq.read_metadata(handle)


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


def list_objects(folder: "UPath") -> Iterator[ListedObject]:
    """Every object under `folder` (one listing, nothing read); none if the prefix holds nothing."""
    prefix = key_of(folder).rstrip("/") + "/"
    try:
        listing = folder.fs.find(key_of(folder), detail=True)
    except FileNotFoundError:
        return
    for key, info in listing.items():
        if key.startswith(prefix) and info.get("type", "file") == "file":
            modified = info.get("LastModified")
            modified_ns = int(modified.timestamp() * 1_000_000_000) if modified is not None else 0
            etag = str(info.get("ETag", "")).strip('"')
            yield ListedObject(key[len(prefix) :], int(info["size"]), modified_ns, etag)


def open_bytes(path: DataPath) -> BinaryIO:
    """Open a local file or an object for reading bytes (an object streamed by ranged requests)."""
    return path.fs.open(key_of(path), "rb") if is_remote(path) else open(path, "rb")  # noqa: SIM115 - the caller closes it
