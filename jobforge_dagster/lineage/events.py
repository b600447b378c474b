"""OpenLineage events for every layer transition and every gold table's checks, and where they are sent.

Mapping (pure functions of JobForge's models):

- a transition's facts when it starts -> START;
- its lineage log and the written file's table metadata -> COMPLETE (schema, columnLineage, statistics);
- its failed lineage log -> FAIL (errorMessage);
- a gold table's rule outcomes -> a run of job `<table>.gold.checks` (START, COMPLETE) whose input, the gold
  file, carries `dataQualityAssertions` (an input facet in the spec), one assertion per rule.

Sending: every event is written to `<data root>/catalog/openlineage/`, one JSON object per file, renamed into
place. When the OpenLineage client's standard configuration is present (`OPENLINEAGE_URL`, `OPENLINEAGE_CONFIG`,
`openlineage.yml`, `OPENLINEAGE__TRANSPORT__...`) the same events also go through that client (e.g. HTTP to
Marquez, OpenMetadata, DataHub). `OPENLINEAGE_DISABLED=true` turns both off. Events are built and written on a
background thread (the run only queues them), sent to the client from another, and flushed at the end of each
table's step and when the process exits. An event that cannot be built or sent is logged as a warning; the
pipeline never fails for lineage.
"""

import atexit
import functools
import importlib.metadata
import logging
import os
import queue
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import attr
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    RunFacet,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    dataset_version_dataset,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    schema_dataset,
    set_producer,
    source_code_location_job,
)
from openlineage.client.serde import Serde
from openlineage.client.transport.transport import Config, Transport
from openlineage.client.uuid import generate_new_uuid

from jobforge_dagster.catalog.models import LayerTransitionLog, TableMetadata, TransitionFacts, utc_now
from jobforge_dagster.layers import SOURCE
from jobforge_dagster.storage import storage_of
from jobforge_dagster.storage.atomic import atomic_path
from jobforge_dagster.storage.paths import as_path
from jobforge_dagster.transforms.lineage import ColumnLineage, ColumnOrigin

log = logging.getLogger(__name__)

#: Job namespace: `$OPENLINEAGE_NAMESPACE` (the variable OpenLineage integrations read), else `jobforge`.
NAMESPACE_ENV = "OPENLINEAGE_NAMESPACE"
DEFAULT_NAMESPACE = "jobforge"
EVENTS_DIR = ("catalog", "openlineage")
FACETS_SCHEMA = "urn:jobforge:openlineage:facets:1-0-0"
#: Environment variables the client sets itself from OPENLINEAGE_URL (not a configuration of their own).
ALIASED = "OPENLINEAGE__TRANSPORT__TRANSPORTS__DEFAULT_HTTP"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def producer() -> str:
    """The producer URI of every event: this package and its version."""
    try:
        version = importlib.metadata.version("jobforge_dagster")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return f"urn:jobforge:jobforge_dagster:{version}"


set_producer(producer())  # facets built in this process name JobForge as their producer, like the events


@attr.define
class TransitionRunFacet(RunFacet):
    """JobForge's record of the transition: the Dagster run, the batch, row counts and transforms."""

    dagsterRunId: str | None  # noqa: N815
    transitionId: str  # noqa: N815
    table: str
    batchId: str  # noqa: N815
    sourceLayer: str  # noqa: N815
    targetLayer: str  # noqa: N815
    status: str
    rowsIn: int | None = None  # noqa: N815
    rowsOut: int | None = None  # noqa: N815
    quarantinedRows: int = 0  # noqa: N815
    quarantineFile: str | None = None  # noqa: N815
    transforms: list[str] = attr.field(factory=list)
    code: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return f"{FACETS_SCHEMA}#/$defs/TransitionRunFacet"


@attr.define
class BatchDatasetFacet(DatasetFacet):
    """The batch a file belongs to and the sha256 of the source file that batch was read from."""

    batchId: str  # noqa: N815
    sourceSha256: str  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return f"{FACETS_SCHEMA}#/$defs/BatchDatasetFacet"


def run_id_for(transition_id: str) -> str:
    """The OpenLineage run id of a transition: its id as a UUID (a UUID derived from it if it is not hex)."""
    try:
        return str(uuid.UUID(hex=transition_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"jobforge:transition:{transition_id}"))


def dataset_namespace(root: Path) -> str:
    """Datasets are named by their path relative to the data root, in the namespace `file://<data root>` (or
    the data root's URL, `s3://bucket/prefix`, on object storage)."""
    return storage_of(root).uri(root)


def job_name(table: str, layer: str) -> str:
    return f"{table}.{layer}"


def event_time(moment: datetime) -> str:
    return moment.isoformat()


def batch_facets(batch_id: str, sha256: str, version: str) -> dict[str, DatasetFacet]:
    return {
        "datasetVersion": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version),
        "jobforge_batch": BatchDatasetFacet(batchId=batch_id, sourceSha256=sha256),
    }


def input_datasets(
    namespace: str, files: list[str], lineage: ColumnLineage, batch_id: str, sha256: str
) -> list[InputDataset]:
    """The transition's input files (the source file's version is its sha256, a layer file's its batch), then
    any other file its column lineage names (e.g. the gold table silver's references are checked against)."""
    inputs = [
        InputDataset(namespace, name, facets=batch_facets(batch_id, sha256, sha256 if is_source(name) else batch_id))
        for name in files
    ]
    origins = [origin for origins in lineage.fields.values() for origin in origins] + lineage.dataset
    others = sorted({origin.file for origin in origins if origin.file and origin.file not in files})
    return inputs + [InputDataset(namespace, name) for name in others]


def is_source(name: str) -> bool:
    return name.startswith(f"{SOURCE}/")


def input_field(namespace: str, default_file: str, origin: ColumnOrigin) -> column_lineage_dataset.InputField:
    transformation = column_lineage_dataset.Transformation(
        type=origin.type, subtype=origin.subtype, description=origin.description or None
    )
    return column_lineage_dataset.InputField(
        namespace=namespace, name=origin.file or default_file, field=origin.column, transformations=[transformation]
    )


def column_lineage_facet(
    namespace: str, default_file: str, lineage: ColumnLineage
) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    """The `columnLineage` facet: per output column its input fields; row-shaping origins under `dataset`."""
    fields = {
        name: column_lineage_dataset.Fields(
            inputFields=[input_field(namespace, default_file, origin) for origin in origins]
        )
        for name, origins in lineage.fields.items()
    }
    dataset = [input_field(namespace, default_file, origin) for origin in lineage.dataset]
    return column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields, dataset=dataset)


def schema_facet(table: TableMetadata) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(
                name=column.name, type=column.data_type, description=column.shown_description(), ordinal_position=index
            )
            for index, column in enumerate(table.columns, start=1)
        ]
    )


def output_dataset(namespace: str, written: LayerTransitionLog, table: TableMetadata) -> OutputDataset:
    """The written layer file: schema, column lineage, batch; row count and size as output statistics."""
    facets: dict[str, DatasetFacet] = {
        "schema": schema_facet(table),
        "columnLineage": column_lineage_facet(namespace, written.source_files[0], written.column_lineage),
        **batch_facets(written.batch_id, written.source_sha256 or "", written.batch_id),
    }
    statistics = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
        rowCount=table.row_count, size=table.file_size_bytes, fileCount=1
    )
    return OutputDataset(namespace, table.file_path, facets=facets, outputFacets={"outputStatistics": statistics})


@functools.cache
def code_location(code: str | None, layer: str) -> source_code_location_job.SourceCodeLocationJobFacet:
    """Where the layer's code lives: the module file (and `#function` when known) of this installation."""
    module, function = split_code(code) if code else (f"jobforge_dagster.transforms.{layer}", None)
    loaded = sys.modules.get(module)
    path = Path(getattr(loaded, "__file__", None) or PACKAGE_ROOT / (module.replace(".", "/") + ".py"))
    url = path.resolve().as_uri() + (f"#{function}" if function else "")
    relative = path.resolve().relative_to(PACKAGE_ROOT).as_posix() if path.is_relative_to(PACKAGE_ROOT) else None
    return source_code_location_job.SourceCodeLocationJobFacet(
        type="file", url=url, path=relative, version=producer().rsplit(":", 1)[-1]
    )


def split_code(code: str) -> tuple[str, str | None]:
    """`package.module.function` -> (`package.module`, `function`), by the longest loaded module name."""
    parts = code.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        if ".".join(parts[:cut]) in sys.modules:
            return ".".join(parts[:cut]), ".".join(parts[cut:])
    return code.rsplit(".", 1)[0], code.rsplit(".", 1)[-1]


def job(table: str, layer: str, code: str | None, job_type: str = "ASSET") -> Job:
    facets = {
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="DAGSTER", jobType=job_type),
        "sourceCodeLocation": code_location(code, layer),
    }
    return Job(namespace=os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE, name=job_name(table, layer), facets=facets)


#: The `jobforge_transition` run facet's fields and the lineage log's fields they come from.
TRANSITION_FIELDS = {
    "transitionId": "transition_id",
    "table": "table",
    "batchId": "batch_id",
    "sourceLayer": "source_layer",
    "targetLayer": "target_layer",
    "rowsIn": "row_count_in",
    "rowsOut": "row_count_out",
    "quarantinedRows": "quarantined_rows",
    "quarantineFile": "quarantine_file",
    "transforms": "transforms_applied",
    "code": "code",
    "dagsterRunId": "run_id",
}


def transition_facet(record: LayerTransitionLog, status: str | None = None) -> TransitionRunFacet:
    """The `jobforge_transition` run facet of a transition's log (status overridden, e.g. `running` at START)."""
    fields = {name: getattr(record, field) for name, field in TRANSITION_FIELDS.items()}
    return TransitionRunFacet(status=status or record.status.value, **fields)


def target_of(facts: TransitionFacts) -> str:
    return facts.target_file or f"{facts.target_layer}/{facts.table}.parquet"


def start_event(root: Path, facts: TransitionFacts, run_id: str | None) -> RunEvent:
    """START: the transition's inputs and the file it will write."""
    namespace = dataset_namespace(root)
    return RunEvent(
        eventType=RunState.START,
        eventTime=event_time(facts.started_at),
        run=Run(run_id_for(facts.transition_id), facets={"jobforge_transition": started_facet(facts, run_id)}),
        job=job(facts.table, facts.target_layer, facts.code),
        inputs=input_datasets(namespace, facts.source_files, facts.column_lineage, facts.batch_id, facts.source_sha256),
        outputs=[OutputDataset(namespace, target_of(facts))],
        producer=producer(),
    )


def started_facet(facts: TransitionFacts, run_id: str | None) -> TransitionRunFacet:
    return transition_facet(facts.log(run_id, target_file=None, row_count_out=None), status="running")


def complete_event(root: Path, written: LayerTransitionLog, table: TableMetadata) -> RunEvent:
    """COMPLETE: inputs, and the written file with its schema, column lineage and statistics."""
    namespace = dataset_namespace(root)
    facet = transition_facet(written)
    sha256 = written.source_sha256 or ""
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=event_time(written.completed_at),
        run=Run(run_id_for(written.transition_id), facets={"jobforge_transition": facet}),
        job=job(written.table, written.target_layer, written.code),
        inputs=input_datasets(namespace, written.source_files, written.column_lineage, written.batch_id, sha256),
        outputs=[output_dataset(namespace, written, table)],
        producer=producer(),
    )


def fail_event(root: Path, facts: TransitionFacts, failed: LayerTransitionLog) -> RunEvent:
    """FAIL: the transition's inputs, the file it did not write, and the error."""
    namespace = dataset_namespace(root)
    error = error_message_run.ErrorMessageRunFacet(
        message="; ".join(failed.errors) or "failed", programmingLanguage="python"
    )
    facet = transition_facet(failed)
    return RunEvent(
        eventType=RunState.FAIL,
        eventTime=event_time(failed.completed_at),
        run=Run(run_id_for(failed.transition_id), facets={"jobforge_transition": facet, "errorMessage": error}),
        job=job(failed.table, failed.target_layer, failed.code),
        inputs=input_datasets(namespace, facts.source_files, facts.column_lineage, facts.batch_id, facts.source_sha256),
        outputs=[OutputDataset(namespace, target_of(facts))],
        producer=producer(),
    )


@dataclass(frozen=True)
class RuleResult:
    """One gold rule's outcome, as the checks report it."""

    name: str
    assertion: str
    passed: bool
    severity: str
    description: str
    column: str | None = None


def assertions_facet(results: list[RuleResult]) -> data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet:
    return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
        assertions=[
            data_quality_assertions_dataset.Assertion(
                assertion=result.assertion,
                success=result.passed,
                column=result.column,
                severity=result.severity,
                name=result.name,
                description=result.description,
            )
            for result in results
        ]
    )


@dataclass(frozen=True)
class ChecksRun:
    """One evaluation of a gold table's rules: the table, its file and batch, the Dagster run, when it began."""

    table: str
    gold_file: str
    batch_id: str
    source_sha256: str
    dagster_run_id: str | None
    started_at: datetime
    results: list[RuleResult]


def check_events(root: Path, checks: ChecksRun) -> list[RunEvent]:
    """START and COMPLETE of job `<table>.gold.checks`; its input, the gold file, carries the assertions."""
    namespace = dataset_namespace(root)
    run_id = str(generate_new_uuid(checks.started_at))
    facets = batch_facets(checks.batch_id, checks.source_sha256, checks.batch_id)
    tested = InputDataset(
        namespace,
        checks.gold_file,
        facets=facets,
        inputFacets={"dataQualityAssertions": assertions_facet(checks.results)},
    )
    checks_job = job(checks.table, "gold.checks", "jobforge_dagster.quality.rules.RuleGroup.evaluate", "ASSET_CHECK")
    dagster = {"jobforge_checks": ChecksRunFacet(dagsterRunId=checks.dagster_run_id)}
    common = {"run": Run(run_id, facets=dagster), "job": checks_job, "producer": producer()}
    return [
        RunEvent(eventType=RunState.START, eventTime=event_time(checks.started_at), inputs=[tested], **common),
        RunEvent(eventType=RunState.COMPLETE, eventTime=event_time(utc_now()), inputs=[tested], **common),
    ]


@attr.define
class ChecksRunFacet(RunFacet):
    """The Dagster run that evaluated the checks."""

    dagsterRunId: str | None  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return f"{FACETS_SCHEMA}#/$defs/ChecksRunFacet"


def event_file_name(event: RunEvent) -> str:
    """`<event time>-<job>-<EVENT>-<run id>.json`: names sort by time; a run's events share the run id."""
    moment = re.sub(r"[^0-9T]", "", event.eventTime[:26])
    job_part = re.sub(r"[^A-Za-z0-9_.-]", "_", event.job.name)
    return f"{moment}-{job_part}-{event.eventType.value}-{event.run.runId}.json"


@attr.define
class FolderConfig(Config):
    folder: str = ""

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> "FolderConfig":
        return cls(folder=params["folder"])


class AtomicFileTransport(Transport):
    """One JSON object per event in one folder, written to a hidden file and renamed: never seen half-written.

    No fsync: lineage files are a record, and the rename alone makes each file appear whole.
    """

    kind = "jobforge_folder"
    config_class = FolderConfig

    def __init__(self, config: FolderConfig) -> None:
        self.folder = as_path(config.folder)

    def emit(self, event: Any) -> None:
        with atomic_path(self.folder / event_file_name(event), durable=False) as temporary:
            temporary.write_text(Serde.to_json(event) + "\n", encoding="utf-8")


class BackgroundWorker:
    """Runs `handle(item)` for each item handed over, in order, on one daemon thread, so the run never waits.

    After `max_failures` failures in a row it stops (one warning says so); items beyond `capacity` waiting are
    dropped with a warning.
    """

    def __init__(self, handle: Callable[[Any], None], name: str, max_failures: int = 3, capacity: int = 10_000) -> None:
        self.handle, self.name, self.max_failures = handle, name, max_failures
        self.pending: queue.Queue = queue.Queue(capacity)
        self.failures = 0
        threading.Thread(target=self._work, name=name, daemon=True).start()

    @property
    def stopped(self) -> bool:
        return self.failures >= self.max_failures

    def put(self, item: Any) -> None:
        if self.stopped:
            return
        try:
            self.pending.put_nowait(item)
        except queue.Full:
            log.warning("OpenLineage: %d items already waiting in %s; one dropped", self.pending.maxsize, self.name)

    def _work(self) -> None:
        while True:
            item = self.pending.get()
            try:
                if not self.stopped:
                    self.handle(item)
                    self.failures = 0
            except Exception as error:
                self.failures += 1
                log.warning("OpenLineage: %s could not send an event: %s", self.name, error)
                if self.stopped:
                    log.warning("OpenLineage: %s failed %d times in a row; it sends no more", self.name, self.failures)
            finally:
                self.pending.task_done()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every item handed over is handled (or given up on); False if `timeout` ran out first."""
        deadline = time.monotonic() + timeout
        with self.pending.all_tasks_done:
            while self.pending.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.pending.all_tasks_done.wait(remaining)
        return True


def client_settings() -> tuple:
    """What configures the OpenLineage client: OPENLINEAGE* variables (not those the client sets itself) and
    the `openlineage.yml` files it would read."""
    variables = sorted(
        (name, value)
        for name, value in os.environ.items()
        if name.startswith("OPENLINEAGE") and not name.startswith(ALIASED)
    )
    candidates = [Path.cwd() / "openlineage.yml", Path.home() / ".openlineage" / "openlineage.yml"]
    return (*variables, *(str(path) for path in candidates if path.is_file()))


def remote_configured(settings: tuple) -> bool:
    """Whether the client's standard configuration names a transport (URL, config file or transport variables)."""
    names = {item[0] for item in settings if isinstance(item, tuple)}
    files = [item for item in settings if isinstance(item, str)]
    config = os.environ.get("OPENLINEAGE_CONFIG")
    transport = any(name.startswith("OPENLINEAGE__TRANSPORT__") for name in names)
    return "OPENLINEAGE_URL" in names or transport or bool(files) or bool(config and Path(config).is_file())


def disabled() -> bool:
    return os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true"


class LineageExporter:
    """Hands each event to be built and sent on a worker thread; a failure there is a warning, never an error."""

    def __init__(self, root: Path, sinks: list[Callable[[RunEvent], None]]) -> None:
        self.root, self.sinks = as_path(str(root)), sinks
        self.worker = BackgroundWorker(self.deliver, "openlineage-events") if sinks else None
        if self.worker:
            LOCAL.append(self.worker)

    def started(self, facts: TransitionFacts, run_id: str | None) -> None:
        self.send(lambda: [start_event(self.root, facts, run_id)])

    def completed(self, written: LayerTransitionLog, table: TableMetadata) -> None:
        self.send(lambda: [complete_event(self.root, written, table)])

    def failed(self, facts: TransitionFacts, failed: LayerTransitionLog) -> None:
        self.send(lambda: [fail_event(self.root, facts, failed)])

    def checked(self, checks: Callable[[], ChecksRun]) -> None:
        """`checks()` (called only when events are sent) gives the checks run to announce."""
        self.send(lambda: check_events(self.root, checks()))

    def send(self, build: Callable[[], list[RunEvent]]) -> None:
        if self.worker:
            self.worker.put(build)

    def deliver(self, build: Callable[[], list[RunEvent]]) -> None:
        """Build the events and hand each to every sink (on the worker thread)."""
        try:
            events = build()
        except Exception as error:
            log.warning("OpenLineage: could not build an event: %s: %s", type(error).__name__, error)
            return
        for sink in self.sinks:
            for event in events:
                try:
                    sink(event)
                except Exception as error:
                    log.warning("OpenLineage: could not emit %s of %s: %s", event.eventType, event.job.name, error)


#: Workers of this process: those building and writing events (LOCAL) and those sending them to the configured
#: client (REMOTE). `flush` waits for both; it runs (10 s at most each) when the process exits.
LOCAL: list[BackgroundWorker] = []
REMOTE: list[BackgroundWorker] = []


@functools.lru_cache(maxsize=8)
def _exporter(root: str, settings: tuple, off: bool, process: int) -> LineageExporter:
    """One exporter per data root, settings and process (a forked child does not inherit the worker threads)."""
    if off:
        return LineageExporter(as_path(root), [])
    folder = AtomicFileTransport(FolderConfig(folder=str(as_path(root).joinpath(*EVENTS_DIR))))
    sinks: list[Callable[[RunEvent], None]] = [OpenLineageClient(transport=folder).emit]
    if remote_configured(settings):
        REMOTE.append(remote := BackgroundWorker(OpenLineageClient().emit, "openlineage-client"))
        sinks.append(remote.put)
    return LineageExporter(as_path(root), sinks)


def exporter_for(root: Path) -> LineageExporter:
    """The exporter of a data root under the current OpenLineage settings (built once per settings)."""
    return _exporter(str(root), client_settings(), disabled(), os.getpid())


def flush(timeout: float = 10.0, files_only: bool = False) -> bool:
    """Wait for the events handed over to be written (and, unless `files_only`, sent to the configured client);
    False if some were still waiting when `timeout` ran out."""
    workers = LOCAL if files_only else LOCAL + REMOTE
    return all([worker.flush(timeout) for worker in workers])


atexit.register(flush)
