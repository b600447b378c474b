"""The catalog: models written to disk (`models`), parquet footers described (`describe`; the seed's name
`generate_table_metadata`), what columns mean and how they were made (`documentation`), the JSON store (`store`),
and `update_catalog_on_transition` (`transitions`), which records a successful transition in one call."""

from jobforge_dagster.catalog.describe import describe_parquet, generate_table_metadata, parquet_row_count
from jobforge_dagster.catalog.models import (
    BatchRecord,
    CatalogEntry,
    CheckResult,
    CheckResults,
    ColumnMetadata,
    FileSeal,
    LayerTransitionLog,
    TableMetadata,
    TransitionFacts,
    TransitionStatus,
    utc_now,
)
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.catalog.transitions import update_catalog_on_transition
from jobforge_dagster.transforms.lineage import ColumnLineage, ColumnOrigin

__all__ = [
    "BatchRecord",
    "CatalogEntry",
    "CatalogManager",
    "CheckResult",
    "CheckResults",
    "ColumnLineage",
    "ColumnMetadata",
    "ColumnOrigin",
    "FileSeal",
    "LayerTransitionLog",
    "TableMetadata",
    "TransitionFacts",
    "TransitionStatus",
    "describe_parquet",
    "generate_table_metadata",
    "parquet_row_count",
    "update_catalog_on_transition",
    "utc_now",
]
