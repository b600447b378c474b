"""The registry as a Dagster Component: `sources.yaml` -> a table's four layer assets, checks, jobs and sensor."""

from pathlib import Path

import dagster as dg
from pydantic import Field

from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.orchestration.automation import Automation
from jobforge_dagster.registry.file import REGISTRY_FILE, SourceRegistry
from jobforge_dagster.storage.data_root import DataRoot, resolve_root


class MedallionComponent(dg.Component, dg.Model, dg.Resolvable):
    """Every table of a source registry as a medallion (staged -> bronze -> silver -> gold) over one data root.

    `registry` is a YAML file, relative to the package unless absolute. The data root and source folder come
    from `$JOBFORGE_DATA_ROOT` and `$JOBFORGE_SOURCE_ROOT` when not given.
    """

    registry: str = Field(default=REGISTRY_FILE.name, description="The source registry (YAML).")
    data_root: str | None = Field(default=None, description="Data root; default $JOBFORGE_DATA_ROOT or ./data.")
    source_root: str | None = Field(default=None, description="Source folder; default <data root>/source.")
    automation: Automation | None = Field(
        default=None,
        description="Declarative automation of the layer assets (`mode: eager` or `mode: on_cron`); off when unset.",
    )

    def registry_path(self) -> Path:
        path = Path(self.registry)
        return path if path.is_absolute() else REGISTRY_FILE.parent / path

    def resolved_root(self) -> DataRoot:
        from_env = DataRoot.from_env()
        return DataRoot(
            data_root=resolve_root(self.data_root) if self.data_root else from_env.data_root,
            source_root=resolve_root(self.source_root) if self.source_root else from_env.source_root,
        )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return build_definitions(self.resolved_root(), SourceRegistry.load(self.registry_path()), self.automation)
