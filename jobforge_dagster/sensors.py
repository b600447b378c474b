"""New source files -> runs: a sensor on `source/`, and a daily schedule of the whole pipeline.

The sensor's cursor holds a watermark (the newest inode-change time it has handled) and the few files it saw
changing on the last tick; it never lists every file it has seen. A file is taken once its size, modification
time and change time are the same on two ticks in a row, so a file still being copied is left alone. The run
key is the table and the file's sha256, so the same bytes never start a second run, after a restart too; and
bytes already in gold are skipped before a run is even requested.
"""

import os
from collections.abc import Iterator
from pathlib import Path

from dagster import (
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from pydantic import BaseModel, Field

from jobforge_dagster.batches import batch_id_for, read_stamp
from jobforge_dagster.data_root import DataRoot
from jobforge_dagster.keys import gold_check_keys, table_keys
from jobforge_dagster.layers import Layer
from jobforge_dagster.naming import table_name_for
from jobforge_dagster.registry import TableSpec, spec_for
from jobforge_dagster.sources import SourceFile, scan_source
from jobforge_dagster.storage import sha256_file

SENSOR_INTERVAL_ENV = "JOBFORGE_SENSOR_INTERVAL_SECONDS"
DEFAULT_SENSOR_INTERVAL = 30
#: Files hashed and requested per tick at most; the rest wait, already stable, for the next tick.
MAX_REQUESTS_PER_TICK = 50


class SourceCursor(BaseModel):
    """The sensor's cursor: small whatever the folder holds."""

    watermark_ns: int = Field(default=0, description="Newest st_ctime_ns among files already handled.")
    pending: dict[str, tuple[int, int, int]] = Field(
        default_factory=dict, description="Files seen changing: path -> (size, mtime_ns, ctime_ns) last tick."
    )


def plan_tick(files: Iterator[SourceFile], cursor: SourceCursor) -> tuple[list[SourceFile], SourceCursor]:
    """(files ready to load, the next cursor): a file is ready when unchanged since the previous tick."""
    ready: list[SourceFile] = []
    pending: dict[str, tuple[int, int, int]] = {}
    for file in files:
        if file.ctime_ns <= cursor.watermark_ns and file.relative not in cursor.pending:
            continue  # handled before and not touched since
        if cursor.pending.get(file.relative) == file.signature:
            ready.append(file)
        else:
            pending[file.relative] = file.signature
    watermark = max([cursor.watermark_ns, *(file.ctime_ns for file in ready)])
    return ready, SourceCursor(watermark_ns=watermark, pending=pending)


def already_in_gold(root: DataRoot, spec: TableSpec, batch_id: str) -> bool:
    path = root.table_path(Layer.GOLD, spec.gold_table)
    try:
        return path.exists() and read_stamp(path)[0] == batch_id
    except (OSError, ValueError):
        return False


def run_request(spec: TableSpec, run_key: str, source: str, sha256: str) -> RunRequest:
    return RunRequest(
        run_key=run_key,
        asset_selection=list(table_keys(spec).values()),
        asset_check_keys=gold_check_keys(spec),
        tags={"jobforge/table": spec.name, "jobforge/source_file": source, "jobforge/source_sha256": sha256},
    )


def request_for(
    context: SensorEvaluationContext, root: DataRoot, spec: TableSpec, file: SourceFile
) -> RunRequest | None:
    """A run of the file's table, unless these bytes are already in gold; unreadable files get a run that fails."""
    if not spec.declared:
        context.log.info(f"{file.display} has no registry entry: table {spec.name!r} uses defaults")
    try:
        sha = sha256_file(file.path)
    except OSError as error:
        context.log.error(f"{file.display} cannot be read ({error}); requesting a run to record the failure")
        return run_request(spec, f"{spec.name}:unreadable:{file.signature}", file.display, "")
    if already_in_gold(root, spec, batch_id_for(spec.name, sha)):
        context.log.info(f"{file.display}: these bytes are already in gold/{spec.gold_table}")
        return None
    context.log.info(f"{file.display}: new version {sha[:12]}, loading table {spec.name!r}")
    return run_request(spec, f"{spec.name}:{sha}", file.display, sha)


def plan_requests(
    context: SensorEvaluationContext,
    root: DataRoot,
    tables: list[TableSpec],
    ready: list[SourceFile],
    cursor: SourceCursor,
) -> tuple[list[RunRequest], list[str]]:
    """(run requests, files no table matches) for the files ready this tick; beyond the cap, files stay pending."""
    requests, unknown = [], []
    for position, file in enumerate(ready):
        spec = spec_for(file.relative, tables)
        if spec is None:
            unknown.append(f"{file.display} (table {table_name_for(Path(file.relative).stem)!r})")
            continue
        if len(requests) == MAX_REQUESTS_PER_TICK:  # the rest stay ready for the next tick
            cursor.pending.update({later.relative: later.signature for later in ready[position:]})
            break
        if (request := request_for(context, root, spec, file)) is not None:
            requests.append(request)
    return requests, unknown


def source_sensor(tables: list[TableSpec], job: UnresolvedAssetJobDefinition, interval: int) -> SensorDefinition:
    """`new_source_files`: a run of a table's four layers for each new or changed source file."""

    @sensor(
        name="new_source_files",
        job=job,
        minimum_interval_seconds=interval,
        default_status=DefaultSensorStatus.STOPPED,
        description="Loads a new or changed file in source/ (stable over two ticks) through its table's layers.",
    )
    def new_source_files(context: SensorEvaluationContext, data_root: DataRoot) -> SensorResult | SkipReason:
        cursor = SourceCursor.model_validate_json(context.cursor) if context.cursor else SourceCursor()
        ready, next_cursor = plan_tick(scan_source(data_root.source_dir()), cursor)
        requests, unknown = plan_requests(context, data_root, tables, ready, next_cursor)
        if unknown:
            context.log.warning(
                f"{len(unknown)} new file(s) match no registry entry and are not in the loaded code location; "
                f"reload it to load them with defaults: {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}"
            )
        waiting = f"; waiting for {len(next_cursor.pending)} file(s) to stop changing" if next_cursor.pending else ""
        context.log.info(f"{len(requests)} run(s) requested{waiting}")
        return SensorResult(run_requests=requests, cursor=next_cursor.model_dump_json())

    return new_source_files


def sensor_interval() -> int:
    """`$JOBFORGE_SENSOR_INTERVAL_SECONDS`, default 30."""
    return int(os.environ.get(SENSOR_INTERVAL_ENV) or DEFAULT_SENSOR_INTERVAL)


def daily_schedule(job: UnresolvedAssetJobDefinition, cron: str = "0 2 * * *") -> ScheduleDefinition:
    """The whole pipeline once a day (02:00), off until turned on in the UI."""
    return ScheduleDefinition(
        name="daily_refresh",
        job=job,
        cron_schedule=cron,
        default_status=DefaultScheduleStatus.STOPPED,
        description="Re-runs medallion_pipeline every day at 02:00.",
    )
