"""The data root: the one folder JobForge keeps every layer, catalog and batch in, one method per folder."""

import os
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from jobforge_dagster.layers import SOURCE, Layer

DATA_ROOT_ENV = "JOBFORGE_DATA_ROOT"
SOURCE_ROOT_ENV = "JOBFORGE_SOURCE_ROOT"


def default_data_root() -> str:
    """`$JOBFORGE_DATA_ROOT`, else `data/` under the working directory, as an absolute path."""
    return str(Path(os.environ.get(DATA_ROOT_ENV) or "data").resolve())


def default_source_root() -> str | None:
    """`$JOBFORGE_SOURCE_ROOT` if set: read sources from there instead of `<data root>/source`."""
    value = os.environ.get(SOURCE_ROOT_ENV)
    return str(Path(value).resolve()) if value else None


class DataRoot(ConfigurableResource):
    """The data root (and optionally a separate source folder), as a Dagster resource.

    `source_root` lets a team read sources in place (a shared mount, a read-only folder) instead of
    `<data root>/source`; provenance still names them `source/<file>`.
    """

    data_root: str = Field(description="Folder holding every layer (absolute path).")
    source_root: str | None = Field(
        default=None, description="Folder of source files; `<data_root>/source` when unset."
    )

    @classmethod
    def from_env(cls) -> "DataRoot":
        """`$JOBFORGE_DATA_ROOT` (default `./data`) and `$JOBFORGE_SOURCE_ROOT`."""
        return cls(data_root=default_data_root(), source_root=default_source_root())

    @property
    def root(self) -> Path:
        return Path(self.data_root)

    def source_dir(self) -> Path:
        return Path(self.source_root) if self.source_root else self.root / SOURCE

    def layer_dir(self, layer: Layer) -> Path:
        return self.root / layer.value

    def table_path(self, layer: Layer, table: str) -> Path:
        return self.layer_dir(layer) / f"{table}.parquet"

    def batch_path(self, layer: Layer, table: str, batch_id: str) -> Path:
        """One kept batch of a staged, bronze or silver table, beside the current file."""
        return self.layer_dir(layer) / table / f"batch={batch_id}.parquet"

    def quarantine_path(self, table: str, batch_id: str) -> Path:
        return self.root / "quarantine" / table / f"{batch_id}.parquet"

    def lock_path(self, table: str) -> Path:
        return self.root / ".locks" / f"{table}.lock"

    def catalog_dir(self) -> Path:
        return self.root / "catalog"

    def catalog_tables_dir(self) -> Path:
        return self.catalog_dir() / "tables"

    def catalog_lineage_dir(self) -> Path:
        return self.catalog_dir() / "lineage"

    def catalog_batches_dir(self) -> Path:
        return self.catalog_dir() / "batches"

    def relative(self, path: Path) -> str:
        """A path as written into data: relative to the data root (sources as `source/...`), POSIX style."""
        path = Path(path)
        source = self.source_dir()
        if path.is_relative_to(source):
            return (Path(SOURCE) / path.relative_to(source)).as_posix()
        if path.is_relative_to(self.root):
            return path.relative_to(self.root).as_posix()
        raise ValueError(f"{path} is outside the data root {self.root}")
