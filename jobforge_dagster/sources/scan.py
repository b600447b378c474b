"""The source folder: the one walker over it, and the file that feeds a table."""

import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from jobforge_dagster.layers import SOURCE
from jobforge_dagster.storage import storage_of
from jobforge_dagster.storage.local import NOT_REGULAR
from jobforge_dagster.storage.object_store import list_objects
from jobforge_dagster.storage.paths import is_remote

if TYPE_CHECKING:
    from upath import UPath


#: Source formats read into the staged layer, by file suffix.
FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}


def printable(name: str) -> str:
    """A file name as valid UTF-8 text: bytes that are not UTF-8 written as `\\xNN`."""
    if name.isascii():
        return name
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class SourceFile:
    """A file under the source folder, with the stat taken when it was listed (of the file a link leads to;
    the change time is the newer of the link's and the file's, so a new link to an old file is new), and
    why it is refused before any read, if it is."""

    relative: str
    path: Path
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int = 0
    problem: str | None = None
    folder_inode: int = 0  # of the sub-folder holding it; 0 directly in the source folder
    remote: bool = False  # an object: `inode` is its ETag as a number, both times its last-modified time

    @property
    def signature(self) -> tuple[int, int, int]:
        """(size, modification time, change time) of a file; (size, last-modified time, ETag) of an object."""
        return (self.size, self.mtime_ns, self.inode if self.remote else self.ctime_ns)

    @property
    def key(self) -> str:
        """The relative path as valid UTF-8 text, as the sensor's cursor and the logs name it."""
        return printable(self.relative)

    @property
    def folder(self) -> str:
        """The sub-folder holding it, as `key` names it (`sub/inner`); empty directly in the source folder."""
        return self.key.rpartition("/")[0]

    @property
    def display(self) -> str:
        """The name written into data and messages: `source/<relative path>`."""
        return f"{SOURCE}/{self.key}"


def refusal(path: Path, relative: str, mode: int, inside: Path | None) -> str | None:
    """Why a listed file may not be read at all: a name that is not UTF-8, a link leading out of the source
    folder (`inside` is the folder, given for links only) or in a loop, or something other than a regular file."""
    if printable(relative) != relative:
        return f"refused: its name {os.fsencode(relative)!r} is not valid UTF-8; rename it"
    if inside is not None:
        try:
            target = Path(storage_of(path).resolved(path))
        except OSError:
            return "refused: a symbolic link loop (the link leads back to itself); remove it"
        if not target.is_relative_to(inside):
            return f"refused: a symbolic link to {target}, outside the source folder {inside}"
    kind = NOT_REGULAR.get(stat.S_IFMT(mode))
    return f"refused: not a regular file ({kind})" if kind else None


def source_file(path: Path, relative: str, source_dir: Path, folder_inode: int = 0) -> SourceFile:
    """A listed file's stat and, if it is refused, why; nothing is opened."""
    status = link = os.lstat(path)
    ctime, inside = status.st_ctime_ns, None
    if stat.S_ISLNK(link.st_mode):
        with contextlib.suppress(OSError):  # a dangling link: the run refuses it with the reason
            status = os.stat(path)
        ctime, inside = max(status.st_ctime_ns, link.st_ctime_ns), source_dir.resolve()
    problem = refusal(path, relative, status.st_mode, inside)
    return SourceFile(
        relative, path, status.st_size, status.st_mtime_ns, ctime, status.st_ino, problem, folder_inode
    )


def listed(name: str) -> bool:
    """Whether the walker lists a file of this name: not hidden, and with a source suffix."""
    return not name.startswith(".") and PurePosixPath(name).suffix.lower() in FORMATS


def scan_source(source_dir: Path, prefix: str = "") -> Iterator[SourceFile]:
    """Every file with a source suffix under `source_dir` (hidden names skipped), with its stat, in no order;
    with `prefix`, only those whose path relative to the folder starts with it (the rest are not stat'ed).

    Only directory entries are read and stat'ed: a FIFO or a device is listed (and refused), never opened.
    On object storage, one listing of the prefix (size, last-modified time, ETag).
    """
    if is_remote(source_dir):
        yield from (file for file in scan_objects(source_dir) if file.relative.startswith(prefix))
        return
    stack = [(Path(source_dir), "", 0)]
    while stack:
        folder, above, folder_inode = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            relative = f"{above}{entry.name}"
            if entry.name.startswith(".") or not (relative.startswith(prefix) or prefix.startswith(relative)):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append((Path(entry.path), f"{relative}/", entry.inode()))
            elif listed(entry.name) and relative.startswith(prefix):
                yield source_file(Path(entry.path), relative, source_dir, folder_inode)


def source_file_at(source_dir: Path, name: str) -> SourceFile | None:
    """The file the walker would list as `name` directly in a local source folder, stat'ed alone (no listing);
    None if there is none."""
    path = Path(source_dir) / name
    try:
        if not listed(name) or stat.S_ISDIR(os.lstat(path).st_mode):
            return None
    except OSError:
        return None
    return source_file(path, name, source_dir)


def scan_objects(source_dir: "UPath") -> Iterator[SourceFile]:
    """Every object with a source suffix under a source prefix (hidden names skipped), from one listing."""
    for listed in list_objects(source_dir):
        parts = listed.relative.split("/")
        if any(part.startswith(".") for part in parts) or PurePosixPath(parts[-1]).suffix.lower() not in FORMATS:
            continue
        path = source_dir.joinpath(*parts)
        modified = listed.modified_ns
        yield SourceFile(listed.relative, path, listed.size, modified, modified, listed.version, remote=True)
