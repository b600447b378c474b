"""The Dagster resources: thin wrappers that hand JobForge's plain objects to assets, checks and sensors."""

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import polars as pl
from dagster import ConfigurableResource, DagsterInstance, InitResourceContext, ResourceDependency
from dagster_duckdb import DuckDBResource
from pydantic import Field, PrivateAttr

from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.errors import ConfigurationError, QueryError
from jobforge_dagster.lineage.exporter import LineageExporter
from jobforge_dagster.query.engine import (
    DEFAULT_MAX_ROWS,
    DEFAULT_MAX_TEMP_DIRECTORY_SIZE,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_THREADS,
    DEFAULT_TIMEOUT_SECONDS,
    GoldQueryEngine,
)
from jobforge_dagster.query.sql import quote_identifier
from jobforge_dagster.storage.data_root import DATA_ROOT_ENV, DataRoot
from jobforge_dagster.storage.files import StaleTemporaries, fingerprint


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


@functools.lru_cache(maxsize=16)
def data_root_of(data_root: str, source_root: str | None) -> DataRoot:
    return DataRoot(data_root=data_root, source_root=source_root)


class DataRootResource(ConfigurableResource):
    """The data root (and optionally a separate source folder) as a resource; `get()` is the plain `DataRoot`."""

    data_root: str = Field(description="Folder holding every layer (absolute path, or `s3://bucket/prefix`).")
    source_root: str | None = Field(
        default=None, description="Folder of source files (or `s3://bucket/prefix`); `<data_root>/source` when unset."
    )

    @classmethod
    def of(cls, root: DataRoot) -> "DataRootResource":
        return cls(data_root=root.data_root, source_root=root.source_root)

    def get(self) -> DataRoot:
        return data_root_of(self.data_root, self.source_root)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """A run on object storage refuses to start without pool limits (`require_pool_limits`)."""
        if self.get().remote and context.instance is not None and context.run is not None:
            require_pool_limits(context.instance, self.data_root)


class GoldQueryResource(ConfigurableResource):
    """Read-only SQL over gold inside Dagster: one GoldQueryEngine per run on the `duckdb` resource's
    connection, opened on the run's first query (a run of current tables asks none) and closed when the run ends."""

    data_root: ResourceDependency[DataRootResource]
    duckdb: ResourceDependency[DuckDBResource]
    timeout_seconds: float | None = Field(default=DEFAULT_TIMEOUT_SECONDS, description="Per query; None: no limit.")
    memory_limit: str = Field(default=DEFAULT_MEMORY_LIMIT, description="DuckDB memory_limit, e.g. '2GB'.")
    threads: int = Field(default=DEFAULT_THREADS, description="DuckDB threads per query.")
    max_temp_directory_size: str = Field(default=DEFAULT_MAX_TEMP_DIRECTORY_SIZE, description="Spill cap.")
    max_rows: int = Field(default=DEFAULT_MAX_ROWS, description="Most rows one result may have.")

    _engine: GoldQueryEngine | None = PrivateAttr(default=None)
    _in_run: bool = PrivateAttr(default=False)
    _distinct: dict[tuple[str, str, str], pl.DataFrame] = PrivateAttr(default_factory=dict)

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator["GoldQueryResource"]:
        """The engine may be opened during the run; it is closed after."""
        self._in_run = True
        try:
            yield self
        finally:
            engine, self._engine, self._in_run, self._distinct = self._engine, None, False, {}
            if engine is not None:
                engine.close()

    def open_engine(self) -> GoldQueryEngine:
        """A new GoldQueryEngine with this resource's settings (the caller closes it)."""
        return GoldQueryEngine(
            self.data_root.get(),
            self.duckdb.get_connection,
            timeout_seconds=self.timeout_seconds,
            memory_limit=self.memory_limit,
            threads=self.threads,
            max_temp_directory_size=self.max_temp_directory_size,
            max_rows=self.max_rows,
        )

    @property
    def engine(self) -> GoldQueryEngine:
        """The run's engine, opened on first use; only inside a Dagster run (or `dagster.build_resources`)."""
        if not self._in_run:
            raise QueryError(
                "GoldQueryResource opens its engine only inside a Dagster run (or dagster.build_resources)"
            )
        if self._engine is None:
            self._engine = self.open_engine()
        return self._engine

    def query(self, sql: str) -> pl.DataFrame:
        """`GoldQueryEngine.query` on the run's engine."""
        return self.engine.query(sql)

    def distinct_values(self, table: str, column: str) -> pl.DataFrame:
        """`SELECT DISTINCT <column> FROM <table>` over the table's current gold file (its view refreshed first).

        Answers are kept for the run while the file is the same (same inode, size and modification time).
        """
        engine = self.engine
        path = engine.gold_dir / f"{table}.parquet"
        key = (table, column, fingerprint(path) if path.exists() else "")
        if key not in self._distinct:
            engine.register_gold_table(table)
            self._distinct[key] = engine.query(
                f"SELECT DISTINCT {quote_identifier(column)} FROM {engine.qualified(table)}"
            )
        return self._distinct[key]


class LineageResource(ConfigurableResource):
    """The run's OpenLineage exporter: opened when the run (or a step's process) starts, closed when it ends,
    which writes and sends what is waiting and logs the events the configured client did not receive."""

    data_root: ResourceDependency[DataRootResource]

    _exporter: LineageExporter | None = PrivateAttr(default=None)

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator["LineageResource"]:
        root = self.data_root.get()
        sources = root.source_dir() if root.source_root else None
        with LineageExporter(root.root, root.openlineage_dir(), sources) as exporter:
            self._exporter = exporter
            try:
                yield self
            finally:
                self._exporter = None

    @property
    def exporter(self) -> LineageExporter:
        """The run's exporter; only inside a Dagster run (or `dagster.build_resources`)."""
        if self._exporter is None:
            raise RuntimeError("LineageResource opens its exporter only inside a Dagster run")
        return self._exporter


@dataclass(frozen=True)
class StepResources:
    """What a table's step works with: the data root, gold lookups, the run's lineage exporter, and the stale
    temporaries of the run's folders."""

    root: DataRoot
    gold: GoldQueryResource
    lineage: LineageExporter
    temporaries: StaleTemporaries

    @property
    def catalog(self) -> CatalogManager:
        return CatalogManager(self.root, self.lineage)


class TableStepResource(ConfigurableResource):
    """What a table's step works with, in one resource: the data root, gold lookups, the run's lineage exporter."""

    data_root: ResourceDependency[DataRootResource]
    gold: ResourceDependency[GoldQueryResource]
    lineage: ResourceDependency[LineageResource]

    _temporaries: StaleTemporaries = PrivateAttr(default_factory=StaleTemporaries)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Each run lists the data root's folders for stale temporaries once (at its first step)."""
        self._temporaries = StaleTemporaries()

    def get(self) -> StepResources:
        return StepResources(self.data_root.get(), self.gold, self.lineage.exporter, self._temporaries)
