"""Gold models built across registry tables."""

import hashlib
from collections.abc import Iterator

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MetadataValue,
    Output,
    asset,
)

from jobforge_dagster import checks
from jobforge_dagster.assets.table_checks import check_result
from jobforge_dagster.catalog import TransitionFacts
from jobforge_dagster.config import JobForgeConfig
from jobforge_dagster.layers import (
    BATCH_ID,
    INGESTED_AT,
    PROVENANCE_COLUMNS,
    SOURCE_FILE,
    SOURCE_LINE,
    SOURCE_ROW,
    Layer,
)
from jobforge_dagster.registry import TableSpec
from jobforge_dagster.transforms.bronze import column_mapping

OASIS_ATTRIBUTE_KEY = AssetKey([Layer.GOLD.value, "dim_oasis_attribute"])
#: The gold transform that melts an OaSIS rating table; its attributes go into the dimension.
OASIS_RATINGS = "oasis_long"
NOT_ATTRIBUTES = ("oasis_code", "oasis_label")


def attribute_rows(spec: TableSpec, staged: pl.LazyFrame) -> pl.DataFrame:
    """One row per rating column of a staged OaSIS table: the gold attribute and the header it came from.

    `_source_row` is 0 and `_source_line` 1: the row comes from the header record.
    """
    names = [name for name in staged.collect_schema().names() if name not in PROVENANCE_COLUMNS]
    mapping = column_mapping(names, spec.renames)
    origin = staged.select(SOURCE_FILE, INGESTED_AT, BATCH_ID).head(1).collect().row(0, named=True)
    rows = [
        {
            "category": spec.name.removeprefix("oasis_"),
            "attribute": attribute,
            "attribute_name": " ".join(header.split()),
            "source_header": header,
            "position": position,
        }
        for position, (header, attribute) in enumerate(mapping.items(), start=1)
        if attribute not in NOT_ATTRIBUTES
    ]
    return pl.DataFrame(rows).with_columns(
        pl.lit(origin[SOURCE_FILE]).alias(SOURCE_FILE),
        pl.lit(0, dtype=pl.Int64).alias(SOURCE_ROW),
        pl.lit(1, dtype=pl.Int64).alias(SOURCE_LINE),
        pl.lit(origin[INGESTED_AT]).alias(INGESTED_AT),
        pl.lit(origin[BATCH_ID]).alias(BATCH_ID),
    )


def oasis_attribute_dimension(tables: list[TableSpec]) -> AssetsDefinition | None:
    """`gold/dim_oasis_attribute`: every OaSIS rating attribute, its trimmed name and its exact source header."""
    ratings = [spec for spec in tables if spec.gold_transform == OASIS_RATINGS]
    if not ratings:
        return None
    key_columns = ["category", "attribute"]

    @asset(
        key=OASIS_ATTRIBUTE_KEY,
        deps=[AssetKey([Layer.STAGED.value, spec.name]) for spec in ratings],
        group_name="oasis",
        kinds={"polars", "parquet"},
        description="OaSIS rating attributes: gold attribute, trimmed display name, source header as spelled.",
        metadata={"domain": "oasis", "upstream_tables": [f"staged/{spec.name}" for spec in ratings]},
        check_specs=[
            AssetCheckSpec(checks.INTEGRITY, asset=OASIS_ATTRIBUTE_KEY, blocking=True, description="provenance"),
            AssetCheckSpec(
                checks.CONFORMANCE,
                asset=OASIS_ATTRIBUTE_KEY,
                blocking=True,
                description="key_unique (category, attribute)",
            ),
        ],
    )
    def dim_oasis_attribute(
        context: AssetExecutionContext, jobforge: JobForgeConfig
    ) -> Iterator[Output[pl.DataFrame] | AssetCheckResult]:
        paths = [jobforge.table_path(Layer.STAGED, spec.name) for spec in ratings]
        frame = pl.concat(
            [attribute_rows(spec, pl.scan_parquet(path)) for spec, path in zip(ratings, paths, strict=True)]
        )
        batches = sorted(frame[BATCH_ID].unique().to_list())
        digest = hashlib.sha256("\n".join(batches).encode()).hexdigest()
        facts = TransitionFacts(
            table="dim_oasis_attribute",
            batch_id=f"dim_oasis_attribute-{digest[:12]}",
            source_sha256=digest,
            source_layer=Layer.STAGED.value,
            source_files=[jobforge.relative(path) for path in paths],
            transforms=["rating headers of each OaSIS table: bronze name, whitespace-trimmed name, exact header"],
        )
        yield Output(frame, metadata=facts.to_metadata() | {"input_batches": MetadataValue.json(batches)})
        written = pl.scan_parquet(jobforge.table_path(Layer.GOLD, OASIS_ATTRIBUTE_KEY.path[-1]))
        for name, outcome in (
            (checks.INTEGRITY, checks.combine({"provenance": checks.provenance_check(written)})),
            (checks.CONFORMANCE, checks.combine({"key_unique": checks.key_unique_check(written, key_columns)})),
        ):
            yield check_result(OASIS_ATTRIBUTE_KEY, name, outcome)

    return dim_oasis_attribute
