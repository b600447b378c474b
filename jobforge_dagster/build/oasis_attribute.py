"""`gold/dim_oasis_attribute`: every OaSIS rating attribute across the rating tables, from their staged headers,
with the definition and scale of its descriptor from the OaSIS guide's gold table."""

import hashlib

import polars as pl

from jobforge_dagster.batches.stamps import layer_stamp
from jobforge_dagster.batches.versions import layer_intact, table_version
from jobforge_dagster.build.output import LayerOutput
from jobforge_dagster.build.steps import code_of
from jobforge_dagster.catalog.models import CatalogEntry, TransitionFacts, utc_now
from jobforge_dagster.dictionary.oasis_guide import GUIDE_COLUMNS, with_guide
from jobforge_dagster.layers import (
    BATCH_ID,
    INGESTED_AT,
    PROVENANCE_COLUMNS,
    SOURCE_FILE,
    SOURCE_LINE,
    SOURCE_ROW,
    Layer,
)
from jobforge_dagster.quality import checks
from jobforge_dagster.quality.rules import PROVENANCE_RULE, Rule, RuleGroup, documented_rule, guide_entries, key_unique
from jobforge_dagster.registry.names import OASIS_ATTRIBUTE, OASIS_GUIDE
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.parquet import scan_parquet
from jobforge_dagster.transforms.bronze import column_mapping
from jobforge_dagster.transforms.gold import OASIS_INDEX
from jobforge_dagster.transforms.lineage import ColumnLineage, identity, indirect, transformed

KEY = ["category", "attribute"]


RULE_GROUPS = [
    RuleGroup(checks.INTEGRITY, "Provenance intact", (PROVENANCE_RULE,)),
    RuleGroup(
        checks.CONFORMANCE,
        "Declared data rules hold",
        (
            Rule("key_unique", f"({', '.join(KEY)}) unique", key_unique, {"key": KEY}),
            Rule("guide_entries", "every attribute has an OaSIS guide entry (WARN)", guide_entries),
            documented_rule(OASIS_ATTRIBUTE),
        ),
    ),
]
#: The guide's empty frame when gold/oasis_guide.parquet does not exist: every attribute is then unmatched.
NO_GUIDE = pl.LazyFrame(
    schema={name: pl.String for name in ("code", "name", "structure_type", "category", "description")}
)


def rating_headers(spec: TableSpec, staged: pl.LazyFrame) -> dict[str, str]:
    """Staged header -> gold attribute, for the rating columns of a staged OaSIS table."""
    names = [name for name in staged.collect_schema().names() if name not in PROVENANCE_COLUMNS]
    return {header: name for header, name in column_mapping(names, spec.renames).items() if name not in OASIS_INDEX}


def attribute_rows(spec: TableSpec, staged: pl.LazyFrame) -> pl.DataFrame:
    """One row per rating column of a staged OaSIS table: the gold attribute and the header it came from.

    `_source_row` is 0 and `_source_line` 1: the row comes from the header record.
    """
    headers = rating_headers(spec, staged)
    origin = staged.select(SOURCE_FILE, INGESTED_AT, BATCH_ID).head(1).collect().row(0, named=True)
    rows = [
        {
            "category": spec.name.removeprefix("oasis_"),
            "attribute": attribute,
            "attribute_name": " ".join(header.split()),
            "source_header": header,
            "position": position,
        }
        for position, (header, attribute) in enumerate(headers.items(), start=1)
    ]
    return pl.DataFrame(rows).with_columns(
        pl.lit(origin[SOURCE_FILE]).alias(SOURCE_FILE),
        pl.lit(0, dtype=pl.Int64).alias(SOURCE_ROW),
        pl.lit(1, dtype=pl.Int64).alias(SOURCE_LINE),
        pl.lit(origin[INGESTED_AT]).alias(INGESTED_AT),
        pl.lit(origin[BATCH_ID]).alias(BATCH_ID),
    )


#: How each column of the dimension derives from a rating column's header.
HEADER_DERIVED = {
    "attribute": "the header's bronze name (snake_case, declared renames)",
    "attribute_name": "the header with its whitespace trimmed",
    "source_header": "the header as spelled in the file",
    "position": "the header's position among the table's rating columns",
}


#: How each column the guide join adds derives from the guide's gold table.
GUIDE_DERIVED = {
    "guide_code": (
        "code",
        "the descriptor's code, matched on category and name (exact, normalised, numbered repeat or declared alias)",
    ),
    "definition_en": ("description", "the description without its sentence on the scale"),
    "definition_fr": ("description", "the French description when the guide has one (the 2023 guide does not)"),
    "scale": ("description", "the scale stated in 'This descriptor is measured by ...'"),
    "scale_min": ("description", "the scale's lower bound, when every range it states agrees"),
    "scale_max": ("description", "the scale's upper bound, when every range it states agrees"),
    "guide_match": ("name", "how the attribute's name matched the descriptor's name"),
}


def attribute_lineage(headers_by_file: dict[str, list[str]], guide_file: str) -> ColumnLineage:
    """Each column from the rating headers of every staged file; provenance from each file's own columns; the
    guide's columns from its gold table, joined on category and name."""
    fields = {
        column: [transformed(header, how, file) for file, headers in headers_by_file.items() for header in headers]
        for column, how in HEADER_DERIVED.items()
    }
    for column in (SOURCE_FILE, INGESTED_AT, BATCH_ID):
        fields[column] = [identity(column, "the file's first row", file) for file in headers_by_file]
    fields |= {column: [transformed(source, how, guide_file)] for column, (source, how) in GUIDE_DERIVED.items()}
    join = [
        indirect(column, "JOIN", "left join: attributes without a guide entry keep nulls", guide_file)
        for column in ("category", "name")
    ]
    return ColumnLineage(fields=fields, dataset=join)


def attribute_batch(batches: list[str]) -> tuple[str, str]:
    """(batch id, digest) of the dimension built from these batches (staged rating tables and the guide)."""
    digest = hashlib.sha256("\n".join(sorted(batches)).encode()).hexdigest()
    return f"{OASIS_ATTRIBUTE}-{digest[:12]}", digest


def model_version(ratings: list[TableSpec]) -> str:
    """The rating tables' versions together: the dimension is rebuilt when any of them changes."""
    return hashlib.sha256(" ".join(table_version(spec) for spec in ratings).encode()).hexdigest()[:16]


def guide_batch(root: DataRoot) -> list[str]:
    """The batch of the guide's gold table, if it has one: the dimension is rebuilt when the guide changes."""
    stamp = layer_stamp(root.table_path(Layer.GOLD, OASIS_GUIDE))
    return [stamp.batch_id] if stamp is not None else []


def attribute_current(root: DataRoot, ratings: list[TableSpec]) -> str | None:
    """The dimension's batch when it was built from the staged batches and the guide there now, under the same
    versions, and its file is the one that run wrote."""
    staged = [layer_stamp(root.table_path(Layer.STAGED, spec.name)) for spec in ratings]
    built = layer_stamp(root.table_path(Layer.GOLD, OASIS_ATTRIBUTE))
    if built is None or any(stamp is None for stamp in staged) or built.table_version != model_version(ratings):
        return None
    if not layer_intact(root, Layer.GOLD, OASIS_ATTRIBUTE):
        return None
    batch_id, _ = attribute_batch([stamp.batch_id for stamp in staged if stamp is not None] + guide_batch(root))
    return batch_id if built.batch_id == batch_id else None


def guide_frame(root: DataRoot) -> tuple[pl.LazyFrame, list[str]]:
    """The guide's gold table and its file as an input (none when it has not been built)."""
    path = root.table_path(Layer.GOLD, OASIS_GUIDE)
    return (scan_parquet(path), [root.relative(path)]) if path.exists() else (NO_GUIDE, [])


def attribute_output(root: DataRoot, ratings: list[TableSpec]) -> LayerOutput:
    """The dimension from the staged rating tables joined with the guide, with its transition facts (one header
    record per table)."""
    started = utc_now()
    paths = [root.table_path(Layer.STAGED, spec.name) for spec in ratings]
    rows = pl.concat([attribute_rows(spec, scan_parquet(path)) for spec, path in zip(ratings, paths, strict=True)])
    guide, guide_files = guide_frame(root)
    frame = with_guide(rows.lazy(), guide).collect()
    headers = {
        root.relative(path): list(rating_headers(spec, scan_parquet(path)))
        for spec, path in zip(ratings, paths, strict=True)
    }
    batch_id, digest = attribute_batch(sorted(frame[BATCH_ID].unique().to_list()) + guide_batch(root))
    facts = TransitionFacts(
        table=OASIS_ATTRIBUTE,
        target_layer=Layer.GOLD.value,
        batch_id=batch_id,
        source_sha256=digest,
        table_version=model_version(ratings),
        source_layer=Layer.STAGED.value,
        source_files=[root.relative(path) for path in paths],
        reads=guide_files,
        rows_in=len(paths),
        transforms=[
            "rating headers of each OaSIS table: bronze name, whitespace-trimmed name, exact header",
            f"joined with gold/{OASIS_GUIDE}: {', '.join(GUIDE_COLUMNS)}",
        ],
        started_at=started,
        target_file=root.relative(root.table_path(Layer.GOLD, OASIS_ATTRIBUTE)),
        column_lineage=attribute_lineage(headers, root.relative(root.table_path(Layer.GOLD, OASIS_GUIDE))),
        code=code_of(attribute_rows),
    )
    upstream = [f"staged/{spec.name}" for spec in ratings] + [f"gold/{OASIS_GUIDE}"]
    return LayerOutput(frame, facts, CatalogEntry(domain="oasis", upstream_tables=upstream))
