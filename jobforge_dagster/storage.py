"""Atomic file writes: readers see the old file or the new one, never a partial one."""

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
from typing import BinaryIO

from pydantic import BaseModel


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a hidden temporary path beside `final`; rename it over `final` only if the block succeeds.

    A block that deletes the temporary file leaves `final` as it was.
    """
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


def hidden_temporary(final: Path) -> Path:
    """A hidden temporary name beside `final` (the folder is created); stale ones are removed by the next run."""
    final.parent.mkdir(parents=True, exist_ok=True)
    return final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")


class AtomicGroup:
    """Files written together: each to a hidden temporary beside its final name, renamed into place in order
    only once every one was written (a full disk leaves all the previous files as they were)."""

    def __init__(self) -> None:
        self._pairs: list[tuple[Path, Path]] = []

    def path(self, final: Path) -> Path:
        """A temporary to write `final`'s new content to."""
        temporary = hidden_temporary(Path(final))
        self._pairs.append((temporary, Path(final)))
        return temporary

    def adopt(self, temporary: Path, final: Path) -> None:
        """A temporary written beforehand (beside `final`, on the same filesystem) joins the group."""
        self._pairs.append((Path(temporary), Path(final)))

    def write_model(self, final: Path, model: BaseModel) -> None:
        self.path(final).write_text(model.model_dump_json(indent=2), encoding="utf-8")

    def commit(self) -> None:
        for temporary, _ in self._pairs:
            with open(temporary, "rb") as handle:
                os.fsync(handle.fileno())
        for temporary, final in self._pairs:
            os.replace(temporary, final)

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


def link_atomic(existing: Path, link: Path) -> None:
    """Make `link` another name for `existing` (a hard link), replacing any file already there atomically."""
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
    too (even with its modification time put back), and when a hard link to it is made."""
    status = os.stat(path)
    return f"{status.st_size}:{status.st_mtime_ns}:{status.st_ino}:{status.st_ctime_ns}"


def same_but_ctime(first: str, second: str) -> bool:
    """Whether two fingerprints agree on size, modification time and inode (a new hard link changes the rest)."""
    return first.rsplit(":", 1)[0] == second.rsplit(":", 1)[0]


def open_regular(path: Path) -> BinaryIO:
    """Open a regular file for reading; anything else (a FIFO, a device) is an OSError, raised without blocking."""
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
    """
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

    Call only while holding the lock that covers those files.
    """
    pattern = f".*{glob.escape(prefix)}*.tmp" if within else f".{glob.escape(prefix)}*.tmp"
    stale = list(folder.glob(pattern)) if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
