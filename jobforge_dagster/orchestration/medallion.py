"""Asset factory: one multi-asset per registry table, materializing staged, bronze, silver and gold.

One step per table keeps the orchestration cost per table small, while the UI still shows four assets
(`staged/<table>` ... `gold/<table>`) with their own metadata and the gold asset's checks, and any
subset of them can be selected.
"""

from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import replace

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    AssetOut,
    AssetsDefinition,
    Config,
    Failure,
    Output,
    multi_asset,
)
from dagster._core.definitions.data_version import DATA_VERSION_TAG
from pydantic import Field

from jobforge_dagster.batches.versions import current_batch, table_version
from jobforge_dagster.build.builders import LayerBuild, TableRun, build_layer
from jobforge_dagster.build.output import PublishedLayer, reject_candidate, stage_candidate
from jobforge_dagster.catalog.models import BatchRecord, TransitionFacts, utc_now
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.errors import BlockingChecksFailed, SourceChangedError, SourceDataError
from jobforge_dagster.layers import LAYERS, SOURCE, Layer
from jobforge_dagster.lineage.exporter import LineageExporter
from jobforge_dagster.orchestration.checks import check_result, check_specs, run_checks, stored_check_result
from jobforge_dagster.orchestration.keys import (
    FORCE_TAG,
    PRIORITY_TAG,
    REBUILD_JOB,
    layer_key,
    medallion_op,
    output_name,
    source_key,
    table_keys,
    table_pool,
)
from jobforge_dagster.orchestration.metadata import (
    asset_description,
    published_metadata,
    registry_description,
    spec_metadata,
    step_metadata,
    table_owners,
)
from jobforge_dagster.orchestration.resources import (
    StepResources,
    TableStepResource,
)
from jobforge_dagster.quality.evaluation import CheckLog, blocking_failures, evaluate_checks, table_gold_facts
from jobforge_dagster.quality.rules import table_rule_groups
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.tables import TableFiles
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.files import StaleTemporaries, exclusive_lock


class TableRunConfig(Config):
    """Run configuration of a table's step."""

    batch_id: str | None = Field(
        default=None,
        description="Backfill: rebuild the selected layers from this kept batch instead of the current source file.",
    )
    sha256: str | None = Field(
        default=None,
        description="The source bytes this run was requested for (the sensor sets it): other bytes are refused.",
    )
    force: bool = Field(
        default=False,
        description="Rebuild the selected layers even when they already hold the source's bytes under this registry "
        "entry and code (the run tag `jobforge/force: true` does the same for every table of a run).",
    )




def forced(context: AssetExecutionContext, config: TableRunConfig | None = None) -> bool:
    """Whether the run asks to rebuild current layers: the step's `force` or the run tag `jobforge/force`."""
    asked = config is not None and config.force
    return asked or context.run.tags.get(FORCE_TAG, "").lower() in {"true", "1", "yes"}


def clean_stale_temporaries(
    context: AssetExecutionContext, root: DataRoot, temporaries: StaleTemporaries, name: str, gold_name: str
) -> None:
    """Remove what a killed run left half-written for a table (hidden temporaries, never read)."""
    layer_names = {layer: gold_name if layer is Layer.GOLD else name for layer in LAYERS}
    places = [(root.layer_dir(layer), f"{table}.parquet") for layer, table in layer_names.items()]
    places += [(root.catalog_tables_dir() / layer.value, f"{table}.json") for layer, table in layer_names.items()]
    places += [(root.layer_dir(layer) / name, "batch=") for layer in LAYERS]
    places += [
        (root.root / "quarantine" / name, ""),
        (root.catalog_batches_dir(), f"{name}-"),
        (root.catalog_lineage_dir(), f"{name}--"),
        (root.catalog_dir() / "checks", f"{gold_name}--"),
        (root.root / "raw" / name, ""),
    ]
    events = root.catalog_dir() / "openlineage"  # `<time>-<table>.<layer>-<EVENT>-<run>.json`
    stale = [path for folder, prefix in places for path in temporaries.remove(folder, prefix)]
    stale += temporaries.remove(events, f"-{name}.", within=True)
    for path in stale:
        context.log.warning(f"removed {path.name}, left by an interrupted write")


@contextmanager
def flushed(lineage: LineageExporter) -> Iterator[None]:
    """The table's lineage events are on disk when its step ends, whatever happened."""
    try:
        yield
    finally:
        lineage.flush(files_only=True)


def materialize_table(
    context: AssetExecutionContext,
    step: StepResources,
    spec: TableSpec,
    config: TableRunConfig,
    keys: dict[Layer, AssetKey] | None = None,
) -> Iterator[Output | AssetCheckResult | AssetObservation]:
    """Build each selected layer of one table from the one before it, in order, then check gold.

    Layers that already hold the source's bytes under this registry entry and code are not rebuilt (unless
    forced or backfilled): the step reports the table as current and writes nothing. With only checks
    selected, the checks run on the published gold. Each output is written by the IO manager when it is
    yielded, so the next layer reads the file just written. One run at a time writes a table: an exclusive
    lock on `<data root>/.locks/<table>.lock` is held throughout (the `table_<name>` pool queues steps too).
    `keys` are the step's layer assets when they are not the table's own (a partition of `new_files`).
    """
    keys, root = keys or table_keys(spec), step.root
    layers = [layer for layer in LAYERS if keys[layer] in context.selected_asset_keys]
    with exclusive_lock(root.lock_path(spec.name)), flushed(step.lineage):
        clean_stale_temporaries(context, root, step.temporaries, spec.name, spec.gold_table)
        if not layers:
            yield from check_published(context, step, spec, keys[Layer.GOLD])
            return
        files = TableFiles(spec, root.source_dir())
        if not (forced(context, config) or config.batch_id) and (batch := current_batch(root, files, layers)):
            yield from report_current(context, step, spec, {layer: keys[layer] for layer in layers}, batch)
            return
        lookup, run_id = step.gold.distinct_values, context.run.run_id
        run = TableRun(root, files, run_id, lookup, step.lineage, config.batch_id, config.sha256)
        yield from build_layers(context, run, layers, keys)


def build_layers(
    context: AssetExecutionContext, run: TableRun, layers: list[Layer], keys: dict[Layer, AssetKey]
) -> Iterator[Output | AssetCheckResult | AssetObservation]:
    """Build `layers` in order (staged also records the source's version); gold is checked before it is
    published."""
    spec = run.spec
    for layer in layers:
        build = build_or_fail(run, layer)
        if build is None:
            no_file(context, spec, run.root)
            return
        report(context, spec, build.output.facts)
        if layer is Layer.STAGED and run.batch is not None and not run.backfill and keys == table_keys(spec):
            yield observed_source(spec, run.batch)
            # Dagster read the source's data version when the step started; staged records the one just read
            context.get_step_execution_context().wipe_input_asset_version_info(source_key(spec))
        if layer is Layer.GOLD:
            yield from check_then_publish(context, run, build, keys[Layer.GOLD])
            return
        metadata = step_metadata(build.report, keys[Layer.STAGED])
        yield Output(build.output, output_name=output_name(keys[layer]), metadata=metadata)
        run.built.add(layer)


def no_file(context: AssetExecutionContext, spec: TableSpec, root: DataRoot) -> None:
    """A table whose file is missing: a warning when the run has other tables (the main job's `files_found`
    check fails the run if none has one), a failure naming where it looked when the table is the run's only one."""
    missing = f"{spec.name}: no source file matches {spec.pattern!r}; {root.looked_in()}"
    selection = context.run.asset_selection  # empty or None: the whole job
    tables = {key.path[-1] for key in selection} if selection else None
    if tables is not None and tables <= {spec.name, spec.gold_table}:
        raise Failure(description=f"nothing to load: {missing}")
    context.log.warning(f"{missing}; nothing to do for this table")


def observed_source(spec: TableSpec, batch: BatchRecord) -> AssetObservation:
    """The source file as this run read it: `source/<table>` at data version = its sha256."""
    return AssetObservation(
        asset_key=source_key(spec),
        tags={DATA_VERSION_TAG: batch.sha256},
        metadata={"file": batch.source_file, "size_bytes": batch.size_bytes, "sha256": batch.sha256},
    )


def report_current(
    context: AssetExecutionContext, step: StepResources, spec: TableSpec, keys: dict[Layer, AssetKey], batch: str
) -> Iterator[Output | AssetCheckResult]:
    """A current table: each selected layer is reported materialized as published, with its batch (the IO manager
    writes nothing for a `PublishedLayer`), and gold's selected checks re-report that batch's stored results."""
    version = table_version(spec)
    context.log.info(
        f"{spec.name}: current (batch {batch}, table version {version}); reported as published, nothing rewritten "
        f"(the {REBUILD_JOB} job, or the run tag {FORCE_TAG}=true, rebuilds it)"
    )
    for layer, key in keys.items():
        published = PublishedLayer(layer, spec.layer_table(layer), batch)
        table = step.catalog.load_table_metadata(published.table, layer.value)
        metadata = published_metadata(step.root, published, version, table)
        context.add_asset_metadata(metadata, asset_key=key)
        yield Output(published, output_name=output_name(key))
    if Layer.GOLD in keys:
        yield from rereport_checks(context, step, spec, keys[Layer.GOLD], batch)


def rereport_checks(
    context: AssetExecutionContext, step: StepResources, spec: TableSpec, key: AssetKey, batch: str
) -> Iterator[AssetCheckResult]:
    """Gold's selected checks as recorded for the published batch (`catalog/checks/`); a check with no record of
    that batch is evaluated on the published gold."""
    selected = {check.name for check in context.selected_asset_check_keys if check.asset_key == key}
    missing = yield from stored_checks(step.catalog, spec.gold_table, key, batch, selected)
    if missing:
        yield from evaluate_published(context, step, spec, key, missing)


def stored_checks(
    catalog: CatalogManager, table: str, key: AssetKey, batch: str, selected: set[str]
) -> Generator[AssetCheckResult, None, set[str]]:
    """Yield the selected checks recorded for `batch`; return those with no record."""
    stored = catalog.get_check_results(table, batch)
    recorded = {result.name: result for result in stored.checks} if stored else {}
    for name in sorted(selected & recorded.keys()):
        yield stored_check_result(key, recorded[name], batch)
    return selected - recorded.keys()


def check_published(
    context: AssetExecutionContext, step: StepResources, spec: TableSpec, key: AssetKey
) -> Iterator[AssetCheckResult]:
    """A check-only step: evaluate the selected checks on the published gold (nothing is rewritten)."""
    selected = {check.name for check in context.selected_asset_check_keys if check.asset_key == key}
    yield from evaluate_published(context, step, spec, key, selected)


def evaluate_published(
    context: AssetExecutionContext, step: StepResources, spec: TableSpec, key: AssetKey, selected: set[str]
) -> Iterator[AssetCheckResult]:
    """Evaluate the `selected` checks on the published gold and record them."""
    path = step.root.table_path(Layer.GOLD, spec.gold_table)
    if not selected or not path.exists():
        context.log.warning(f"gold/{spec.gold_table} has not been built: no check to run")
        return
    facts, started = table_gold_facts(step.root, spec, step.gold.distinct_values), utc_now()
    log = CheckLog(step.catalog, spec.gold_table, context.run.run_id, step.lineage)
    outcomes = yield from run_checks(table_rule_groups(spec), key, facts, selected, log)
    log.announce(spec.name, facts, started, outcomes)


def check_then_publish(
    context: AssetExecutionContext, run: TableRun, build: LayerBuild, key: AssetKey
) -> Iterator[Output | AssetCheckResult]:
    """Gold is written aside and checked first: it replaces the last good gold only if no blocking check fails.

    A rejected gold goes to `rejected/<table>/<batch>.parquet`, its transition is logged as failed, and the
    step fails through Dagster's blocking checks (the batch is not loaded: the sensor will offer it again).
    """
    spec, root = run.spec, run.root
    selected = {check.name for check in context.selected_asset_check_keys if check.asset_key == key}
    output = build.output
    candidate = stage_candidate(run.catalog, Layer.GOLD, spec.gold_table, output, run.run_id)
    facts, started = table_gold_facts(root, spec, run.lookup, gold_path=candidate), utc_now()
    log = CheckLog(run.catalog, spec.gold_table, run.run_id, run.lineage)
    outcomes = evaluate_checks(table_rule_groups(spec), facts, selected, log)
    if failed := blocking_failures(outcomes):
        rejected = reject_candidate(root, spec.gold_table, candidate, output.facts.batch_id)
        reason = (
            f"blocking checks failed: {', '.join(failed)}; gold kept its last good version, "
            f"this one is in {root.relative(rejected)}"
        )
        run.catalog.record_failure(output.facts, run.run_id, BlockingChecksFailed(reason))
        context.log.error(f"gold/{spec.gold_table}: {reason}")
    else:
        metadata = step_metadata(build.report, table_keys(spec)[Layer.STAGED])
        yield Output(replace(output, prewritten=candidate), output_name=output_name(key), metadata=metadata)
        rejected = root.table_path(Layer.GOLD, spec.gold_table)
    log.announce(spec.name, replace(facts, gold_path=rejected), started, outcomes)
    for outcome in outcomes:
        yield check_result(key, outcome)


def build_or_fail(run: TableRun, layer: Layer) -> LayerBuild | None:
    """Build a layer; bad input becomes a Dagster `Failure` whose description is JobForge's message (shown on
    top of the step's error in the UI) and whose metadata names the file, line, record, column and value."""
    try:
        return build_layer(run, layer)
    except (SourceDataError, SourceChangedError) as error:
        where = {key: getattr(error, key, None) for key in ("file", "line", "record", "column", "value")}
        metadata = {key: value for key, value in where.items() if value is not None}
        raise Failure(description=str(error), metadata=metadata) from error


def report(context: AssetExecutionContext, spec: TableSpec, facts: TransitionFacts) -> None:
    """Log what a user should notice about a layer before it is written."""
    if facts.source_layer == SOURCE and not spec.declared:
        context.log.info(f"{facts.source_files[0]} has no registry entry: table {spec.name!r} uses defaults")
    if facts.quarantined_rows:
        context.log.warning(f"{spec.name}: {facts.quarantined_rows} rows quarantined in {facts.quarantine_file}")


def layer_outs(spec: TableSpec, refusal: str | None = None) -> dict[str, AssetOut]:
    keys, version = table_keys(spec), table_version(spec)
    owners = None if refusal else table_owners(spec.gold_table)
    return {
        output_name(keys[layer]): AssetOut(
            key=keys[layer],
            is_required=False,
            group_name=spec.domain,
            description=asset_description(spec.gold_table, layer, registry_description(spec), refusal),
            kinds={layer.value, "polars", "parquet"},
            tags={"layer": layer.value},
            code_version=version,
            owners=owners,
            metadata=spec_metadata(spec.gold_table) if layer is Layer.GOLD else None,
        )
        for layer in LAYERS
    }


def layer_deps(spec: TableSpec, observed: bool = True) -> dict[str, set[AssetKey]]:
    """Each layer on the one before it (the table's own chain, built in one step); staged on the observable
    source when there is one (never in the same run, so never a gate), whose data version staged records."""
    keys = table_keys(spec)
    first = {source_key(spec)} if observed else set()
    return {output_name(keys[layer]): {keys[layer.previous]} if layer.previous else first for layer in LAYERS}


def lineage_deps(spec: TableSpec) -> dict[AssetKey, list[AssetKey]]:
    """Edges drawn in the asset graph that do not gate execution: silver on the gold tables its rows must
    reference, gold on the gold tables its checks read."""
    keys = table_keys(spec)
    referenced = {layer_key(Layer.GOLD, table) for table in spec.referenced_tables() - {spec.gold_table}}
    references = {layer_key(Layer.GOLD, ref.table) for ref in spec.references}
    return {
        keys[Layer.SILVER]: sorted(references, key=AssetKey.to_user_string),
        keys[Layer.GOLD]: sorted(referenced, key=AssetKey.to_user_string),
    }


def with_lineage_deps(assets: AssetsDefinition, extra: dict[AssetKey, list[AssetKey]]) -> AssetsDefinition:
    """`assets` with `extra` dependencies added to its specs only (no step input), so a failed or skipped
    upstream table never stops this one: its checks read the upstream's last good gold instead. (Declared on the
    decorator, they would be step inputs.) Without any, `assets` itself: rebuilding a definition is not free."""
    if not any(extra.values()):
        return assets
    return assets.map_asset_specs(lambda spec: spec.replace_attributes(deps=[*spec.deps, *extra.get(spec.key, [])]))


def medallion_assets(spec: TableSpec, referenced: bool = False, refusal: str | None = None) -> AssetsDefinition:
    """The four layer assets of one table, as one subsettable multi-asset with gold's checks. A table other
    tables reference runs first within a run (a higher step priority). The stand-in of a refused registry entry
    (`refusal` says why) fails at once, loading nothing."""
    keys = table_keys(spec)

    @multi_asset(
        name=medallion_op(spec.name),
        outs=layer_outs(spec, refusal),
        deps=[source_key(spec)],
        internal_asset_deps=layer_deps(spec),
        check_specs=check_specs(table_rule_groups(spec), keys[Layer.GOLD]),
        can_subset=True,
        pool=table_pool(spec.name),
        op_tags={PRIORITY_TAG: "1"} if referenced else None,
    )
    def _medallion(
        context: AssetExecutionContext, table_step: TableStepResource, config: TableRunConfig
    ) -> Iterator[Output | AssetCheckResult | AssetObservation]:
        if refusal is not None:
            raise Failure(description=f"{spec.name}: its registry entry is refused, nothing was loaded: {refusal}")
        yield from materialize_table(context, table_step.get(), spec, config)

    return with_lineage_deps(_medallion, lineage_deps(spec))
