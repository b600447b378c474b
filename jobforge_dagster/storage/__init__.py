"""Where JobForge keeps its data: the data root's folders, and the one piece that knows local folders from object
storage (`storage_of`), so that no other module asks which one it writes to."""

from jobforge_dagster.storage.base import Storage
from jobforge_dagster.storage.local import LocalStorage
from jobforge_dagster.storage.object_store import ObjectStorage
from jobforge_dagster.storage.paths import DataPath, is_remote

LOCAL: Storage = LocalStorage()
OBJECTS: Storage = ObjectStorage()


def storage_of(path: DataPath) -> Storage:
    """The storage a data path lives on: object storage for a `UPath` URL, else the local filesystem."""
    return OBJECTS if is_remote(path) else LOCAL


__all__ = ["DataPath", "Storage", "storage_of"]
