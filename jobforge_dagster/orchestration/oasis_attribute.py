"""Gold models built across registry tables."""

from collections.abc import Iterator

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    AssetOut,
    AssetsDefinition,
    Output,
    multi_asset,
)

from jobforge_dagster.build.oasis_attribute import RULE_GROUPS, attribute_current, attribute_output, model_version
from jobforge_dagster.build.output import LayerOutput, PublishedLayer
from jobforge_dagster.build.steps import StepReport
from jobforge_dagster.catalog.models import utc_now
from jobforge_dagster.layers import BATCH_ID, Layer
from jobforge_dagster.orchestration.checks import check_specs, run_checks
from jobforge_dagster.orchestration.keys import PRIORITY_TAG, layer_key, output_name, table_pool
from jobforge_dagster.orchestration.medallion import (
    clean_stale_temporaries,
    flushed,
    forced,
    stored_checks,
    with_lineage_deps,
)
from jobforge_dagster.orchestration.metadata import (
    asset_description,
    published_metadata,
    spec_metadata,
    step_metadata,
    table_owners,
)
from jobforge_dagster.orchestration.resources import (
    StepResources,
    TableStepResource,
)
from jobforge_dagster.quality.evaluation import CheckLog
from jobforge_dagster.quality.rules import GoldFacts
from jobforge_dagster.registry.names import OASIS_ATTRIBUTE, OASIS_GUIDE, OASIS_RATINGS
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.storage.files import exclusive_lock

OASIS_ATTRIBUTE_KEY = layer_key(Layer.GOLD, OASIS_ATTRIBUTE)


def oasis_attribute_dimension(tables: list[TableSpec]) -> AssetsDefinition | None:
    """`gold/dim_oasis_attribute`: every OaSIS rating attribute, its trimmed name, its exact source header and its
    descriptor's definition and scale from `gold/oasis_guide` (drawn as an upstream of it)."""
    ratings = [spec for spec in tables if spec.gold_transform == OASIS_RATINGS]
    if not ratings:
        return None

    @multi_asset(
        name=output_name(OASIS_ATTRIBUTE_KEY),
        outs={
            output_name(OASIS_ATTRIBUTE_KEY): AssetOut(
                key=OASIS_ATTRIBUTE_KEY,
                is_required=False,  # not yielded when current
                group_name="oasis",
                kinds={Layer.GOLD.value, "polars", "parquet"},
                description=asset_description(OASIS_ATTRIBUTE, Layer.GOLD),
                code_version=model_version(ratings),
                owners=table_owners(OASIS_ATTRIBUTE),
                metadata=spec_metadata(OASIS_ATTRIBUTE),
            )
        },
        check_specs=check_specs(RULE_GROUPS, OASIS_ATTRIBUTE_KEY),
        can_subset=True,  # its checks may run alone
        pool=table_pool(OASIS_ATTRIBUTE),
        op_tags={PRIORITY_TAG: "-1"},  # after the rating tables of the same run
    )
    def dim_oasis_attribute(
        context: AssetExecutionContext, table_step: TableStepResource
    ) -> Iterator[Output[LayerOutput] | AssetCheckResult | AssetObservation]:
        step = table_step.get()
        root = step.root
        with exclusive_lock(root.lock_path(OASIS_ATTRIBUTE)), flushed(step.lineage):
            clean_stale_temporaries(context, root, step.temporaries, OASIS_ATTRIBUTE, OASIS_ATTRIBUTE)
            if (batch := attribute_current(root, ratings)) is not None and not forced(context):
                yield from report_current_dimension(context, step, ratings, batch)
                return
            yield from build_dimension(context, step, ratings)

    return with_lineage_deps(dim_oasis_attribute, {OASIS_ATTRIBUTE_KEY: dimension_reads(tables, ratings)})


def dimension_reads(tables: list[TableSpec], ratings: list[TableSpec]) -> list[AssetKey]:
    """The staged rating tables, and the guide's gold table when the registry has one."""
    read = [layer_key(Layer.STAGED, spec.name) for spec in ratings]
    return read + ([layer_key(Layer.GOLD, OASIS_GUIDE)] if any(s.gold_table == OASIS_GUIDE for s in tables) else [])


def report_current_dimension(
    context: AssetExecutionContext, step: StepResources, ratings: list[TableSpec], batch: str
) -> Iterator[Output[PublishedLayer] | AssetCheckResult]:
    """The dimension is current: reported as published, its checks re-reported for its batch (or evaluated)."""
    context.log.info(f"{OASIS_ATTRIBUTE}: current (batch {batch}); reported as published, nothing rewritten")
    published = PublishedLayer(Layer.GOLD, OASIS_ATTRIBUTE, batch)
    if OASIS_ATTRIBUTE_KEY in context.selected_asset_keys:
        table = step.catalog.load_table_metadata(OASIS_ATTRIBUTE, Layer.GOLD.value)
        metadata = published_metadata(step.root, published, model_version(ratings), table)
        yield Output(published, output_name=output_name(OASIS_ATTRIBUTE_KEY), metadata=metadata)
    selected = {key.name for key in context.selected_asset_check_keys}
    missing = yield from stored_checks(step.catalog, OASIS_ATTRIBUTE, OASIS_ATTRIBUTE_KEY, batch, selected)
    if missing:
        yield from check_dimension(context, step, missing)


def build_dimension(
    context: AssetExecutionContext, step: StepResources, ratings: list[TableSpec]
) -> Iterator[Output[LayerOutput] | AssetCheckResult]:
    """Write the dimension, then run its selected checks on the file written."""
    root = step.root
    output = attribute_output(root, ratings)
    step.catalog.record_start(output.facts, context.run.run_id)
    batches = sorted(output.frame[BATCH_ID].unique().to_list())
    metadata = step_metadata(StepReport(input_batches=batches), OASIS_ATTRIBUTE_KEY)
    yield Output(output, output_name=output_name(OASIS_ATTRIBUTE_KEY), metadata=metadata)
    yield from check_dimension(context, step, {key.name for key in context.selected_asset_check_keys})


def check_dimension(
    context: AssetExecutionContext, step: StepResources, selected: set[str]
) -> Iterator[AssetCheckResult]:
    """Evaluate the dimension's selected checks on its gold file, record and announce them."""
    gold_path = step.root.table_path(Layer.GOLD, OASIS_ATTRIBUTE)
    facts, started = GoldFacts(gold_path, step.gold.distinct_values), utc_now()
    log = CheckLog(step.catalog, OASIS_ATTRIBUTE, context.run.run_id, step.lineage)
    outcomes = yield from run_checks(RULE_GROUPS, OASIS_ATTRIBUTE_KEY, facts, selected, log)
    log.announce(OASIS_ATTRIBUTE, facts, started, outcomes)
