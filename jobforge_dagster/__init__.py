"""JobForge: Canadian occupational data to governed gold tables, as a Dagster code location."""

from jobforge_dagster.definitions import defs

__all__ = ["defs"]
