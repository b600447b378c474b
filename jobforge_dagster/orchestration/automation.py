"""Declarative automation, chosen in the component's `defs.yaml`: Dagster materializes only unsynced tables."""

from typing import Literal

from dagster import AssetsDefinition, AutomationCondition
from pydantic import BaseModel, Field


class Automation(BaseModel):
    """`eager`: a table's layers are materialized as soon as its source's data version changes (or they are
    missing); `on_cron`: at most once per `cron` tick, once the source changed. Either way a table whose
    registry entry or output code changed (a new code version) is materialized too. Sources are observed every
    `observe_cron` tick (their sha256 is computed only when size, times or inode changed)."""

    mode: Literal["eager", "on_cron"] = "eager"
    cron: str = Field(default="0 2 * * *", description="The tick of `on_cron`.")
    observe_cron: str = Field(default="* * * * *", description="When the source assets are observed.")

    def condition(self) -> AutomationCondition:
        """The mode's condition, or a changed code version (a registry entry or the output code changed)."""
        changed = AutomationCondition.code_version_changed() & ~AutomationCondition.in_progress()
        main = AutomationCondition.eager() if self.mode == "eager" else AutomationCondition.on_cron(self.cron)
        return main | changed

    def apply(self, assets: AssetsDefinition) -> AssetsDefinition:
        """`assets` with this condition on each of its assets (their checks keep their own conditions)."""
        condition = self.condition()
        return assets.map_asset_specs(lambda spec: spec.replace_attributes(automation_condition=condition))
