"""A local folder: writes go to a hidden temporary beside the final name and are renamed into place."""

import contextlib
import errno
import fcntl
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from jobforge_dagster.storage.base import Storage
from jobforge_dagster.storage.paths import DataPath

#: What a path may lead to instead of a regular file, by file type.
NOT_REGULAR: dict[int, str] = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
}


def hidden_name(final: Path) -> Path:
    """A hidden temporary name beside `final`: `.<name>.<random>.tmp`, removed by the next run if left."""
    return final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")


def fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


class LocalStorage(Storage):
    """Paths are `pathlib.Path`; renames are atomic, locks are advisory `flock`s released when a process dies."""

    remote = False

    @contextlib.contextmanager
    def atomic_path(self, final: DataPath, durable: bool = True) -> Iterator[Path]:
        """A block that deletes the temporary file leaves `final` as it was; `durable` fsyncs before the rename."""
        final = Path(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = hidden_name(final)
        try:
            yield temporary
            if not temporary.exists():
                return
            if durable:
                fsync_file(temporary)
            os.replace(temporary, final)
        finally:
            temporary.unlink(missing_ok=True)

    def temporary_for(self, final: DataPath) -> Path:
        final = Path(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        return hidden_name(final)

    def move_into_place(self, temporary: Path, final: DataPath) -> None:
        Path(final).parent.mkdir(parents=True, exist_ok=True)
        os.replace(temporary, final)

    def link(self, existing: DataPath, link: DataPath) -> None:
        """A hard link, replacing any file already there atomically."""
        link = Path(link)
        link.parent.mkdir(parents=True, exist_ok=True)
        temporary = hidden_name(link)
        try:
            os.link(existing, temporary)
            os.replace(temporary, link)
        finally:
            temporary.unlink(missing_ok=True)

    def fingerprint(self, path: DataPath) -> str:
        """Size, modification time, inode and change time: changes when a file is replaced or rewritten, in place
        too (even with its modification time put back), and when a hard link to it is made."""
        status = os.stat(path)
        return f"{status.st_size}:{status.st_mtime_ns}:{status.st_ino}:{status.st_ctime_ns}"

    def open_regular(self, path: DataPath) -> BinaryIO:
        """A FIFO, a device or a folder is refused before it is opened (and again once opened, if replaced)."""
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

    def not_regular(self, path: DataPath) -> str | None:
        """From the stat of what `path` leads to, nothing opened."""
        try:
            mode = os.stat(path).st_mode
        except OSError as error:
            return f"cannot be read ({error.strerror})"
        if stat.S_ISREG(mode):
            return None
        return f"is not a regular file ({NOT_REGULAR.get(stat.S_IFMT(mode), 'unknown')})"

    @contextlib.contextmanager
    def lock(self, path: DataPath) -> Iterator[None]:
        """Waits for other holders; the operating system releases it when the process dies."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def temporaries(self, folder: DataPath) -> list[str]:
        """One listing of the folder, no stat; none if it does not exist."""
        try:
            with os.scandir(folder) as entries:
                return [entry.name for entry in entries if entry.name.startswith(".") and entry.name.endswith(".tmp")]
        except (FileNotFoundError, NotADirectoryError):
            return []

    def remove(self, path: DataPath) -> None:
        path = Path(path)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()

    def polars_options(self, path: DataPath) -> dict[str, str] | None:
        return None

    def uri(self, path: DataPath) -> str:
        return Path(path).resolve().as_uri()

    def resolved(self, path: DataPath) -> DataPath:
        """Links followed; a loop of links is an OSError (ELOOP) naming it."""
        try:
            return Path(path).resolve()
        except RuntimeError:  # Python 3.11 raises it for a loop of links
            raise OSError(errno.ELOOP, "a symbolic link loop", str(path)) from None

    def duckdb_filesystem(self, root: DataPath) -> Any | None:
        return None
