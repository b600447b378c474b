"""Atomic file writes: readers see the old file or the new one, never a partial one.

On a local disk: a hidden temporary beside the final name, renamed into place. On object storage (`object_store`):
the "temporary" is a local spool file, uploaded once to the final key; there is no rename and no temporary key.
"""

import contextlib
import errno
import fcntl
import glob
import hashlib
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from pydantic import BaseModel

from jobforge_dagster.storage.object_store import (
    DataPath,
    copy_object,
    is_remote,
    object_fingerprint,
    open_bytes,
    spool_file,
    upload,
)

if TYPE_CHECKING:
    from upath import UPath


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a hidden temporary path beside `final`; rename it over `final` only if the block succeeds.

    A block that deletes the temporary file leaves `final` as it was. On object storage the temporary is a local
    spool file, uploaded to `final` once the block succeeds.
    """
    if is_remote(final):
        yield from _spooled(final)
        return
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield temporary
        if not temporary.exists():
            return
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)


def _spooled(final: "UPath") -> Iterator[Path]:
    """`atomic_path` on object storage: a local spool file uploaded to `final` if the block succeeds."""
    spool = spool_file(final)
    try:
        yield spool
        if spool.exists():
            upload(spool, final)
    finally:
        spool.unlink(missing_ok=True)


def hidden_temporary(final: Path) -> Path:
    """A hidden temporary name beside `final` (the folder is created); stale ones are removed by the next run.
    On object storage, a local spool file (nothing is written under a temporary key)."""
    if is_remote(final):
        return spool_file(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    return final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")


class AtomicGroup:
    """Files written together: each to a hidden temporary beside its final name, renamed into place in order
    only once every one was written (a full disk leaves all the previous files as they were).

    On object storage each is uploaded to its final key, in the order they joined the group, once every one was
    written locally: each object appears whole, but a reader between two uploads sees the first without the next.
    """

    def __init__(self) -> None:
        self._pairs: list[tuple[Path, DataPath]] = []

    def path(self, final: Path) -> Path:
        """A temporary to write `final`'s new content to."""
        final = final if is_remote(final) else Path(final)
        temporary = hidden_temporary(final)
        self._pairs.append((temporary, final))
        return temporary

    def adopt(self, temporary: Path, final: Path) -> None:
        """A temporary written beforehand (beside `final`, on the same filesystem, or a spool file) joins the group."""
        self._pairs.append((Path(temporary), final if is_remote(final) else Path(final)))

    def write_model(self, final: Path, model: BaseModel) -> None:
        self.path(final).write_text(model.model_dump_json(indent=2), encoding="utf-8")

    def commit(self) -> None:
        for temporary, _ in self._pairs:
            with open(temporary, "rb") as handle:
                os.fsync(handle.fileno())
        for temporary, final in self._pairs:
            move_into_place(temporary, final)

    def discard(self) -> None:
        for temporary, _ in self._pairs:
            temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_group() -> Iterator[AtomicGroup]:
    """Write several files; they replace their final names only if the block succeeds."""
    group = AtomicGroup()
    try:
        yield group
        group.commit()
    finally:
        group.discard()


def move_into_place(temporary: Path, final: DataPath) -> None:
    """Rename a temporary over `final`; on object storage, upload the spool file to `final` and delete it."""
    if not is_remote(final):
        os.replace(temporary, final)
        return
    upload(temporary, final)
    temporary.unlink(missing_ok=True)


def link_atomic(existing: Path, link: Path) -> None:
    """Make `link` another name for `existing` (a hard link), replacing any file already there atomically.
    On object storage, which has no links: a server-side copy."""
    if is_remote(link):
        copy_object(existing, link)
        return
    temporary = link.with_name(f".{link.name}.{uuid.uuid4().hex}.tmp")
    try:
        os.link(existing, temporary)
        os.replace(temporary, link)
    finally:
        temporary.unlink(missing_ok=True)


def write_model(path: Path, model: BaseModel) -> None:
    """Write a pydantic model as indented JSON, atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(model.model_dump_json(indent=2), encoding="utf-8")


def fingerprint(path: Path) -> str:
    """Size, modification time, inode and change time: changes when a file is replaced or rewritten, in place
    too (even with its modification time put back), and when a hard link to it is made. An object's: size, ETag
    and last-modified time."""
    if is_remote(path):
        return object_fingerprint(path)
    status = os.stat(path)
    return f"{status.st_size}:{status.st_mtime_ns}:{status.st_ino}:{status.st_ctime_ns}"


def same_but_ctime(first: str, second: str) -> bool:
    """Whether two fingerprints agree on size, modification time and inode (a new hard link changes the rest)."""
    return first.rsplit(":", 1)[0] == second.rsplit(":", 1)[0]


def open_regular(path: Path) -> BinaryIO:
    """Open a regular file for reading; anything else (a FIFO, a device) is an OSError, raised without blocking.
    An object is opened for streamed reads."""
    if is_remote(path):
        return open_bytes(path)
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # replaced since the stat above
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a regular file, read in chunks."""
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on `path` (created if needed) until the block ends; waits for other holders.

    The operating system releases it when the process dies, so a killed run never leaves a table locked.
    Object storage has no locks: there Dagster's pools (`table_<name>`) alone keep one step per table, and a
    run refuses to start without a pool limit (`data_root.require_pool_limits`).
    """
    if is_remote(path):
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_stale_temporaries(folder: Path, prefix: str, *, within: bool = False) -> list[Path]:
    """Delete hidden temporaries a killed writer left for files named `prefix...` in `folder` (with `within`,
    files whose name holds `prefix` anywhere).

    Call only while holding the lock that covers those files. Object storage never holds temporaries: none.
    """
    if is_remote(folder):
        return []
    pattern = f".*{glob.escape(prefix)}*.tmp" if within else f".{glob.escape(prefix)}*.tmp"
    stale = list(folder.glob(pattern)) if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
