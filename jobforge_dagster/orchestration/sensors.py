"""New source files -> runs: a sensor on `source/`, and a daily schedule of the whole pipeline.

The sensor's cursor (`sensor_cursor.py`) is small whatever the folder holds. A file is taken once it has not
been written for the settle time (`$JOBFORGE_SENSOR_SETTLE_SECONDS`: its modification and change times are that
old when the tick lists it), or once its size and times are the same on two ticks in a row (a clock that
disagrees with the file's times), so a file still being copied is left alone; a tick that leaves a file to
settle says so in its skip reason. Runs are keyed by the arrival: `<table>:<sha256>:<change time>:<table version>`.

- Bytes already in gold are skipped before a run is even requested.
- A version that arrives again after another (A -> B -> A -> B, runs queued or not) is always requested; a run
  for bytes the table already holds does nothing (change detection makes it cheap).
- The same bytes seen again (a `chmod`, the archive's hard link) while their run has not loaded them start no
  second run, after a restart too: the cursor keeps such files (`unsettled`) until gold holds their bytes.
- A file whose run did not load it (a registry mistake, say) is requested again, without touching the file,
  once its table's version changes (the fix, reloaded); it leaves `unsettled` once loaded, gone or refused.

A tick hashes within a budget of bytes and seconds and leaves the rest pending; files refused before any read (a
FIFO, a device, a link out of the folder, a name that is not UTF-8) are reported, never opened.

A file that arrived after the code location loaded and matches none of its tables is loaded with its default
table as a partition of the `new_files` family (`arrivals.py`): the tick adds the partition and requests its
run together; a file whose default name is taken is refused alone, with the reason.
"""

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dagster import (
    AddDynamicPartitionsRequest,
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

from jobforge_dagster.batches.stamps import batch_id_for, read_stamp
from jobforge_dagster.batches.versions import table_version
from jobforge_dagster.layers import Layer
from jobforge_dagster.orchestration.keys import NEW_FILES_JOB, REFRESH_JOB, gold_check_keys, step_config, table_keys
from jobforge_dagster.orchestration.new_files import NEW_FILE_PARTITIONS
from jobforge_dagster.orchestration.resources import DataRootResource
from jobforge_dagster.orchestration.sensor_cursor import (
    SourceCursor,
    already_requested,
    arrival_key,
    handled,
    noting,
    plan_tick,
)
from jobforge_dagster.registry.names import NEW_FILES
from jobforge_dagster.registry.problems import RegistryProblem
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.arrivals import Arrivals
from jobforge_dagster.sources.scan import SourceFile, scan_source
from jobforge_dagster.sources.tables import SourceTables
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.files import sha256_file

SENSOR_INTERVAL_ENV = "JOBFORGE_SENSOR_INTERVAL_SECONDS"
#: The least seconds between two ticks of `new_source_files`. dagster-daemon's sensor loop wakes every 5 s and
#: ticks a sensor whose interval has passed: under 5, a tick on every loop (at 5, a loop a hair early skips it).
DEFAULT_SENSOR_INTERVAL = 4
#: Seconds between two evaluations of the declarative automation sensor, unless $JOBFORGE_SENSOR_INTERVAL_SECONDS.
AUTOMATION_SENSOR_INTERVAL = 30
SETTLE_ENV = "JOBFORGE_SENSOR_SETTLE_SECONDS"
#: A file not written for this many seconds is complete: it is loaded on the tick that lists it.
DEFAULT_SETTLE_SECONDS = 2.0
#: Files hashed and requested per tick at most; the rest wait, already settled, for the next tick.
MAX_REQUESTS_PER_TICK = 50
#: Bytes hashed per tick at most; a larger file is requested unhashed, keyed by inode, size and mtime.
HASH_BYTES_PER_TICK = 2 << 30
#: After this many seconds a tick hashes no further file (it always hashes one); the rest wait.
HASH_SECONDS_PER_TICK = 15.0
#: Refused files named one by one in a tick's log; the rest are counted.
REPORTED_PER_TICK = 20


@dataclass
class TickBudget:
    """What a tick has spent: runs requested, files hashed, and since when."""

    started: float = field(default_factory=time.monotonic)
    requests: int = 0
    hashed_files: int = 0
    hashed_bytes: int = 0

    def exhausted(self, file: SourceFile) -> bool:
        """Whether `file` waits for the next tick; a tick always hashes one file, so every file gets its turn."""
        if self.requests >= MAX_REQUESTS_PER_TICK:
            return True
        if self.hashed_files == 0 or file.size > HASH_BYTES_PER_TICK:  # the first, or one left unhashed
            return False
        late = time.monotonic() - self.started >= HASH_SECONDS_PER_TICK
        return late or self.hashed_bytes + file.size > HASH_BYTES_PER_TICK


def gold_state(root: DataRoot, spec: TableSpec) -> tuple[str, int] | None:
    """(batch id, modification time) of the table's gold file; None if there is none or it carries no batch."""
    path = root.table_path(Layer.GOLD, spec.gold_table)
    try:
        return read_stamp(path)[0], path.stat().st_mtime_ns
    except (OSError, ValueError):
        return None


def run_request(spec: TableSpec, run_key: str, source: str, sha256: str) -> RunRequest:
    """A run of the table's layers and checks; with a sha256, the run refuses other bytes than those."""
    config = step_config(spec.name, {"sha256": sha256}) if sha256 else None
    return RunRequest(
        run_key=run_key,
        job_name=REFRESH_JOB,
        run_config=config,
        asset_selection=list(table_keys(spec).values()),
        asset_check_keys=gold_check_keys(spec),
        tags={"jobforge/table": spec.name, "jobforge/source_file": source, "jobforge/source_sha256": sha256},
    )


def new_file_request(spec: TableSpec, run_key: str, source: str, sha256: str) -> RunRequest:
    """A run of the `new_files` partition named after the file's default table; with a sha256, the run refuses
    other bytes than those."""
    config = step_config(NEW_FILES, {"sha256": sha256}) if sha256 else None
    return RunRequest(
        run_key=run_key,
        job_name=NEW_FILES_JOB,
        partition_key=spec.name,
        run_config=config,
        tags={"jobforge/table": spec.name, "jobforge/source_file": source, "jobforge/source_sha256": sha256},
    )


#: Builds a run request: (table, run key, source file, sha256 or "") -> RunRequest.
RequestBuilder = Callable[[TableSpec, str, str, str], RunRequest]


def source_sha256(context: SensorEvaluationContext, file: SourceFile, budget: TickBudget) -> str | None:
    """The file's sha256, counted against the tick's budget; None if it cannot be read."""
    budget.hashed_files += 1
    budget.hashed_bytes += file.size
    try:
        return sha256_file(file.path)
    except OSError as error:
        context.log.error(f"{file.display} cannot be read ({error}); requesting a run to record the failure")
        return None


def request_for(
    context: SensorEvaluationContext,
    root: DataRoot,
    spec: TableSpec,
    file: SourceFile,
    budget: TickBudget,
    cursor: SourceCursor,
    build: RequestBuilder = run_request,
) -> RunRequest | None:
    """A run of the file's table (made by `build`) keyed by this arrival, unless these bytes are already in gold
    or were requested under this table version and not loaded yet (`cursor.unsettled`); unreadable files get a
    run that fails. A file larger than a tick's hashing budget is requested unhashed: the run hashes it."""
    if not spec.declared:
        context.log.info(f"{file.display} has no registry entry: table {spec.name!r} uses defaults")
    if file.size > HASH_BYTES_PER_TICK:
        context.log.info(f"{file.display}: {file.size} bytes, more than a tick hashes; the run will hash it")
        key = f"{spec.name}:unhashed:{file.inode}:{file.size}:{file.mtime_ns}"
        return build(spec, key, file.display, "")
    sha = source_sha256(context, file, budget)
    if sha is None:
        return build(spec, f"{spec.name}:unreadable:{file.signature}", file.display, "")
    if in_gold(root, spec, sha):
        cursor.unsettled.pop(file.key, None)
        context.log.info(f"{file.display}: these bytes are already in gold/{spec.gold_table}")
        return None
    version = table_version(spec)
    if already_requested(cursor, file, sha, version):
        context.log.info(f"{file.display}: {sha[:12]} was requested already and is not loaded yet; no second run")
        return None
    context.log.info(f"{file.display}: new version {sha[:12]}, loading table {spec.name!r}")
    return build(spec, arrival_key(spec.name, sha, file, version), file.display, sha)


def in_gold(root: DataRoot, spec: TableSpec, sha256: str) -> bool:
    """Whether the table's gold holds the batch of these bytes."""
    gold = gold_state(root, spec)
    return gold is not None and gold[0] == batch_id_for(spec.name, sha256)


def retry_after_fix(
    context: SensorEvaluationContext,
    root: DataRoot,
    sources: SourceTables,
    listed: dict[str, SourceFile],
    cursor: SourceCursor,
) -> list[RunRequest]:
    """Files requested before, unchanged since and not in gold yet are requested again when their table's version
    changed (a registry or code fix that a reload brought); they leave `cursor.unsettled` once loaded, gone or
    refused. A file that changed is a new arrival, which `request_for` handles once it has settled."""
    requests, arrivals = [], Arrivals(sources, root.source_dir())
    for key, known in list(cursor.unsettled.items()):
        file = listed.get(key)
        target = file_target(file, sources, arrivals) if file is not None else "gone"
        if file is None or isinstance(target, str):  # gone, or refused now
            del cursor.unsettled[key]
        elif file.signature != known.signature:  # changed since: a new arrival
            continue
        elif in_gold(root, target[0], known.sha256):  # loaded
            del cursor.unsettled[key]
        elif (version := table_version(target[0])) != known.table_version:
            spec, build = target
            context.log.info(
                f"{file.display}: table {spec.name!r} changed since its run was requested; requesting again"
            )
            cursor.unsettled[key] = known.model_copy(update={"table_version": version})
            requests.append(
                build(spec, arrival_key(spec.name, known.sha256, file, version), file.display, known.sha256)
            )
    return requests


def file_target(file: SourceFile, sources: SourceTables, arrivals: Arrivals) -> tuple[TableSpec, RequestBuilder] | str:
    """The file's loaded table and its job's request, else its default table as a `new_files` partition; or why
    it gets neither."""
    spec = None if file.problem else sources.spec_for(file.relative)
    if spec is not None:
        return spec, run_request
    table = arrivals.table_for(file)
    return table if isinstance(table, str) else (table, new_file_request)


def plan_requests(
    context: SensorEvaluationContext,
    root: DataRoot,
    sources: SourceTables,
    ready: list[SourceFile],
    cursor: SourceCursor,
) -> tuple[list[RunRequest], list[str]]:
    """(run requests, files refused) for the files ready this tick, oldest first, within the tick's budget;
    the files past it stay pending, and the watermark passes none of them."""
    requests, refused, budget = [], [], TickBudget()
    arrivals = Arrivals(sources, root.source_dir())
    for position, file in enumerate(ready):
        target = file_target(file, sources, arrivals)
        if isinstance(target, str):
            refused.append(f"{file.display}: {target}")
        elif budget.exhausted(file):
            cursor.pending.update({later.key: later.signature for later in ready[position:]})
            break
        elif (request := request_for(context, root, target[0], file, budget, cursor, target[1])) is not None:
            requests.append(request)
            budget.requests += 1
        handled(cursor, file)
    return requests, refused


def partition_requests(requests: list[RunRequest]) -> list[AddDynamicPartitionsRequest]:
    """The `new_files` partitions this tick's runs need, added in the same tick (Dagster skips existing ones)."""
    keys = sorted({request.partition_key for request in requests if request.job_name == NEW_FILES_JOB})
    return [NEW_FILE_PARTITIONS.build_add_request(keys)] if keys else []


def report(context: SensorEvaluationContext, refused: list[str]) -> None:
    """Name each refused file (up to REPORTED_PER_TICK), and count the rest."""
    for message in refused[:REPORTED_PER_TICK]:
        context.log.warning(message)
    if len(refused) > REPORTED_PER_TICK:
        context.log.warning(f"... and {len(refused) - REPORTED_PER_TICK} more refused file(s)")


def skip_reason(refused: list[str], waiting: str, problems: list[RegistryProblem] = ()) -> str | None:
    """What the tick's result says in the UI when no run was requested, if there is something to say: the
    registry's refused entries first (a file they match is not loaded until the entry is fixed), then files,
    then the files left to settle."""
    said = []
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        said.append(f"registry entry refused: {problems[0]}{more}")
    if refused:
        said.append(f"{len(refused)} file(s) refused: {refused[0]}")
    if waiting and not said:
        return waiting.removeprefix("; ").capitalize()
    return "; ".join(said) + waiting if said else None


def source_sensor(sources: SourceTables, jobs: list[UnresolvedAssetJobDefinition], interval: int) -> SensorDefinition:
    """`new_source_files`: a run of a table's four layers for each new or changed source file (`jobs`:
    `table_refresh` for loaded tables, `new_file_refresh` for files that arrived after loading)."""

    @sensor(
        name="new_source_files",
        jobs=jobs,
        minimum_interval_seconds=interval,
        default_status=DefaultSensorStatus.STOPPED,
        description="Loads a new or changed file in source/ (once not written for the settle time) through "
        "its table's layers.",
    )
    def new_source_files(context: SensorEvaluationContext, data_root: DataRootResource) -> SensorResult | SkipReason:
        root = data_root.get()
        cursor = SourceCursor.model_validate_json(context.cursor) if context.cursor else SourceCursor()
        listed: dict[str, SourceFile] = {}
        settled_ns = time.time_ns() - int(settle_seconds() * 1e9)
        files = noting(scan_source(root.source_dir()), cursor.unsettled, listed)
        ready, next_cursor = plan_tick(files, cursor, settled_ns)
        retried = retry_after_fix(context, root, sources, listed, next_cursor)
        requests, refused = plan_requests(context, root, sources, ready, next_cursor)
        requests = retried + requests
        report(context, refused)
        waiting = waiting_for(next_cursor)
        context.log.info(f"{len(requests)} run(s) requested{waiting}")
        return SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=partition_requests(requests),
            cursor=next_cursor.model_dump_json(),
            skip_reason=None if requests else skip_reason(refused, waiting, sources.problems),
        )

    return new_source_files


def waiting_for(cursor: SourceCursor) -> str:
    """The tick's note on the files it left for the next one (written too recently, or past its budget)."""
    if not cursor.pending:
        return ""
    return f"; waiting for {len(cursor.pending)} file(s) to settle (not written for {settle_seconds():g} s)"


def sensor_interval(default: int = DEFAULT_SENSOR_INTERVAL) -> int:
    """`$JOBFORGE_SENSOR_INTERVAL_SECONDS`, else `default`."""
    return int(os.environ.get(SENSOR_INTERVAL_ENV) or default)


def settle_seconds() -> float:
    """`$JOBFORGE_SENSOR_SETTLE_SECONDS`, default 2: how long a file must go unwritten before it is loaded."""
    return float(os.environ.get(SETTLE_ENV) or DEFAULT_SETTLE_SECONDS)


def daily_schedule(job: UnresolvedAssetJobDefinition, cron: str = "0 2 * * *") -> ScheduleDefinition:
    """The whole pipeline once a day (02:00), off until turned on in the UI."""
    return ScheduleDefinition(
        name="daily_refresh",
        job=job,
        cron_schedule=cron,
        default_status=DefaultScheduleStatus.STOPPED,
        description="Re-runs medallion_pipeline every day at 02:00.",
    )
