"""One gold row traced: its source record (bytes, raw text, cells) and, per layer, its row, file, batch and changes."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, TypeVar

import polars as pl

from jobforge_dagster.batches.archive import archived_bytes_intact
from jobforge_dagster.batches.stamps import read_stamp
from jobforge_dagster.catalog.models import BatchRecord, LayerTransitionLog
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import (
    LAYERS,
    PROVENANCE_COLUMNS,
    QUARANTINE_REASON,
    SOURCE_LINE,
    SOURCE_ROW,
    Layer,
)
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.records import SourceText
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.parquet import scan_parquet
from jobforge_dagster.transforms.bronze import column_mapping
from jobforge_dagster.transforms.gold import LONG_FORMS, LongForm

T = TypeVar("T")


def jsonable(value: Any) -> Any:
    """A cell as JSON: dates and times as ISO text, everything else as it is."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def data_row(row: dict[str, Any]) -> dict[str, Any]:
    return {name: jsonable(value) for name, value in row.items()}


class TraceContext(Protocol):
    """What a record's trace reads through its tracer: the data root, the catalog, sha256 of files (cached), and
    what the traced rows of one batch share (computed once per trace)."""

    root: DataRoot

    @property
    def catalog(self) -> CatalogManager: ...

    def sha256(self, path: Path) -> str: ...

    def memo(self, key: tuple, compute: Callable[[], T]) -> T: ...

    def traced_rows(self, batch_id: str) -> list[dict[str, Any]]: ...

    def records_of(self, batch_id: str) -> list[int]: ...

    def transitions(self, table: str) -> dict[tuple[str, str], LayerTransitionLog]: ...


@dataclass
class RecordTrace:
    """One gold row's way back: its batch, its source record, and the same record in each layer."""

    tracer: TraceContext
    spec: TableSpec | None
    batch: BatchRecord
    row: dict[str, Any]
    model: str | None = None  # the traced gold table when a model across tables built it (dim_oasis_attribute)

    @property
    def record(self) -> int:
        return self.row[SOURCE_ROW]

    def current_path(self) -> Path:
        return self.tracer.root.locate(self.batch.source_file)

    def bytes_path(self) -> tuple[Path | None, str]:
        """A file that holds this batch's exact bytes (the archive, else the source if unchanged), and which."""
        return self.tracer.memo(("bytes", self.batch.batch_id), self._bytes_path)

    def _bytes_path(self) -> tuple[Path | None, str]:
        batch, root = self.batch, self.tracer.root
        if batch.archive_file and archived_bytes_intact(root.locate(batch.archive_file), batch.sha256):
            return root.locate(batch.archive_file), batch.archive_file
        current = self.current_path()
        if current.is_file() and self.tracer.sha256(current) == batch.sha256:
            return current, batch.source_file
        return None, "the bytes of this batch are no longer available (no intact archive, source changed)"

    def text(self) -> SourceText | None:
        """The batch's bytes as source text (one per batch and trace, so its header is parsed once)."""
        return self.tracer.memo(("text", self.batch.batch_id), self._text)

    def _text(self) -> SourceText | None:
        path, _ = self.bytes_path()
        if path is None:
            return None
        staged = self.transition(Layer.STAGED)
        if staged is not None and staged.source_dialect is not None:  # as the file was read (a sniffed separator)
            return SourceText(path, staged.source_dialect.encoding, staged.source_dialect.separator)
        encoding = self.spec.encoding if self.spec else "utf8"
        separator = self.spec.separator if self.spec else ","
        return SourceText(path, encoding, separator)

    def source(self) -> dict[str, Any]:
        batch, current = self.batch, self.current_path()
        path, origin = self.bytes_path()
        is_current = current.is_file() and self.tracer.sha256(current) == batch.sha256
        found = {
            "file": batch.source_file,
            "path": batch.source_path,
            "sha256": batch.sha256,
            "current": is_current,
            "archive": batch.archive_file,
            "read_from": origin,
            "record": self.record,
            "line": self.row.get(SOURCE_LINE),
            "raw": None,
            "cells": None,
        }
        text = self.text()
        if text is not None:
            line = self.row.get(SOURCE_LINE)
            starts = self.tracer.memo(("lines", self.batch.batch_id), lambda: self.record_starts(text))
            raw, cells = text.record(self.record, line, starts.get(line if line is not None else self.record + 1))
            found |= {"raw": raw, "cells": cells}
        found["column"] = self.source_column()
        return found

    def record_starts(self, text: SourceText) -> dict[int, str]:
        """The raw text of every traced CSV record of this batch, by the line it starts on, in one pass."""
        rows = self.tracer.traced_rows(self.batch.batch_id)
        lines = {row[SOURCE_LINE] if row.get(SOURCE_LINE) is not None else row[SOURCE_ROW] + 1 for row in rows}
        return text.csv_records_at(lines) if text.format == "csv" and lines - {1} else {}

    def source_column(self) -> str | None:
        """For long-form gold rows, the source header the value came from."""
        if "source_header" in self.row:  # dim_oasis_attribute: built from the header itself
            return self.row["source_header"]
        long = LONG_FORMS.get(self.spec.gold_transform) if self.spec and self.spec.gold_transform else None
        return self.header_of(silver_column_of(long, self.row)) if long is not None else None

    def header_of(self, bronze_name: str) -> str | None:
        staged = self.layer_row(Layer.STAGED)
        if staged is None:
            return None
        headers = [name for name in staged if name not in PROVENANCE_COLUMNS]
        mapping = column_mapping(headers, self.spec.renames if self.spec else {})
        return next((header for header, name in mapping.items() if name == bronze_name), None)

    def layer_file(self, layer: Layer) -> Path | None:
        """The file of `layer` built from this batch: the current table, or the kept batch beside it."""
        return self.tracer.memo(("file", layer, self.batch.batch_id), lambda: self._layer_file(layer))

    def _layer_file(self, layer: Layer) -> Path | None:
        spec, root = self.spec, self.tracer.root
        if spec is None:
            return None
        current = root.table_path(layer, spec.layer_table(layer))
        if current.exists() and read_stamp(current)[0] == self.batch.batch_id:
            return current
        kept = root.batch_path(layer, spec.name, self.batch.batch_id)
        return kept if kept.exists() else None

    @cached_property
    def _layer_rows(self) -> dict[Layer, dict[str, Any] | None]:
        rows: dict[Layer, dict[str, Any] | None] = {}
        records = self.tracer.records_of(self.batch.batch_id)
        for layer in LAYERS[:-1]:
            path = self.layer_file(layer)
            by_record = self.tracer.memo(("rows", path), lambda path=path: rows_by_record(path, records))
            rows[layer] = by_record.get(self.record)
        rows[Layer.GOLD] = self.row
        return rows

    def layer_row(self, layer: Layer) -> dict[str, Any] | None:
        return self._layer_rows.get(layer)

    def layers(self) -> list[dict[str, Any]]:
        """Each layer of the batch's table; for a model, the layers it read, then its own gold transition."""
        if self.model is None:
            return [self.layer(layer) for layer in LAYERS]
        log = self.model_transition()
        read = LAYERS[: LAYERS.index(Layer(log.source_layer)) + 1] if log is not None else ()
        return [*(self.layer(layer) for layer in read), self.model_layer(log)]

    def model_transition(self) -> LayerTransitionLog | None:
        """The transition that wrote the model's current gold file."""
        gold = self.tracer.root.table_path(Layer.GOLD, self.model or "")
        batch = read_stamp(gold)[0] if gold.exists() else None
        return self.tracer.transitions(self.model or "").get((batch or "", Layer.GOLD.value))

    def model_layer(self, log: LayerTransitionLog | None) -> dict[str, Any]:
        path = self.tracer.root.table_path(Layer.GOLD, self.model or "")
        return {
            "layer": Layer.GOLD.value,
            "file": self.tracer.root.relative(path) if path.exists() else None,
            "batch_id": log.batch_id if log else None,
            "run_id": log.run_id if log else None,
            "transforms": log.transforms_applied if log else [],
            "changes": [],
        }

    def layer(self, layer: Layer) -> dict[str, Any]:
        log = self.transition(layer)
        path = self.layer_file(layer)
        return {
            "layer": layer.value,
            "file": self.tracer.root.relative(path) if path is not None else None,
            "batch_id": self.batch.batch_id,
            "run_id": log.run_id if log else None,
            "transforms": log.transforms_applied if log else [],
            "changes": self.changes(layer),
        }

    def transition(self, layer: Layer) -> LayerTransitionLog | None:
        table = self.spec.name if self.spec else self.batch.table
        return self.tracer.transitions(table).get((self.batch.batch_id, layer.value))

    def changes(self, layer: Layer) -> list[dict[str, Any]]:
        """Cells of this record whose value differs from the layer before (before -> after)."""
        if layer is Layer.STAGED or self.spec is None:
            return []
        before, after = self.layer_row(layer.previous), self.layer_row(layer)
        if before is None or after is None:
            return []
        pairs = self.column_pairs(layer, before, after)
        return [
            {"column": new, "source_column": old, "before": jsonable(before[old]), "after": jsonable(after[new])}
            for old, new in pairs
            if not same_text(before[old], after[new])
        ]

    def column_pairs(self, layer: Layer, before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, str]]:
        """(column before, column after) for the cells one layer carries over from the one before."""
        if layer is Layer.BRONZE:
            headers = [name for name in before if name not in PROVENANCE_COLUMNS]
            return list(column_mapping(headers, self.spec.renames).items())
        long = LONG_FORMS.get(self.spec.gold_transform or "") if layer is Layer.GOLD else None
        if long is not None:
            return [(silver_column_of(long, after), long.value)]
        return [(name, name) for name in after if name in before and name not in PROVENANCE_COLUMNS]

    def quarantine(self) -> dict[str, Any]:
        if self.spec is None:
            return {"quarantined": False, "file": None, "reasons": []}
        path = self.tracer.root.quarantine_path(self.spec.name, self.batch.batch_id)
        found = self.tracer.memo(("quarantine", self.batch.batch_id), lambda: self.quarantined(path))
        reasons = found.get(self.record, [])
        file = self.tracer.root.relative(path) if path.exists() else None
        return {"quarantined": bool(reasons), "file": file, "reasons": reasons}

    def quarantined(self, path: Path) -> dict[int, list[str]]:
        """Record -> its quarantine reasons, for the traced records of this batch, in one pass."""
        if not path.exists():
            return {}
        wanted = pl.col(SOURCE_ROW).is_in(self.tracer.records_of(self.batch.batch_id))
        frame = scan_parquet(path).filter(wanted).select(SOURCE_ROW, QUARANTINE_REASON).collect()
        found: dict[int, list[str]] = {}
        for record, reason in frame.iter_rows():
            found.setdefault(record, []).append(reason)
        return found

    def run_id(self) -> str | None:
        """The Dagster run that built the traced gold (the model's own, for a model)."""
        log = self.model_transition() if self.model is not None else self.transition(Layer.GOLD)
        return log.run_id if log else None

    def checks(self, table: str) -> list[dict[str, Any]]:
        return self.tracer.memo(("checks", table, self.batch.batch_id), lambda: self._checks(table))

    def _checks(self, table: str) -> list[dict[str, Any]]:
        gold = self.tracer.root.table_path(Layer.GOLD, table)
        batch_id = read_stamp(gold)[0] if gold.exists() else self.batch.batch_id
        results = self.tracer.catalog.get_check_results(table, batch_id)
        return [check.model_dump() for check in results.checks] if results else []


def rows_by_record(path: Path | None, records: list[int]) -> dict[int, dict[str, Any]]:
    """The first row of each of `records` in a layer file, in one pass; none without a file."""
    if path is None:
        return {}
    frame = scan_parquet(path).filter(pl.col(SOURCE_ROW).is_in(records)).unique(SOURCE_ROW, keep="first")
    return {row[SOURCE_ROW]: row for row in frame.collect().to_dicts()}


def last_transitions(logs: list[LayerTransitionLog]) -> dict[tuple[str, str], LayerTransitionLog]:
    """(batch, layer) -> the last of `logs` (oldest first) that did not fail."""
    return {(log.batch_id, log.target_layer): log for log in logs if log.status.value != "failed"}


def silver_column_of(form: LongForm, row: dict[str, Any]) -> str:
    """The silver column a long-form gold row's value came from (e.g. `col_2024` for year 2024)."""
    return pl.DataFrame([row]).select(form.source_column).item()


def same_text(before: Any, after: Any) -> bool:
    """Whether a cell kept its value as text (a cast of `4700` to 4700 is not a change; `10` -> `00010` is)."""
    if before is None or after is None:
        return before is after
    return str(before) == str(after)
