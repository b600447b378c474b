"""What JobForge asks of the place its data lives, whether a local folder or an object store."""

import hashlib
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, BinaryIO

from jobforge_dagster.storage.paths import DataPath


class Storage(ABC):
    """One implementation per kind of place (`storage_of` chooses by the path): writes that appear whole,
    fingerprints, reads that never block, locks, and the options polars and DuckDB need to read there."""

    remote: bool = False

    @abstractmethod
    def atomic_path(self, final: DataPath, durable: bool = True) -> AbstractContextManager[Path]:
        """A local path to write `final`'s new content to; it replaces `final` only if the block succeeds."""

    @abstractmethod
    def temporary_for(self, final: DataPath) -> Path:
        """A new local file to write `final`'s content to before `move_into_place`."""

    @abstractmethod
    def move_into_place(self, temporary: Path, final: DataPath) -> None:
        """`temporary`'s content becomes `final`, whole."""

    @abstractmethod
    def link(self, existing: DataPath, link: DataPath) -> None:
        """`link` becomes another name for `existing` (replacing what was there), without copying where possible."""

    @abstractmethod
    def fingerprint(self, path: DataPath) -> str:
        """A string that changes whenever the file is written again."""

    @abstractmethod
    def open_regular(self, path: DataPath) -> BinaryIO:
        """The file opened for reading bytes; anything but a regular file is an OSError, raised without blocking."""

    @abstractmethod
    def not_regular(self, path: DataPath) -> str | None:
        """Why `path` must not be opened as a file (a FIFO would block the reader, a device never ends), or None."""

    @abstractmethod
    def lock(self, path: DataPath) -> AbstractContextManager[None]:
        """Hold an exclusive lock named by `path` for the block (where the place has locks)."""

    @abstractmethod
    def temporaries(self, folder: DataPath) -> list[str]:
        """Names of the hidden temporaries (`.<name>.<random>.tmp`) in a folder: none where writes never leave
        one."""

    @abstractmethod
    def remove(self, path: DataPath) -> None:
        """Delete a file if it exists (and its folder, locally, if that leaves it empty)."""

    @abstractmethod
    def polars_options(self, path: DataPath) -> dict[str, str] | None:
        """polars' `storage_options` to read or write `path` (None: a local file)."""

    @abstractmethod
    def uri(self, path: DataPath) -> str:
        """The path as a URI (`file:///...`, `s3://...`)."""

    @abstractmethod
    def resolved(self, path: DataPath) -> DataPath:
        """The path with links followed (an object is never a link); a loop of links is an OSError."""

    @abstractmethod
    def duckdb_filesystem(self, root: DataPath) -> Any | None:
        """The fsspec filesystem DuckDB must be given to read under `root` (None: DuckDB reads it itself)."""

    def sha256(self, path: DataPath, chunk_size: int = 1 << 20) -> str:
        """Hex sha256 of a file's bytes, read in chunks."""
        digest = hashlib.sha256()
        with self.open_regular(path) as handle:
            while chunk := handle.read(chunk_size):
                digest.update(chunk)
        return digest.hexdigest()
