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

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from openlineage.client.event_v2 import InputDataset, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    error_message_run,
    output_statistics_output_dataset,
)
from openlineage.client.uuid import generate_new_uuid

from jobforge_dagster.catalog.models import LayerTransitionLog, TableMetadata, TransitionFacts, utc_now
from jobforge_dagster.layers import SOURCE
from jobforge_dagster.lineage.facets import (
    ChecksRunFacet,
    TransitionRunFacet,
    assertions_facet,
    batch_facets,
    column_lineage_facet,
    documentation_facet,
    job,
    producer,
    schema_facet,
    transition_facet,
)
from jobforge_dagster.quality.outcome import ChecksRun
from jobforge_dagster.storage import storage_of
from jobforge_dagster.storage.paths import DataPath
from jobforge_dagster.transforms.lineage import ColumnLineage

log = logging.getLogger(__name__)


def run_id_for(transition_id: str) -> str:
    """The OpenLineage run id of a transition: its id as a UUID (a UUID derived from it if it is not hex)."""
    try:
        return str(uuid.UUID(hex=transition_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"jobforge:transition:{transition_id}"))


@dataclass(frozen=True)
class DatasetNames:
    """Where a file JobForge names (`gold/dim_noc.parquet`, `source/x.csv`) is, as an OpenLineage dataset.

    Layer files are named by their path relative to the data root, in the namespace `file://<data root>` (or the
    data root's URL, `s3://bucket/prefix`, on object storage). Source files are named the same way when they are
    read from `<data root>/source`; read from a separate source folder (`$JOBFORGE_SOURCE_ROOT`), they are named
    where they were read: that folder's namespace and the path under it."""

    root: DataPath
    source_dir: DataPath | None = None

    def __call__(self, name: str) -> tuple[str, str]:
        """(namespace, name) of a file as JobForge names it."""
        if self.source_dir is not None and is_source(name):
            return self.source_namespace, name.removeprefix(f"{SOURCE}/")
        return self.root_namespace, name

    @cached_property
    def root_namespace(self) -> str:
        return storage_of(self.root).uri(self.root)

    @cached_property
    def source_namespace(self) -> str:
        return storage_of(self.source_dir).uri(self.source_dir) if self.source_dir is not None else self.root_namespace

    def input(self, name: str, **given: Any) -> InputDataset:
        namespace, found = self(name)
        return InputDataset(namespace, found, **given)

    def output(self, name: str, **given: Any) -> OutputDataset:
        namespace, found = self(name)
        return OutputDataset(namespace, found, **given)


def event_time(moment: datetime) -> str:
    return moment.isoformat()


def input_datasets(
    names: DatasetNames, files: list[str], reads: list[str], lineage: ColumnLineage, batch_id: str, sha256: str
) -> list[InputDataset]:
    """The transition's input files (the source file's version is its sha256, a layer file's its batch), then
    the other files it reads (`reads`, known when it starts: e.g. the gold table silver's references are checked
    against) and any other file its column lineage names."""
    inputs = [
        names.input(name, facets=batch_facets(batch_id, sha256, sha256 if is_source(name) else batch_id))
        for name in files
    ]
    origins = [origin for origins in lineage.fields.values() for origin in origins] + lineage.dataset
    others = set(reads) | {origin.file for origin in origins if origin.file}
    return inputs + [names.input(name) for name in sorted(others - set(files))]


def is_source(name: str) -> bool:
    return name.startswith(f"{SOURCE}/")


def output_dataset(names: DatasetNames, written: LayerTransitionLog, table: TableMetadata) -> OutputDataset:
    """The written layer file: schema, column lineage, batch, documentation (a declared gold table); row count and
    size as output statistics."""
    facets: dict[str, DatasetFacet] = {
        "schema": schema_facet(table),
        "columnLineage": column_lineage_facet(names, written.source_files[0], written.column_lineage),
        **batch_facets(written.batch_id, written.source_sha256 or "", written.batch_id),
    }
    if (documentation := documentation_facet(table)) is not None:
        facets["documentation"] = documentation
    statistics = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
        rowCount=table.row_count, size=table.file_size_bytes, fileCount=1
    )
    return names.output(table.file_path, facets=facets, outputFacets={"outputStatistics": statistics})


def target_of(facts: TransitionFacts) -> str:
    return facts.target_file or f"{facts.target_layer}/{facts.table}.parquet"


def start_event(names: DatasetNames, facts: TransitionFacts, run_id: str | None) -> RunEvent:
    """START: the transition's inputs and the file it will write."""
    return RunEvent(
        eventType=RunState.START,
        eventTime=event_time(facts.started_at),
        run=Run(run_id_for(facts.transition_id), facets={"jobforge_transition": started_facet(facts, run_id)}),
        job=job(facts.table, facts.target_layer, facts.code),
        inputs=inputs_of(names, facts),
        outputs=[names.output(target_of(facts))],
        producer=producer(),
    )


def inputs_of(names: DatasetNames, facts: TransitionFacts) -> list[InputDataset]:
    """The inputs of a transition as known when it starts (or fails): no column lineage yet at START."""
    lineage = facts.column_lineage
    return input_datasets(names, facts.source_files, facts.reads, lineage, facts.batch_id, facts.source_sha256)


def started_facet(facts: TransitionFacts, run_id: str | None) -> TransitionRunFacet:
    return transition_facet(facts.log(run_id, target_file=None, row_count_out=None), status="running")


def complete_event(names: DatasetNames, written: LayerTransitionLog, table: TableMetadata) -> RunEvent:
    """COMPLETE: inputs, and the written file with its schema, column lineage and statistics."""
    facet = transition_facet(written)
    sha256 = written.source_sha256 or ""
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=event_time(written.completed_at),
        run=Run(run_id_for(written.transition_id), facets={"jobforge_transition": facet}),
        job=job(written.table, written.target_layer, written.code),
        inputs=input_datasets(
            names, written.source_files, written.reads, written.column_lineage, written.batch_id, sha256
        ),
        outputs=[output_dataset(names, written, table)],
        producer=producer(),
    )


def fail_event(names: DatasetNames, facts: TransitionFacts, failed: LayerTransitionLog) -> RunEvent:
    """FAIL: the transition's inputs, the file it did not write, and the error."""
    error = error_message_run.ErrorMessageRunFacet(
        message="; ".join(failed.errors) or "failed", programmingLanguage="python"
    )
    facet = transition_facet(failed)
    return RunEvent(
        eventType=RunState.FAIL,
        eventTime=event_time(failed.completed_at),
        run=Run(run_id_for(failed.transition_id), facets={"jobforge_transition": facet, "errorMessage": error}),
        job=job(failed.table, failed.target_layer, failed.code),
        inputs=inputs_of(names, facts),
        outputs=[names.output(target_of(facts))],
        producer=producer(),
    )


def check_events(names: DatasetNames, checks: ChecksRun) -> list[RunEvent]:
    """START and COMPLETE of job `<table>.gold.checks`; its input, the gold file, carries the assertions."""
    run_id = str(generate_new_uuid(checks.started_at))
    facets = batch_facets(checks.batch_id, checks.source_sha256, checks.batch_id)
    tested = names.input(
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


def event_file_name(event: RunEvent) -> str:
    """`<event time>-<job>-<EVENT>-<run id>.json`: names sort by time; a run's events share the run id."""
    moment = re.sub(r"[^0-9T]", "", event.eventTime[:26])
    job_part = re.sub(r"[^A-Za-z0-9_.-]", "_", event.job.name)
    return f"{moment}-{job_part}-{event.eventType.value}-{event.run.runId}.json"
