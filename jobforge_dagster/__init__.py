"""JobForge: Canadian occupational data to governed gold tables, as a Dagster code location.

`defs` is built on first access (Dagster's loader finds it through `dir()`), so importing a submodule such
as `jobforge_dagster.transforms` neither imports Dagster's definitions nor reads the environment.
"""

from typing import Any

__all__ = ["defs"]


def __getattr__(name: str) -> Any:
    if name == "defs":
        from jobforge_dagster.definitions import defs

        return defs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "defs"])
