"""The data root: the one folder JobForge keeps every layer, catalog and batch in, one method per folder.

A local folder (paths are `pathlib.Path`) or an object-store prefix such as `s3://bucket/prefix` (paths are
`upath.UPath`, see `object_store`); the source folder likewise.
"""

import os
from pathlib import Path

from dagster import ConfigurableResource, DagsterInstance, InitResourceContext
from pydantic import Field

from jobforge_dagster.errors import ConfigurationError
from jobforge_dagster.layers import SOURCE, Layer
from jobforge_dagster.storage.object_store import DataPath, as_path, is_url, relative_part

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


def require_pool_limits(instance: DagsterInstance, data_root: str) -> None:
    """Object storage has no file locks: refuse to run unless the instance limits Dagster's pools (the
    `table_<name>` pool of each table), which then keep one step per table at a time."""
    if instance.global_op_concurrency_default_limit:
        return
    raise ConfigurationError(
        f"{DATA_ROOT_ENV}={data_root} is on object storage, which has no file locks, and this Dagster instance sets "
        "no pool limit: add `concurrency: {pools: {default_limit: 1}}` to dagster.yaml (as the repository's "
        "dagster.yaml and deploy/postgres/dagster.yaml do) so each table's pool runs one step at a time"
    )


class DataRoot(ConfigurableResource):
    """The data root (and optionally a separate source folder), as a Dagster resource.

    `source_root` lets a team read sources in place (a shared mount, a read-only folder) instead of
    `<data root>/source`; provenance still names them `source/<file>`.
    """

    data_root: str = Field(description="Folder holding every layer (absolute path, or `s3://bucket/prefix`).")
    source_root: str | None = Field(
        default=None, description="Folder of source files (or `s3://bucket/prefix`); `<data_root>/source` when unset."
    )

    @classmethod
    def from_env(cls) -> "DataRoot":
        """`$JOBFORGE_DATA_ROOT` (default `./data`) and `$JOBFORGE_SOURCE_ROOT`."""
        return cls(data_root=default_data_root(), source_root=default_source_root())

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """A run on object storage refuses to start without pool limits (`require_pool_limits`)."""
        if is_url(self.data_root) and context.instance is not None and context.run is not None:
            require_pool_limits(context.instance, self.data_root)

    @property
    def remote(self) -> bool:
        """Whether the data root is on object storage."""
        return is_url(self.data_root)

    @property
    def root(self) -> DataPath:
        return as_path(self.data_root)

    def source_dir(self) -> DataPath:
        return as_path(self.source_root) if self.source_root else self.root / SOURCE

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
        if (inside := relative_part(path, self.source_dir())) is not None:
            return f"{SOURCE}/{inside}" if inside != "." else SOURCE
        if (inside := relative_part(path, self.root)) is not None:
            return inside
        raise ValueError(f"{path} is outside the data root {self.root}")
