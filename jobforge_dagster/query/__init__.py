"""Read-only SQL over the gold layer: the sandboxed DuckDB engine (`engine`, `sandbox`), SQL text (`sql`) and
the query watchdog (`watchdog`)."""

from jobforge_dagster.query.engine import GoldQueryEngine

__all__ = ["GoldQueryEngine"]
