"""What bronze, silver and gold do to the layer before them: the registry's transforms wired to one table."""

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.layers import PROVENANCE_COLUMNS, Layer
from jobforge_dagster.quality.rules import Lookup
from jobforge_dagster.registry.numbers import PLAIN, NumberFormat
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.dialect import SourceDialect
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.parquet import sink_parquet_atomic
from jobforge_dagster.transforms import bronze, inference, silver
from jobforge_dagster.transforms.gold import gold_lineage, gold_transform
from jobforge_dagster.transforms.lineage import ColumnLineage


def code_of(function: Callable) -> str:
    """`module.function`: where the code that builds a layer lives."""
    return f"{function.__module__}.{function.__qualname__}"


@dataclass(frozen=True)
class StepReport:
    """What a layer's transform found, for the people watching a run (None: not this layer's concern)."""

    column_mapping: dict[str, str] | None = None  # bronze: staged header -> bronze column
    schema_drift: dict[str, list[str]] | None = None  # bronze: columns added and removed since the last bronze
    null_tokens: dict[str, int] | None = None  # bronze: cells set to null per column
    repaired_codes: dict[str, int] | None = None  # silver: cells whose code was repaired, per column
    inferred_types: dict[str, str] | None = None  # silver of an undeclared table: column -> inferred type
    input_batches: list[str] | None = None  # a model across tables: the batches it was built from

    @property
    def renamed_columns(self) -> dict[str, str]:
        return {old: new for old, new in (self.column_mapping or {}).items() if old != new}


@dataclass(frozen=True)
class LayerStep:
    """A layer's frame, what its transform did to the rows, and where each column came from."""

    frame: pl.LazyFrame
    transforms: list[str]
    report: StepReport = field(default_factory=StepReport)
    quarantined_rows: int = 0
    quarantine_file: str | None = None
    rows_in: int | None = None
    column_lineage: ColumnLineage = field(default_factory=ColumnLineage)
    code: str | None = None
    inferred_types: dict[str, str] = field(default_factory=dict)  # column -> type silver inferred from its text
    source_dialect: SourceDialect | None = None  # staged of a CSV source: how the file was read
    number_format: NumberFormat | None = None  # silver of an undeclared table: the convention numbers were read under


@dataclass(frozen=True)
class StepInput:
    """What a step reads besides the previous layer: the table, the data root, its batch, gold lookups."""

    spec: TableSpec
    root: DataRoot
    catalog: CatalogManager
    batch_id: str
    source_file: str
    lookup: Lookup


def schema_drift(spec: TableSpec, columns: list[str], catalog: CatalogManager) -> dict[str, list[str]]:
    """Bronze columns added and removed since the last bronze build of this table (empty the first time)."""
    previous = catalog.load_table_metadata(spec.name, Layer.BRONZE.value)
    if previous is None:
        return {}
    before = [column.name for column in previous.columns if column.name not in PROVENANCE_COLUMNS]
    drift = {
        "added": [name for name in columns if name not in before],
        "removed": [name for name in before if name not in columns],
    }
    return drift if drift["added"] or drift["removed"] else {}


def checked_plan(spec: TableSpec, source_file: str, upstream: pl.LazyFrame) -> bronze.BronzePlan:
    """The table's bronze plan; refuses a header the registry does not fit, or that lacks a required column."""
    try:
        plan = bronze.plan_for(spec, upstream.collect_schema().names())
    except ValueError as error:  # the file lacks a column the registry names
        raise SourceDataError(f"header does not match the registry: {error}", file=source_file) from error
    columns = list(plan.mapping.values())
    if missing := [name for name in spec.required_columns if name not in columns]:
        raise SourceDataError(f"required columns missing: {missing}; the file has {columns}", file=source_file)
    return plan


def bronze_plan(given: StepInput, upstream: pl.LazyFrame) -> tuple[bronze.BronzePlan, dict[str, list[str]]]:
    """The table's bronze plan (`checked_plan`) and its schema drift since the last bronze."""
    spec, source_file = given.spec, given.source_file
    plan = checked_plan(spec, source_file, upstream)
    drift = schema_drift(spec, list(plan.mapping.values()), given.catalog)
    if drift and spec.schema_drift == "fail":
        raise SourceDataError(
            f"schema drift since the last load (added {drift['added']}, removed {drift['removed']}); "
            "the registry says schema_drift: fail",
            file=source_file,
        )
    return plan, drift


def bronze_rows(upstream: pl.LazyFrame, plan: bronze.BronzePlan, source_file: str) -> pl.LazyFrame:
    """Bronze's rows: every declared cast checked (the first bad cells named), then applied."""
    bronze.check_casts(upstream, plan, source_file)
    return bronze.standardise(upstream, plan)


def bronze_transforms(spec: TableSpec, plan: bronze.BronzePlan, null_tokens: dict[str, int]) -> list[str]:
    transforms = ["headers to unique snake_case identifiers"]
    transforms += [f"rename {old} -> {new}" for old, new in spec.renames.items()]
    if spec.null_values:
        transforms.append(f"null tokens {spec.null_values} to null: {sum(null_tokens.values())} cells")
    if spec.thousands_separator:
        transforms.append(f"thousands separator {spec.thousands_separator!r} removed before numeric casts")
    if spec.number_format != PLAIN and plan.types:
        transforms.append(f"declared numbers read as written with {spec.number_format.label}")
    return transforms + [f"cast {column} to {dtype}" for column, dtype in plan.types.items()]


def bronze_step(given: StepInput, upstream: pl.LazyFrame) -> LayerStep:
    plan, drift = bronze_plan(given, upstream)
    rows = bronze_rows(upstream, plan, given.source_file)
    null_tokens = bronze.count_null_tokens(upstream, plan)
    transforms = bronze_transforms(given.spec, plan, null_tokens)
    if drift:
        transforms.append(f"schema drift reported: added {drift['added']}, removed {drift['removed']}")
    report = StepReport(column_mapping=dict(plan.mapping), schema_drift=drift, null_tokens=null_tokens)
    columns = bronze.lineage(plan, upstream.collect_schema().names())
    return LayerStep(
        rows,
        transforms,
        report,
        column_lineage=columns,
        code=code_of(bronze.standardise),
    )


def silver_repairs(spec: TableSpec, cleaned: pl.LazyFrame) -> tuple[pl.LazyFrame, list[str], dict[str, int]]:
    """Declared code repairs: (repaired frame, a transform line per repair, cells changed per column)."""
    repaired = silver.restore_decimal_codes(silver.pad_codes(cleaned, spec.pad_codes), spec.decimal_code_formats())
    changed = silver.changed_cells(cleaned, repaired, [*spec.pad_codes, *spec.decimal_codes])
    repairs = [
        f"pad {column} with leading zeros to {width} digits: {changed[column]} cells"
        for column, width in spec.pad_codes.items()
    ] + [
        f"restore {column} to {fmt} digits.decimals: {changed[column]} cells"
        for column, fmt in spec.decimal_codes.items()
    ]
    return repaired, repairs, changed


@dataclass(frozen=True)
class SilverTypes:
    """Silver's rows with their final column types, and what the inference recorded (nothing if declared)."""

    frame: pl.LazyFrame
    inferred: dict[str, str] = field(default_factory=dict)
    transforms: list[str] = field(default_factory=list)
    number_format: NumberFormat | None = None


def silver_types(spec: TableSpec, passed: pl.LazyFrame) -> SilverTypes:
    """An undeclared table's rows with the types their text allows; a declared table's unchanged (its registry
    types rule)."""
    if spec.declared:
        return SilverTypes(passed)
    fmt, found = inference.table_types(passed, inference.text_columns(passed))
    names = inference.inferred_names(found)
    transforms = inference.inference_transforms(found)
    return SilverTypes(inference.cast_inferred(passed, found), names, transforms, fmt)


@dataclass(frozen=True)
class SilverRows:
    """Silver's rows before anything is written: those that pass (typed), those set aside with their reasons,
    and the cells each code repair changed."""

    split: silver.SilverSplit
    typed: SilverTypes
    changed: dict[str, int]


def silver_rows(spec: TableSpec, upstream: pl.LazyFrame, lookup: Lookup) -> SilverRows:
    """Trim, blanks to null, declared code repairs, rules, references (their values from `lookup`), key
    de-duplication; an undeclared table's types inferred from its text."""
    references = {
        ref.column: (f"{ref.table}.{ref.table_column}", lookup(ref.table, ref.table_column).lazy())
        for ref in spec.references
    }
    repaired, repairs, changed = silver_repairs(spec, silver.clean(upstream))
    blanks = silver.count_blanks(upstream)
    result = silver.split(repaired, spec.key_columns, spec.rules, references, repairs=repairs, blanks=blanks)
    return SilverRows(result, silver_types(spec, result.passed), changed)


def silver_step(given: StepInput, upstream: pl.LazyFrame) -> LayerStep:
    spec = given.spec
    rows = silver_rows(spec, upstream, given.lookup)
    result, typed = rows.split, rows.typed
    path = given.root.quarantine_path(spec.name, given.batch_id)
    quarantined = 0
    if result.quarantined is not None:
        footer = sink_parquet_atomic(result.quarantined, path, {"jobforge.batch_id": given.batch_id}, keep_empty=False)
        quarantined = footer.num_rows if footer is not None else 0
    quarantine_file = given.root.relative(path) if quarantined else None
    inferred = None if spec.declared else typed.inferred
    report = StepReport(repaired_codes=rows.changed or None, inferred_types=inferred)
    columns = silver_lineage(given, upstream, typed.inferred)
    return LayerStep(
        typed.frame,
        result.transforms + typed.transforms,
        report,
        quarantined,
        quarantine_file,
        column_lineage=columns,
        code=SPLIT,
        inferred_types=typed.inferred,
        number_format=typed.number_format,
    )


def silver_lineage(given: StepInput, upstream: pl.LazyFrame, inferred: dict[str, str]) -> ColumnLineage:
    """Silver's column lineage; the gold files its references are checked against are inputs too."""
    files = {
        ref.column: given.root.relative(given.root.table_path(Layer.GOLD, ref.table)) for ref in given.spec.references
    }
    strings = silver.string_columns(upstream)
    return silver.lineage(given.spec, upstream.collect_schema().names(), strings, files, inferred)


def gold_step(given: StepInput, upstream: pl.LazyFrame) -> LayerStep:
    name = given.spec.gold_transform
    transform = gold_transform(name)
    columns = gold_lineage(name, upstream.collect_schema().names())
    inferred = {} if given.spec.declared else inference.carried_types(upstream)  # gold keeps silver's types
    return LayerStep(
        transform(upstream),
        [f"gold transform: {name or 'identity'}"],
        column_lineage=columns,
        code=code_of(transform),
        inferred_types=inferred,
    )


SPLIT = code_of(silver.split)

#: How each layer after staged is built from the one before it.
LAYER_STEPS: dict[Layer, Callable[[StepInput, pl.LazyFrame], LayerStep]] = {
    Layer.BRONZE: bronze_step,
    Layer.SILVER: silver_step,
    Layer.GOLD: gold_step,
}
