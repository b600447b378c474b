"""Atomic writes: readers see the old file or the new one, never a partial one, on any storage (`storage_of`)."""

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from jobforge_dagster.storage import storage_of
from jobforge_dagster.storage.paths import DataPath


def atomic_path(final: DataPath, durable: bool = True) -> contextlib.AbstractContextManager[Path]:
    """A local path to write `final`'s new content to; it replaces `final` only if the block succeeds (a block
    that deletes it leaves `final` as it was). `durable` syncs a local file to disk before the rename."""
    return storage_of(final).atomic_path(final, durable)


def hidden_temporary(final: DataPath) -> Path:
    """A temporary to write `final` to: hidden beside it locally (stale ones are removed by the next run), a
    local spool file for an object (nothing is written under a temporary key)."""
    return storage_of(final).temporary_for(final)


def move_into_place(temporary: Path, final: DataPath) -> None:
    """A temporary's content becomes `final`: a rename locally, one upload to an object."""
    storage_of(final).move_into_place(temporary, final)


def link_atomic(existing: DataPath, link: DataPath) -> None:
    """Make `link` another name for `existing`: a hard link locally, a server-side copy on object storage."""
    storage_of(link).link(existing, link)


class AtomicGroup:
    """Files written together: each to its temporary, moved into place in order only once every one was written
    (a full disk leaves all the previous files as they were).

    On object storage each is uploaded to its final key, in the order they joined the group, once every one was
    written locally: each object appears whole, but a reader between two uploads sees the first without the next.
    """

    def __init__(self) -> None:
        self._pairs: list[tuple[Path, DataPath]] = []

    def path(self, final: DataPath) -> Path:
        """A temporary to write `final`'s new content to."""
        temporary = hidden_temporary(final)
        self._pairs.append((temporary, final))
        return temporary

    def adopt(self, temporary: Path, final: DataPath) -> None:
        """A temporary written beforehand (beside `final`, or a spool file) joins the group."""
        self._pairs.append((Path(temporary), final))

    def write_model(self, final: DataPath, model: BaseModel) -> None:
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


def write_model(path: DataPath, model: BaseModel, durable: bool = True) -> None:
    """Write a pydantic model as indented JSON, atomically (`durable`: synced to disk before the rename; without,
    a power cut may leave the file empty: for files that are only a cache)."""
    with atomic_path(path, durable) as temporary:
        temporary.write_text(model.model_dump_json(indent=2), encoding="utf-8")
