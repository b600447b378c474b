"""The catalog: models written to disk (`models`), parquet footers described (`describe`), the JSON store (`store`)."""

from jobforge_dagster.catalog.describe import describe_parquet, parquet_row_count
from jobforge_dagster.catalog.models import (
    BatchRecord,
    CatalogEntry,
    CheckResult,
    CheckResults,
    ColumnMetadata,
    LayerTransitionLog,
    TableMetadata,
    TransitionFacts,
    TransitionStatus,
    utc_now,
)
from jobforge_dagster.catalog.store import CatalogManager

__all__ = [
    "BatchRecord",
    "CatalogEntry",
    "CatalogManager",
    "CheckResult",
    "CheckResults",
    "ColumnMetadata",
    "LayerTransitionLog",
    "TableMetadata",
    "TransitionFacts",
    "TransitionStatus",
    "describe_parquet",
    "parquet_row_count",
    "utc_now",
]
