"""Reading files safely on any storage: fingerprints, regular files only, sha256, locks, stale temporaries."""

import contextlib
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


class StaleTemporaries:
    """Hidden temporaries a killed writer left, each folder listed once for the life of this object (one run):
    a step per table would otherwise list folders that hold a file or more per table. A temporary written after
    its folder was listed is left for the next run."""

    def __init__(self) -> None:
        self._listed: dict[str, list[str]] = {}

    def remove(self, folder: DataPath, prefix: str, *, within: bool = False) -> list[DataPath]:
        """Delete the temporaries of files named `prefix...` in `folder` (with `within`, whose name holds `prefix`
        anywhere). Call only while holding the lock that covers those files."""
        key = str(folder)
        if key not in self._listed:
            self._listed[key] = storage_of(folder).temporaries(folder)
        removed = []
        for name in self._listed[key]:
            if prefix in name[1:] if within else name[1:].startswith(prefix):
                with contextlib.suppress(FileNotFoundError):
                    Path(folder, name).unlink()
                    removed.append(Path(folder, name))
        return removed
