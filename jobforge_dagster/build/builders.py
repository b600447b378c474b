"""Named builders of one layer of one table, each returning a finished `LayerBuild`:

- `from_source`: staged from the table's source file;
- `from_kept_batch`: a layer rebuilt from a kept batch of the layer before it (a backfill);
- `from_previous`: a layer built from the current file of the layer before it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl

from jobforge_dagster.batches.history import kept_batch
from jobforge_dagster.batches.opening import open_batch
from jobforge_dagster.batches.stamps import batch_of
from jobforge_dagster.batches.versions import table_version
from jobforge_dagster.build.output import LayerOutput
from jobforge_dagster.build.steps import LAYER_STEPS, LayerStep, StepInput, StepReport, code_of
from jobforge_dagster.catalog.describe import parquet_row_count
from jobforge_dagster.catalog.models import BatchRecord, CatalogEntry, TransitionFacts, utc_now
from jobforge_dagster.catalog.sink import LineageSink
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.errors import SourceChangedError
from jobforge_dagster.layers import LAYER, PROVENANCE_COLUMNS, SOURCE, Layer
from jobforge_dagster.quality.outcome import ChecksSink
from jobforge_dagster.quality.rules import Lookup
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.tables import TableFiles
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.parquet import scan_parquet
from jobforge_dagster.transforms import staged
from jobforge_dagster.transforms.lineage import ColumnLineage, carried, identity

STAGED_CODE = code_of(staged.add_provenance)
STAGED_TRANSFORMS = ["strict CSV validation", "read every column as text, no type inference", "provenance added"]


class Announcer(LineageSink, ChecksSink, Protocol):
    """Announces a table's transitions and its checks (an OpenLineage exporter)."""


@dataclass
class TableRun:
    """One table's step: where it reads and writes, the batch it is building, and the layers built so far."""

    root: DataRoot
    files: TableFiles
    run_id: str
    lookup: Lookup
    lineage: Announcer | None = None  # where transitions and checks are announced (OpenLineage)
    backfill: str | None = None  # a kept batch id to rebuild from instead of the source file
    expected_sha256: str | None = None  # the bytes the run was requested for; other bytes are refused
    batch: BatchRecord | None = None
    built: set[Layer] = field(default_factory=set)

    @property
    def spec(self) -> TableSpec:
        return self.files.spec

    @property
    def catalog(self) -> CatalogManager:
        return CatalogManager(self.root, self.lineage)

    def entry(self, layer: Layer) -> CatalogEntry:
        spec = self.spec
        previous = layer.previous
        upstream = f"{previous.value}/{spec.layer_table(previous)}" if previous else f"{SOURCE}/{spec.pattern}"
        return CatalogEntry(
            domain=spec.domain,
            description=spec.description,
            business_purpose=spec.business_purpose,
            upstream_tables=[upstream],
            retention_batches=spec.retention_batches,
        )

    def step_input(self) -> StepInput:
        batch = self.batch
        assert batch is not None, "the batch is known before any layer after staged is built"
        return StepInput(self.spec, self.root, self.catalog, batch.batch_id, batch.source_file, self.lookup)


@dataclass(frozen=True)
class LayerBuild:
    """A layer ready for the IO manager, and what its transform found."""

    output: LayerOutput
    report: StepReport


def start(run: TableRun, layer: Layer, source_layer: str, files: list[str], rows_in: int | None) -> TransitionFacts:
    """The facts of a transition that starts now, recorded as started (an OpenLineage START): its input files, and
    the gold tables silver checks its references in."""
    batch = run.batch
    assert batch is not None
    facts = TransitionFacts(
        table=run.spec.name,
        target_layer=layer.value,
        batch_id=batch.batch_id,
        source_sha256=batch.sha256,
        source_layer=source_layer,
        source_files=files,
        reads=reference_files(run.root, run.spec) if layer is Layer.SILVER else [],
        rows_in=rows_in,
        target_file=run.root.relative(run.root.table_path(layer, run.spec.layer_table(layer))),
        table_version=table_version(run.spec),
    )
    run.catalog.record_start(facts, run.run_id)
    return facts


def reference_files(root: DataRoot, spec: TableSpec) -> list[str]:
    """The gold files a table's silver rows must be found in (its references)."""
    return sorted({root.relative(root.table_path(Layer.GOLD, ref.table)) for ref in spec.references})


def finish(
    run: TableRun,
    layer: Layer,
    facts: TransitionFacts,
    step: Callable[[], LayerStep],
    guard: Callable[[int], None] | None = None,
) -> LayerBuild:
    """Run a layer's transform; a failure is logged as a failed transition of the batch and raised."""
    try:
        done = step()
    except Exception as error:
        run.catalog.record_failure(facts, run.run_id, error)
        raise
    facts = facts.completed(
        done.transforms,
        done.quarantined_rows,
        done.quarantine_file,
        done.rows_in,
        done.column_lineage,
        done.code,
        done.inferred_types,
        done.source_dialect,
        done.number_format,
    )
    return LayerBuild(LayerOutput(done.frame, facts, run.entry(layer), guard), done.report)


def from_source(run: TableRun) -> LayerBuild | None:
    """Staged from the source file; None when no file in source/ matches the table."""
    opened = open_batch(run.files, run.root, run.catalog)
    if opened is None:
        return None
    run.batch = batch = opened.batch
    if run.expected_sha256 and batch.sha256 != run.expected_sha256:
        raise SourceChangedError(
            f"{batch.source_file} now holds other bytes (sha256 {batch.sha256[:12]}) than this run was requested "
            f"for ({run.expected_sha256[:12]}); nothing was loaded, and the newer version gets its own run"
        )
    facts = start(run, Layer.STAGED, SOURCE, [batch.source_file], rows_in=None)

    def step() -> LayerStep:
        read = opened.scan()
        frame = staged.add_provenance(read.frame, batch.source_file, batch.batch_id, utc_now())
        lineage = staged_lineage(read.frame.collect_schema().names())
        transforms = STAGED_TRANSFORMS + (read.dialect.transforms() if read.dialect else [])
        return LayerStep(
            frame,
            transforms,
            rows_in=read.records,
            column_lineage=lineage,
            code=STAGED_CODE,
            source_dialect=read.dialect,
        )

    return finish(run, Layer.STAGED, facts, step, guard=opened.guard)


def from_file(
    run: TableRun, layer: Layer, previous: Path, step: Callable[[StepInput, pl.LazyFrame], LayerStep]
) -> LayerBuild:
    """`layer` from a parquet file of the layer before it (or, for staged, a kept staged batch)."""
    run.batch = run.batch or batch_of(previous, run.spec.name, run.catalog)
    source_layer = (layer.previous or Layer.STAGED).value
    facts = start(run, layer, source_layer, [run.root.relative(previous)], parquet_row_count(previous))
    return finish(run, layer, facts, lambda: step(run.step_input(), scan_parquet(previous)))


def staged_lineage(headers: list[str]) -> ColumnLineage:
    """Each staged column is the source column of the same header, as the exact string in the file."""
    data = [header for header in headers if header not in PROVENANCE_COLUMNS]
    return ColumnLineage(fields={header: [identity(header, "the exact string in the file")] for header in data})


def restore_staged(given: StepInput, kept: pl.LazyFrame) -> LayerStep:
    transforms = [f"backfill: staged batch {given.batch_id} restored from its kept file"]
    lineage = carried(kept.collect_schema().names())
    return LayerStep(kept.drop(LAYER), transforms, column_lineage=lineage, code=code_of(restore_staged))


def from_kept_batch(run: TableRun, layer: Layer) -> LayerBuild:
    """A backfill: staged restored from its kept batch, or `layer` built from the previous layer's kept batch."""
    assert run.backfill is not None
    if layer is Layer.STAGED:
        return from_file(run, layer, kept_batch(run.root, layer, run.spec.name, run.backfill), restore_staged)
    previous = kept_batch(run.root, layer.previous, run.spec.name, run.backfill)
    return from_file(run, layer, previous, LAYER_STEPS[layer])


def from_previous(run: TableRun, layer: Layer) -> LayerBuild:
    """`layer` from the current file of the layer before it; a clear error if that was never built."""
    previous_layer = layer.previous
    previous = run.root.table_path(previous_layer, run.spec.layer_table(previous_layer))
    if not previous.exists():
        key = f"{previous_layer.value}/{run.spec.layer_table(previous_layer)}"
        raise FileNotFoundError(f"{run.root.relative(previous)} does not exist: materialize {key} first")
    return from_file(run, layer, previous, LAYER_STEPS[layer])


def build_layer(run: TableRun, layer: Layer) -> LayerBuild | None:
    """Choose the builder for `layer`: source or kept batch for staged, else the previous layer."""
    if layer is Layer.STAGED:
        return from_kept_batch(run, layer) if run.backfill else from_source(run)
    if run.backfill and layer.previous not in run.built:
        return from_kept_batch(run, layer)
    return from_previous(run, layer)
