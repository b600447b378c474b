"""New source files -> runs: a sensor on `source/`, and a daily schedule of the whole pipeline.

The sensor's cursor holds a watermark (the newest inode-change time it has handled) and the few files it saw
changing on the last tick; it never lists every file it has seen. A file is taken once its size, modification
time and change time are the same on two ticks in a row, so a file still being copied is left alone. The run
key is the table and the file's sha256, so the same bytes never start a second run, after a restart too; and
bytes already in gold are skipped before a run is even requested.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    AssetCheckKey,
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

from jobforge_dagster.assets.builds import batch_id_for, read_batch
from jobforge_dagster.assets.medallion import asset_keys
from jobforge_dagster.assets.table_checks import table_checks
from jobforge_dagster.config import JobForgeConfig
from jobforge_dagster.layers import Layer
from jobforge_dagster.naming import table_name_for
from jobforge_dagster.registry import FORMATS, TableSpec
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


@dataclass(frozen=True)
class SourceFile:
    relative: str
    path: Path
    size: int
    mtime_ns: int
    ctime_ns: int

    @property
    def signature(self) -> tuple[int, int, int]:
        return (self.size, self.mtime_ns, self.ctime_ns)


def scan_source(source_dir: Path) -> Iterator[SourceFile]:
    """Every readable-looking source file under `source_dir` (hidden names skipped), with its stat."""
    stack = [(source_dir, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            relative = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                stack.append((Path(entry.path), f"{relative}/"))
            elif Path(entry.name).suffix.lower() in FORMATS:
                try:
                    status = entry.stat()
                except OSError:  # a dangling link: the run refuses it with the reason
                    status = entry.stat(follow_symlinks=False)
                yield SourceFile(relative, Path(entry.path), status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def plan_tick(files: Iterator[SourceFile], cursor: SourceCursor):
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


def spec_for(relative: str, tables: list[TableSpec]) -> TableSpec | None:
    return next((spec for spec in tables if spec.matches(relative)), None)


def already_in_gold(config: JobForgeConfig, spec: TableSpec, batch_id: str) -> bool:
    path = config.table_path(Layer.GOLD, spec.gold_table)
    try:
        return path.exists() and read_batch(path)[0] == batch_id
    except (OSError, ValueError):
        return False


def run_request(spec: TableSpec, run_key: str, source: str, sha256: str) -> RunRequest:
    keys = asset_keys(spec)
    return RunRequest(
        run_key=run_key,
        asset_selection=list(keys.values()),
        asset_check_keys=[AssetCheckKey(keys[Layer.GOLD], check.name) for check in table_checks(spec)],
        tags={"jobforge/table": spec.name, "jobforge/source_file": source, "jobforge/source_sha256": sha256},
    )


def source_sensor(tables: list[TableSpec], job: UnresolvedAssetJobDefinition, interval: int) -> SensorDefinition:
    """`new_source_files`: a run of a table's four layers for each new or changed source file."""

    @sensor(
        name="new_source_files",
        job=job,
        minimum_interval_seconds=interval,
        default_status=DefaultSensorStatus.STOPPED,
        description="Loads a new or changed file in source/ (stable over two ticks) through its table's layers.",
    )
    def new_source_files(context: SensorEvaluationContext, jobforge: JobForgeConfig) -> SensorResult | SkipReason:
        cursor = SourceCursor.model_validate_json(context.cursor) if context.cursor else SourceCursor()
        ready, next_cursor = plan_tick(scan_source(jobforge.source_dir()), cursor)
        requests, unknown = [], []
        for position, file in enumerate(ready):
            source = f"source/{file.relative}"
            spec = spec_for(file.relative, tables)
            if spec is None:
                unknown.append(f"{source} (table {table_name_for(Path(file.relative).stem)!r})")
                continue
            if len(requests) == MAX_REQUESTS_PER_TICK:  # the rest stay ready for the next tick
                next_cursor.pending.update({later.relative: later.signature for later in ready[position:]})
                break
            if not spec.declared:
                context.log.info(f"{source} has no registry entry: table {spec.name!r} uses defaults")
            try:
                sha = sha256_file(file.path)
            except OSError as error:
                context.log.error(f"{source} cannot be read ({error}); requesting a run to record the failure")
                requests.append(run_request(spec, f"{spec.name}:unreadable:{file.signature}", source, ""))
                continue
            if already_in_gold(jobforge, spec, batch_id_for(spec.name, sha)):
                context.log.info(f"{source}: these bytes are already in gold/{spec.gold_table}")
                continue
            context.log.info(f"{source}: new version {sha[:12]}, loading table {spec.name!r}")
            requests.append(run_request(spec, f"{spec.name}:{sha}", source, sha))
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
