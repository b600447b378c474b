"""Reading files safely on any storage: fingerprints, regular files only, sha256, locks, stale temporaries."""

from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

from jobforge_dagster.storage import storage_of
from jobforge_dagster.storage.paths import DataPath


def fingerprint(path: DataPath) -> str:
    """Changes whenever the file is written again: size, modification time, inode and change time locally (a
    new hard link changes it too); size, ETag and last-modified time of an object."""
    return storage_of(path).fingerprint(path)


def same_but_ctime(first: str, second: str) -> bool:
    """Whether two local fingerprints agree on size, modification time and inode (a new hard link changes the
    rest)."""
    return first.rsplit(":", 1)[0] == second.rsplit(":", 1)[0]


def open_regular(path: DataPath) -> BinaryIO:
    """Open a regular file for reading; anything else (a FIFO, a device) is an OSError, raised without blocking.
    An object is opened for streamed reads."""
    return storage_of(path).open_regular(path)


def not_regular(path: DataPath) -> str | None:
    """Why a file must not be opened (`is not a regular file (a FIFO)`), from its stat alone; None if it may."""
    return storage_of(path).not_regular(path)


def sha256_file(path: DataPath) -> str:
    """Hex sha256 of a regular file (or an object), read in chunks."""
    return storage_of(path).sha256(path)


def exclusive_lock(path: DataPath) -> AbstractContextManager[None]:
    """Hold an exclusive advisory lock on `path` until the block ends (waits for other holders); released by the
    operating system when the process dies. Object storage has no locks: Dagster's pools stand in."""
    return storage_of(path).lock(path)


def remove_stale_temporaries(folder: DataPath, prefix: str, *, within: bool = False) -> list[Path]:
    """Delete hidden temporaries a killed writer left for files named `prefix...` in `folder` (with `within`,
    files whose name holds `prefix` anywhere). Call only while holding the lock that covers those files."""
    return storage_of(folder).remove_stale_temporaries(folder, prefix, within)
