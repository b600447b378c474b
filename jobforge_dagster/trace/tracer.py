"""Where did this come from? A gold row traced back to its source record, and a source line forward to gold.

A trace names, for each gold row: the source file, its sha256 and whether the file there now still has those
bytes; the record number and physical line; the record's raw text (from the raw archive) and its header ->
cell map; per layer the file, batch and transforms, with before -> after for every cell that changed; the
quarantine status; the Dagster run and the gold checks of that batch.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from jobforge_dagster.batches.stamps import read_stamp
from jobforge_dagster.catalog.models import BatchRecord, LayerTransitionLog
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.errors import TraceError
from jobforge_dagster.layers import BATCH_ID, SOURCE, SOURCE_FILE, SOURCE_LINE, SOURCE_ROW, Layer
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.query.sql import quote_literal
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.records import SourceText
from jobforge_dagster.sources.tables import collect_tables
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.files import sha256_file
from jobforge_dagster.storage.parquet import scan_parquet
from jobforge_dagster.trace.record import RecordTrace, data_row, last_transitions

T = TypeVar("T")
#: The most gold rows one trace follows; when more match, the trace says so (`Tracer.capped`).
MAX_TRACE_ROWS = 1000


@dataclass
class Tracer:
    """Traces over one data root, its registry and its gold engine; caches hashes per file, and within one trace
    what the rows of a batch share (one pass over each file serves them all)."""

    root: DataRoot
    engine: GoldQueryEngine
    registry: SourceRegistry = field(default_factory=SourceRegistry.load)
    _hashes: dict[Path, str] = field(default_factory=dict)
    _memo: dict[tuple, Any] = field(default_factory=dict)  # per trace: what the rows of one batch share
    _traced: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # batch -> its gold rows being traced
    capped: bool = False  # more rows matched than MAX_TRACE_ROWS: the first ones were traced
    more: bool = False  # more rows matched than the limit (or MAX_TRACE_ROWS): the first ones were traced

    @cached_property
    def catalog(self) -> CatalogManager:
        return CatalogManager(self.root)

    @cached_property
    def tables(self) -> list[TableSpec]:
        return collect_tables(self.registry, self.root.source_dir()).tables

    def spec_for_table(self, name: str) -> TableSpec | None:
        """The registry table whose staged name or gold name is `name`."""
        return next((spec for spec in self.tables if name in (spec.name, spec.gold_table)), None)

    def sha256(self, path: Path) -> str:
        if path not in self._hashes:
            self._hashes[path] = sha256_file(path)
        return self._hashes[path]

    def memo(self, key: tuple, compute: Callable[[], T]) -> T:
        """`compute()` once per trace for `key`: one pass over a file serves every traced row of its batch."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def traced_rows(self, batch_id: str) -> list[dict[str, Any]]:
        """The gold rows of `batch_id` this trace follows."""
        return self._traced.get(batch_id, [])

    def records_of(self, batch_id: str) -> list[int]:
        """The source records of the gold rows of `batch_id` this trace follows."""
        return sorted({row[SOURCE_ROW] for row in self.traced_rows(batch_id)})

    def transitions(self, table: str) -> dict[tuple[str, str], LayerTransitionLog]:
        """(batch, layer) -> the table's last transition that did not fail, from one read of its lineage logs."""
        return self.memo(("logs", table), lambda: last_transitions(self.catalog.get_lineage_logs(table=table)))

    # -- forward: gold rows -> sources

    def trace(self, table: str, where: str, limit: int | None = 10) -> list[dict[str, Any]]:
        """A trace of each gold row of `table` that matches the SQL predicate `where`: at most `limit`, and never
        more than MAX_TRACE_ROWS (`capped` then says more rows matched; `more`, that more than `limit` did). Rows
        of one batch share each pass."""
        if limit is not None and limit < 1:
            raise TraceError(f"limit {limit}: give at least 1 row to trace")
        if not where.strip():
            raise TraceError("the predicate is empty: give a SQL predicate over the table's columns")
        cap = min(limit or MAX_TRACE_ROWS, MAX_TRACE_ROWS)
        rows = self.engine.select_where(table, where, cap + 1).to_dicts()
        self.more = self.more or len(rows) > cap
        if len(rows) > cap and cap == MAX_TRACE_ROWS:
            self.capped = True
        self._memo, self._traced = {}, {}
        for row in rows[:cap]:
            self._traced.setdefault(str(row.get(BATCH_ID)), []).append(row)
        return [self.trace_row(table, row) for row in rows[:cap]]

    def trace_row(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        batch = self.batch(row[BATCH_ID], row[SOURCE_FILE])
        spec = self.spec_for_table(batch.table)
        model = table if spec is None or spec.gold_table != table else None  # built across tables from this batch
        record = RecordTrace(self, spec, batch, row, model)
        return {
            "table": table,
            "row": data_row(row),
            "source": record.source(),
            "batch_id": batch.batch_id,
            "run_id": record.run_id(),
            "layers": record.layers(),
            "quarantine": record.quarantine(),
            "checks": record.checks(table),
        }

    def batch(self, batch_id: str, source_file: str) -> BatchRecord:
        """The batch record of a gold row; refused when a file it names leads outside the data root (or the
        source folder), since the trace reads it."""
        if not re.fullmatch(r"\w+-[0-9a-f]{12}", batch_id, re.ASCII):
            raise TraceError(f"{source_file}: {batch_id!r} is not a batch id (<table>-<12 hex digits>)")
        batch = self.catalog.get_batch(batch_id)
        if batch is None:
            raise TraceError(f"batch {batch_id!r} of {source_file} is not in the catalog (catalog/batches/)")
        for name in ("source_file", "archive_file"):
            value = getattr(batch, name)
            try:
                if value is not None:
                    self.root.locate(value)
            except ValueError as error:
                raise TraceError(f"catalog/batches/{batch_id}.json: {name} {value!r} {error}; record refused") from None
        return batch

    # -- reverse: a source line -> gold rows

    def trace_source(self, source: str, line: int, limit: int | None = None) -> list[dict[str, Any]]:
        """Every gold row, in every gold table, that the record at `line` of `source` feeds: at most `limit` in
        all (`more` then says whether others match)."""
        source = self.source_name(source)
        record = self.record_at(source, line)
        found: list[dict[str, Any]] = []
        for table in self.engine.list_tables():
            if not {SOURCE_FILE, SOURCE_ROW} <= set(self.engine.columns_of(table)):
                continue
            where = f"{SOURCE_FILE} = {quote_literal(source)} AND {SOURCE_ROW} = {record}"
            if limit is not None and len(found) >= limit:
                self.more = self.more or self.engine.select_where(table, where, 1).height > 0
                continue
            found += self.trace(table, where, None if limit is None else limit - len(found))
        return found

    def source_name(self, source: str) -> str:
        """A source file as provenance names it, `source/<path>`: given so, as a path under the source folder, or
        as an absolute path inside it."""
        path = Path(source)
        if not path.is_absolute():
            return source if source.startswith(f"{SOURCE}/") else f"{SOURCE}/{source}"
        folder = Path(str(self.root.source_dir())).resolve()
        if not path.resolve().is_relative_to(folder):
            raise TraceError(f"{source} is not in the source folder {self.root.source_dir()}")
        return f"{SOURCE}/{path.resolve().relative_to(folder).as_posix()}"

    def record_at(self, source: str, line: int) -> int:
        """The record (0: the header) that starts at or spans physical `line` of the staged file of `source`."""
        staged = self.staged_of(source)
        if line < 1:
            raise TraceError(f"line {line} is outside {source}: lines count from 1 (the header)")
        starts = scan_parquet(staged).filter(pl.col(SOURCE_LINE) <= line).select(pl.col(SOURCE_ROW).max()).collect()
        record = starts.item() or 0
        text = self.text_of(source, staged)
        lines = text.line_count() if text is not None else None
        if lines is not None and line > lines:
            raise TraceError(f"line {line} is outside {source}, which has {lines} lines")
        return record

    def staged_of(self, source: str) -> Path:
        for spec in self.tables:
            path = self.root.table_path(Layer.STAGED, spec.name)
            if path.exists() and scan_parquet(path).select(SOURCE_FILE).head(1).collect().item() == source:
                return path
        raise TraceError(f"{source} feeds no staged table in {self.root.root}; {self.root.looked_in()}")

    def text_of(self, source: str, staged: Path) -> SourceText | None:
        """The bytes of the batch in `staged` for `source` (archive or unchanged source), if any."""
        batch = self.batch(read_stamp(staged)[0], source)
        return RecordTrace(self, self.spec_for_table(batch.table), batch, {}).text()
