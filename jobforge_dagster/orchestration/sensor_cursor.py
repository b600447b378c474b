"""What the new-source-files sensor remembers between ticks: small whatever `source/` holds.

A watermark (the newest inode-change time handled), the few files seen changing on the last tick or left for the
next one, the inode of each sub-folder (a folder moved in keeps its files' change times), the files handled at
the watermark's own time, and the files whose run was requested but whose bytes are not in gold yet
(`unsettled`). It never lists every file it has seen.
"""

from collections.abc import Iterator

from pydantic import BaseModel, Field

from jobforge_dagster.sources.scan import SourceFile


class Requested(BaseModel):
    """A file whose run was requested and whose bytes are not in gold yet: the bytes, the table version the run
    was requested under, and the file's signature then."""

    sha256: str
    table_version: str
    signature: tuple[int, int, int]


class SourceCursor(BaseModel):
    """The sensor's cursor."""

    watermark_ns: int = Field(default=0, description="Newest st_ctime_ns among files already handled.")
    pending: dict[str, tuple[int, int, int]] = Field(
        default_factory=dict,
        description="Files seen changing, or ready and left for the next tick: path (as UTF-8 text) -> "
        "(size, mtime_ns, ctime_ns) last tick.",
    )
    folders: dict[str, int] = Field(
        default_factory=dict,
        description="Sub-folders holding source files, as last listed: path -> inode. A folder moved in keeps "
        "its files' change times, so every file of a folder not listed before is looked at once.",
    )
    at_watermark: dict[str, tuple[int, int, int]] = Field(
        default_factory=dict,
        description="Files handled whose change time is the watermark itself: path -> signature. A coarse clock "
        "(an object's last-modified second) gives several files that time; one not in this list is still new.",
    )
    unsettled: dict[str, Requested] = Field(
        default_factory=dict,
        description="Files whose run was requested and whose bytes are not in gold yet: the same bytes seen again "
        "start no second run, and a new table version (a registry or code fix, once reloaded) requests them again. "
        "A file leaves once gold holds its bytes, or once it is gone or refused.",
    )


def settled(file: SourceFile, settled_ns: int) -> bool:
    """Whether the file was last written (modified or its inode changed) at or before `settled_ns`."""
    return max(file.mtime_ns, file.ctime_ns) <= settled_ns


def plan_tick(
    files: Iterator[SourceFile], cursor: SourceCursor, settled_ns: int = 0
) -> tuple[list[SourceFile], SourceCursor]:
    """(files ready to load, oldest change first; the next cursor): a file is ready when last written at or
    before `settled_ns` (the tick's time minus the settle time), or unchanged since the previous tick (a clock
    that disagrees with the file's times). The next cursor's watermark passes a ready file only once it is
    handled (`handled`)."""
    ready: list[SourceFile] = []
    pending: dict[str, tuple[int, int, int]] = {}
    folders: dict[str, int] = {}
    for file in files:
        key = file.key
        if file.folder:
            folders[file.folder] = file.folder_inode
        known = not file.folder or cursor.folders.get(file.folder) == file.folder_inode
        seen = file.ctime_ns < cursor.watermark_ns or cursor.at_watermark.get(key) == file.signature
        if file.ctime_ns <= cursor.watermark_ns and seen and key not in cursor.pending and known:
            continue  # handled before and not touched since
        if settled(file, settled_ns) or cursor.pending.get(key) == file.signature:
            ready.append(file)
        else:
            pending[key] = file.signature
    ready.sort(key=lambda file: file.ctime_ns)
    return ready, SourceCursor(
        watermark_ns=cursor.watermark_ns,
        pending=pending,
        folders=folders,
        at_watermark=dict(cursor.at_watermark),
        unsettled=dict(cursor.unsettled),
    )


def handled(cursor: SourceCursor, file: SourceFile) -> None:
    """The watermark passes a file once it is requested, skipped or reported; files handled at the watermark's
    own time are remembered, so another file of that same time is not taken for handled."""
    if file.ctime_ns > cursor.watermark_ns:
        cursor.watermark_ns, cursor.at_watermark = file.ctime_ns, {}
    if file.ctime_ns == cursor.watermark_ns:
        cursor.at_watermark[file.key] = file.signature


def noting(
    files: Iterator[SourceFile], keys: dict[str, Requested], listed: dict[str, SourceFile]
) -> Iterator[SourceFile]:
    """`files`, noting in `listed` those whose key is in `keys` as they pass (the folder is listed once a tick)."""
    for file in files:
        if file.key in keys:
            listed[file.key] = file
        yield file


def already_requested(cursor: SourceCursor, file: SourceFile, sha256: str, version: str) -> bool:
    """Whether a run for these bytes under this table version was requested and has not loaded them yet; the file
    is noted as requested either way (its signature now)."""
    known = cursor.unsettled.get(file.key)
    cursor.unsettled[file.key] = Requested(sha256=sha256, table_version=version, signature=file.signature)
    return known is not None and (known.sha256, known.table_version) == (sha256, version)


def arrival_key(table: str, sha256: str, file: SourceFile, version: str) -> str:
    """A run's key: the arrival (table, the file's sha256 and change time) under the table's version. The same
    sighting gives the same key (a tick evaluated again after a restart starts no second run); another arrival
    of the same bytes (A -> B -> A) or a new table version gives a new one."""
    return f"{table}:{sha256}:{file.ctime_ns}:{version}"
