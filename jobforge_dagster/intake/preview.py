"""A table's four layers built from a file in memory, exactly as a run would build them (the same staged reader,
the same bronze and silver row functions, the same gold transform), with the rows silver would set aside and why.

Nothing is written anywhere: no Dagster run, no catalog, no quarantine file. References are checked against the
data root's gold tables when they exist; a reference to a gold table that does not exist yet is left out and said.
"""

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from jobforge_dagster.batches.stamps import batch_id_for
from jobforge_dagster.build.steps import bronze_rows, checked_plan, silver_rows
from jobforge_dagster.catalog.models import utc_now
from jobforge_dagster.errors import SourceDataError, place
from jobforge_dagster.layers import QUARANTINE_REASON, SOURCE_LINE, SOURCE_ROW, Layer
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.dialect import SourceDialect
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.files import sha256_file
from jobforge_dagster.storage.parquet import stamp_layer
from jobforge_dagster.transforms import staged
from jobforge_dagster.transforms.gold import gold_transform

#: Rows shown per layer, and quarantined rows shown.
PREVIEW_ROWS = 5


@dataclass
class Preview:
    """The first rows of each layer built, their row counts, the rows silver sets aside, and what stopped it."""

    layers: dict[Layer, pl.DataFrame] = field(default_factory=dict)
    rows: dict[Layer, int] = field(default_factory=dict)
    quarantined: pl.DataFrame | None = None
    quarantined_rows: int = 0
    dialect: SourceDialect | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # the layer that fails, and why: the run would fail there too


class GoldLookup:
    """Distinct values of a column of a gold table, read from the data root's gold file (never written)."""

    def __init__(self, root: DataRoot) -> None:
        self.root = root

    def has(self, table: str) -> bool:
        return self.root.table_path(Layer.GOLD, table).exists()

    def __call__(self, table: str, column: str) -> pl.DataFrame:
        return pl.scan_parquet(self.root.table_path(Layer.GOLD, table)).select(column).unique().collect()


def checkable(spec: TableSpec, lookup: GoldLookup) -> tuple[TableSpec, list[str]]:
    """`spec` without the references whose gold table does not exist yet, and a note for each."""
    kept = [ref for ref in spec.references if lookup.has(ref.table)]
    notes = [
        f"reference {ref.column} -> {ref.table}.{ref.table_column} not checked: no gold/{ref.table}.parquet "
        f"in {lookup.root.data_root} yet (a run checks it once {ref.table} is loaded)"
        for ref in spec.references
        if ref not in kept
    ]
    return spec.model_copy(update={"references": kept}), notes


def preview_table(path: Path, spec: TableSpec, display: str, root: DataRoot, rows: int = PREVIEW_ROWS) -> Preview:
    """The layers of `spec` built from the file at `path` (named `display`, as `source/<file>`), in memory."""
    lookup = GoldLookup(root)
    spec, notes = checkable(spec, lookup)
    found = Preview(notes=notes)
    try:
        build_layers(found, path, spec, display, lookup, rows)
    except (SourceDataError, ValueError) as error:
        found.error = f"{layer_name(found)}: {error}"
    return found


def layer_name(found: Preview) -> str:
    """The layer being built when an error stopped the preview (the one after the last built)."""
    built = [layer for layer in Layer if layer in found.layers]
    return (Layer.STAGED if not built else list(Layer)[len(built)]).value


def build_layers(found: Preview, path: Path, spec: TableSpec, display: str, lookup: GoldLookup, rows: int) -> None:
    """Staged, bronze, silver and gold into `found`, each read from the one before as its file holds it
    (`_layer` stamped), stopping where a run would fail."""
    read = staged.read_source(path, spec, display)
    found.dialect = read.dialect
    frame = staged.add_provenance(read.frame, display, batch_id_for(spec.name, sha256_file(path)), utc_now())
    staged_frame = keep(found, Layer.STAGED, frame, rows)
    plan = checked_plan(spec, display, staged_frame)
    bronze = keep(found, Layer.BRONZE, bronze_rows(staged_frame, plan, display), rows)
    silver = silver_rows(spec, bronze, lookup)
    if silver.split.quarantined is not None:
        quarantined = silver.split.quarantined.collect()
        found.quarantined, found.quarantined_rows = quarantined.head(rows), quarantined.height
    silver_frame = keep(found, Layer.SILVER, silver.typed.frame, rows)
    keep(found, Layer.GOLD, gold_transform(spec.gold_transform)(silver_frame), rows)


def keep(found: Preview, layer: Layer, frame: pl.LazyFrame, rows: int) -> pl.LazyFrame:
    """A layer's first rows and row count kept in `found`; the layer as its file holds it (`_layer` stamped)."""
    collected = stamp_layer(frame, layer).collect()
    found.layers[layer], found.rows[layer] = collected.head(rows), collected.height
    return collected.lazy()


def quarantine_lines(found: Preview) -> list[str]:
    """One line per quarantined row shown: where it is in the file, and why it is set aside."""
    if found.quarantined is None:
        return []
    frame = found.quarantined
    return [
        f"{place(row[SOURCE_LINE], row[SOURCE_ROW])}: {row[QUARANTINE_REASON]}"
        for row in frame.select(SOURCE_LINE, SOURCE_ROW, QUARANTINE_REASON).rows(named=True)
    ]
