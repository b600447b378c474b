"""The registry as a Dagster Component: `sources.yaml` -> a table's four layer assets, checks, jobs and sensor."""


import dagster as dg
from pydantic import Field

from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.orchestration.automation import Automation
from jobforge_dagster.registry.file import SourceRegistry, registry_file
from jobforge_dagster.storage.data_root import DataRoot, resolve_root


class MedallionComponent(dg.Component, dg.Model, dg.Resolvable):
    """Every table of a source registry as a medallion (staged -> bronze -> silver -> gold) over one data root.

    `registry` is a bundled registry's name (`sample`, `noc2021`) or a YAML file; `$JOBFORGE_REGISTRY` when not
    given. The data root and source folder come from `$JOBFORGE_DATA_ROOT` and `$JOBFORGE_SOURCE_ROOT` likewise.
    """

    registry: str | None = Field(default=None, description="Registry: a bundled name or a YAML file.")
    data_root: str | None = Field(default=None, description="Data root; default $JOBFORGE_DATA_ROOT or ./data.")
    source_root: str | None = Field(default=None, description="Source folder; default <data root>/source.")
    automation: Automation | None = Field(
        default=None,
        description="Declarative automation of the layer assets (`mode: eager` or `mode: on_cron`); off when unset.",
    )

    def resolved_root(self) -> DataRoot:
        from_env = DataRoot.from_env()
        return DataRoot(
            data_root=resolve_root(self.data_root) if self.data_root else from_env.data_root,
            source_root=resolve_root(self.source_root) if self.source_root else from_env.source_root,
        )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        path = registry_file(self.registry)
        return build_definitions(self.resolved_root(), SourceRegistry.load(path), self.automation, path.name)
