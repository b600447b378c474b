"""JobForge: Canadian occupational data to governed gold tables, as a Dagster code location.

The code location is `jobforge_dagster.definitions:defs` (workspace.yaml and pyproject.toml name it). The
package re-exports it on first access only, so `dagster ... -m jobforge_dagster` finds it while the pure
modules (`transforms`, `registry`, `layers`) import without loading Dagster.
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
