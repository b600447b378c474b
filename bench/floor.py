"""Dagster alone: the real-data run's graph shape with no work, to show what orchestration costs by itself.

33 tables (`$JOBFORGE_FLOOR_TABLES` for another number), each one multi-asset yielding its four layer assets,
two blocking checks on gold, the in-process executor, and an IO manager that writes nothing; and a sensor that
lists `$JOBFORGE_SOURCE_ROOT` and skips, the least a sensor over that folder does. bench/run.py runs it as a
whole process, like the pipeline:

    DAGSTER_HOME=... dagster job execute -f bench/floor.py -j medallion_pipeline

With `JOBFORGE_FLOOR_FREEZE_AT_EXIT=1` it also freezes every object at exit, as JobForge's code location does
(jobforge_dagster/definitions.py), to show what that alone changes.
"""

import atexit
import gc
import os
from collections.abc import Iterator

import dagster as dg

TABLES = int(os.environ.get("JOBFORGE_FLOOR_TABLES") or 33)
if os.environ.get("JOBFORGE_FLOOR_FREEZE_AT_EXIT"):
    atexit.register(gc.freeze)
LAYERS = ("staged", "bronze", "silver", "gold")
CHECKS = ("integrity", "conformance")


class NothingIOManager(dg.IOManager):
    """Stores nothing; reports one metadata value per output, as an IO manager that writes would."""

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        context.add_output_metadata({"rows": 0})

    def load_input(self, context: dg.InputContext) -> None:
        return None


def table(name: str) -> dg.AssetsDefinition:
    keys = {layer: dg.AssetKey([layer, name]) for layer in LAYERS}

    @dg.multi_asset(
        name=f"{name}_medallion",
        outs={f"{layer}__{name}": dg.AssetOut(key=keys[layer], is_required=False) for layer in LAYERS},
        internal_asset_deps={
            f"{layer}__{name}": {keys[LAYERS[i - 1]]} if i else set() for i, layer in enumerate(LAYERS)
        },
        check_specs=[dg.AssetCheckSpec(check, asset=keys["gold"], blocking=True) for check in CHECKS],
        can_subset=True,
    )
    def medallion() -> Iterator[dg.Output | dg.AssetCheckResult]:
        for layer in LAYERS:
            yield dg.Output(None, output_name=f"{layer}__{name}")
        for check in CHECKS:
            yield dg.AssetCheckResult(asset_key=keys["gold"], check_name=check, passed=True)

    return medallion


@dg.sensor(name="floor_source_files", job_name="medallion_pipeline", minimum_interval_seconds=30)
def floor_source_files(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """Lists the source folder and requests nothing."""
    with os.scandir(os.environ.get("JOBFORGE_SOURCE_ROOT") or ".") as entries:
        count = sum(1 for _ in entries)
    return dg.SkipReason(f"{count} entries, nothing new")


defs = dg.Definitions(
    assets=[table(f"table_{index:02d}") for index in range(TABLES)],
    jobs=[dg.define_asset_job("medallion_pipeline", executor_def=dg.in_process_executor)],
    sensors=[floor_source_files],
    resources={"io_manager": NothingIOManager()},
)
