"""The raw archive: the exact bytes of every batch, content-addressed as `raw/<table>/<sha256><suffix>`.

A hard link where the source is on the data root's filesystem (no copy), a copy otherwise or when asked (on object
storage always a copy: an object uploaded once, from the local copy of the source the run read and hashed).
`$JOBFORGE_RAW_ARCHIVE` (or a table's `archive:` in the registry) chooses: `link` (default), `copy` or `off`.
A hard link shares the source's inode: a program that rewrites the source in place (not by replacing it)
changes the archived bytes too, which the trace detects (it checks the sha256) and reports, and which the next
batch of those bytes repairs (an archived file is checked before it is trusted); `copy` avoids it.
"""

import errno
import hashlib
import os
from pathlib import Path
from typing import Literal

from jobforge_dagster.errors import SourceChangedError
from jobforge_dagster.storage.atomic import atomic_path
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.files import fingerprint, same_but_ctime, sha256_file
from jobforge_dagster.storage.paths import is_remote

ARCHIVE_ENV = "JOBFORGE_RAW_ARCHIVE"
ArchiveMode = Literal["link", "copy", "off"]
MODES: tuple[ArchiveMode, ...] = ("link", "copy", "off")


def archive_mode(table_mode: ArchiveMode | None = None) -> ArchiveMode:
    """The registry's choice for the table if any, else `$JOBFORGE_RAW_ARCHIVE`, else `link`."""
    mode = table_mode or os.environ.get(ARCHIVE_ENV) or "link"
    if mode not in MODES:
        raise ValueError(f"{ARCHIVE_ENV}={mode!r}: expected one of {list(MODES)}")
    return mode  # type: ignore[return-value]


def archive_path(root: DataRoot, table: str, sha256: str, suffix: str) -> Path:
    return root.raw_dir(table) / f"{sha256}{suffix.lower()}"


def copy_hashing(source: Path, target: Path, chunk_size: int = 1 << 20) -> str:
    """Copy `source` to `target` and return the sha256 of the bytes copied."""
    digest = hashlib.sha256()
    with open(source, "rb") as reader, open(target, "wb") as writer:
        while chunk := reader.read(chunk_size):
            digest.update(chunk)
            writer.write(chunk)
    return digest.hexdigest()


def changed(source: Path) -> SourceChangedError:
    return SourceChangedError(f"{source.name} changed while it was archived; run again once it is complete")


def link_archive(source: Path, target: Path, before: str) -> str | None:
    """Hard-link the source at `target`; the source's fingerprint to compare against from now on (the link
    changes its change time), or None where the filesystem cannot link it. A link appears whole, so it needs
    no temporary file, and no rename changes the change time again after it is read."""
    if fingerprint(source) != before:
        raise changed(source)
    try:
        os.link(source, target)
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        return None
    linked = fingerprint(target)
    if not same_but_ctime(linked, before):
        target.unlink()
        raise changed(source)
    return linked


def archive_source(
    root: DataRoot, table: str, source: Path, sha256: str, before: str, mode: ArchiveMode
) -> tuple[Path | None, str]:
    """Archive the source's bytes once (content-addressed): (the archived file or None when archiving is off,
    the source's fingerprint to guard the rest of the run with).

    `before` is the source's fingerprint when it was hashed: a source replaced or rewritten since is refused. An
    archived file already there is kept only if it holds these bytes.
    """
    if mode == "off":
        return None, before
    target = archive_path(root, table, sha256, source.suffix)
    if target.exists():
        if holds(target, source, sha256):
            return target, before
        target.unlink()  # other bytes (e.g. a link to a source since rewritten in place): archived again below
    if is_remote(target):  # object storage: no folders, no hard links
        mode = "copy"
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
    if mode == "link" and (linked := link_archive(source, target, before)) is not None:
        return target, linked
    with atomic_path(target) as temporary:
        if copy_hashing(source, temporary) != sha256:
            raise changed(source)
    return target, before


def holds(target: Path, source: Path, sha256: str) -> bool:
    """Whether an archived file holds the bytes `sha256` names: the source itself (a link to the file just hashed),
    or a file with that sha256."""
    if not is_remote(target) and not is_remote(source) and os.path.samefile(target, source):
        return True
    return sha256_file(target) == sha256


def archived_bytes_intact(path: Path, sha256: str) -> bool:
    """Whether an archived file still holds the bytes its name promises."""
    return path.is_file() and sha256_file(path) == sha256
