"""The data root: the one folder JobForge keeps every layer, catalog and batch in, with a method per folder.

A local folder or an object-store prefix such as `s3://bucket/prefix`; the source folder likewise. No other
module builds a path under the data root by hand.
"""

import os
import posixpath
from functools import cached_property
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, Field

from jobforge_dagster.layers import SOURCE, Layer
from jobforge_dagster.storage import storage_of
from jobforge_dagster.storage.base import Storage
from jobforge_dagster.storage.paths import DataPath, as_path, is_url, relative_part

DATA_ROOT_ENV = "JOBFORGE_DATA_ROOT"
SOURCE_ROOT_ENV = "JOBFORGE_SOURCE_ROOT"


def resolve_root(value: str) -> str:
    """A configured folder as an absolute path; a URL (`s3://bucket/prefix`) as given, without a trailing slash."""
    return value.rstrip("/") if is_url(value) else str(Path(value).resolve())


def default_data_root() -> str:
    """`$JOBFORGE_DATA_ROOT`, else `data/` under the working directory, as an absolute path (or a URL)."""
    return resolve_root(os.environ.get(DATA_ROOT_ENV) or "data")


def default_source_root() -> str | None:
    """`$JOBFORGE_SOURCE_ROOT` if set: read sources from there instead of `<data root>/source`."""
    value = os.environ.get(SOURCE_ROOT_ENV)
    return resolve_root(value) if value else None


class DataRoot(BaseModel):
    """The data root (and optionally a separate source folder).

    `source_root` lets a team read sources in place (a shared mount, a read-only folder) instead of
    `<data root>/source`; provenance still names them `source/<file>`.
    """

    model_config = ConfigDict(frozen=True)

    data_root: str = Field(description="Folder holding every layer (absolute path, or `s3://bucket/prefix`).")
    source_root: str | None = Field(
        default=None, description="Folder of source files (or `s3://bucket/prefix`); `<data_root>/source` when unset."
    )

    @classmethod
    def from_env(cls) -> "DataRoot":
        """`$JOBFORGE_DATA_ROOT` (default `./data`) and `$JOBFORGE_SOURCE_ROOT`."""
        return cls(data_root=default_data_root(), source_root=default_source_root())

    @cached_property
    def root(self) -> DataPath:
        return as_path(self.data_root)

    @property
    def storage(self) -> Storage:
        """Where the data root lives: a local folder or an object store."""
        return storage_of(self.root)

    @property
    def remote(self) -> bool:
        """Whether the data root is on object storage."""
        return self.storage.remote

    def source_dir(self) -> DataPath:
        return as_path(self.source_root) if self.source_root else self.root / SOURCE

    def layer_dir(self, layer: Layer) -> DataPath:
        return self.root / layer.value

    def table_path(self, layer: Layer, table: str) -> DataPath:
        return self.layer_dir(layer) / f"{table}.parquet"

    def batches_dir(self, layer: Layer, table: str) -> DataPath:
        """The kept batches of a staged, bronze or silver table, beside its current file."""
        return self.layer_dir(layer) / table

    def batch_path(self, layer: Layer, table: str, batch_id: str) -> DataPath:
        return self.batches_dir(layer, table) / f"batch={batch_id}.parquet"

    def quarantine_dir(self, table: str) -> DataPath:
        return self.root / "quarantine" / table

    def quarantine_path(self, table: str, batch_id: str) -> DataPath:
        return self.quarantine_dir(table) / f"{batch_id}.parquet"

    def rejected_path(self, table: str, batch_id: str) -> DataPath:
        """Where a gold candidate that failed a blocking check is set aside."""
        return self.root / "rejected" / table / f"{batch_id}.parquet"

    def raw_dir(self, table: str) -> DataPath:
        """The raw archive of a table: the exact bytes of each batch, named by their sha256."""
        return self.root / "raw" / table

    def lock_path(self, table: str) -> DataPath:
        return self.root / ".locks" / f"{table}.lock"

    def catalog_dir(self) -> DataPath:
        return self.root / "catalog"

    def catalog_tables_dir(self, layer: str | None = None) -> DataPath:
        folder = self.catalog_dir() / "tables"
        return folder / layer if layer else folder

    def catalog_lineage_dir(self) -> DataPath:
        return self.catalog_dir() / "lineage"

    def catalog_batches_dir(self) -> DataPath:
        return self.catalog_dir() / "batches"

    def checks_dir(self) -> DataPath:
        """Check results, one file per gold table and batch."""
        return self.catalog_dir() / "checks"

    def openlineage_dir(self) -> DataPath:
        """OpenLineage events, one JSON file each."""
        return self.catalog_dir() / "openlineage"

    def locate(self, relative: str) -> DataPath:
        """The file a name written into data stands for (the inverse of `relative`): `source/...` in the source
        folder, anything else under the data root. A ValueError when it leads outside that folder (`..`, an
        absolute path, or a symbolic link to elsewhere)."""
        in_source = relative.startswith(f"{SOURCE}/")
        folder = self.source_dir() if in_source else self.root
        inner = relative.removeprefix(f"{SOURCE}/") if in_source else relative
        where = "the source folder" if in_source else "the data root"
        if PurePosixPath(inner).is_absolute() or posixpath.normpath(inner).split("/")[0] in ("..", "."):
            raise ValueError(f"leads outside {where} {folder}")
        path = folder / inner
        try:
            target = self.storage.resolved(path)
        except OSError as error:
            raise ValueError(f"is {error.strerror}") from None
        if not self.remote and not Path(target).is_relative_to(Path(self.storage.resolved(folder))):
            raise ValueError(f"leads outside {where} {folder} (to {target})")
        return path

    def looked_in(self) -> str:
        """Where JobForge looked, and the variables that choose it, for a message about what it did not find:
        `data root /x/data (does not exist), source folder /x/data/source; JOBFORGE_DATA_ROOT is not set ...`."""
        data, source = self.root, self.source_dir()
        missing = {folder: "" if folder.exists() else " (does not exist)" for folder in (data, source)}
        said = [
            f"{name}={os.environ[name]}" if os.environ.get(name) else f"{name} is not set ({default})"
            for name, default in ((DATA_ROOT_ENV, f"./data in {os.getcwd()}"), (SOURCE_ROOT_ENV, "<data root>/source"))
        ]
        return (
            f"data root {self.data_root}{missing[data]}, source folder {source}{missing[source]}; {', '.join(said)}"
        )

    def relative(self, path: DataPath) -> str:
        """A path as written into data: relative to the data root (sources as `source/...`), POSIX style."""
        if (inside := relative_part(path, self.source_dir())) is not None:
            return f"{SOURCE}/{inside}" if inside != "." else SOURCE
        if (inside := relative_part(path, self.root)) is not None:
            return inside
        raise ValueError(f"{path} is outside the data root {self.root}")
