"""Reading the OpenLineage events a run wrote, and parsing them back into openlineage-python's own models.

openlineage-python serialises events (`Serde`) but has no parser, and ships no JSON schema. `parse_event` builds
the client's attrs models from an event's JSON, field by field from their type hints (so the models' validators
run: UUID run ids, ISO event times), and fails on any key a model does not declare.
"""

import enum
import json
import types
import typing
from pathlib import Path
from typing import Any

import attr
from openlineage.client.event_v2 import RunEvent
from openlineage.client.facet_v2 import (
    DatasetFacet,
    InputDatasetFacet,
    JobFacet,
    OutputDatasetFacet,
    RunFacet,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    dataset_version_dataset,
    documentation_dataset,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    schema_dataset,
    source_code_location_job,
    tags_run,
)
from openlineage.client.serde import Serde

from jobforge_dagster.lineage.facets import BatchDatasetFacet, ChecksRunFacet, TransitionRunFacet
from jobforge_dagster.storage.data_root import DataRoot

#: Every facet JobForge's events carry, by key, with the model that parses it.
FACETS: dict[str, type] = {
    "schema": schema_dataset.SchemaDatasetFacet,
    "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet,
    "version": dataset_version_dataset.DatasetVersionDatasetFacet,
    "documentation": documentation_dataset.DocumentationDatasetFacet,
    "dataQualityAssertions": data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet,
    "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet,
    "jobType": job_type_job.JobTypeJobFacet,
    "sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet,
    "errorMessage": error_message_run.ErrorMessageRunFacet,
    "tags": tags_run.TagsRunFacet,
    "jobforge_transition": TransitionRunFacet,
    "jobforge_batch": BatchDatasetFacet,
    "jobforge_checks": ChecksRunFacet,
}
FACET_BASES = (DatasetFacet, InputDatasetFacet, OutputDatasetFacet, JobFacet, RunFacet)


def convert(hint: Any, value: Any) -> Any:
    """A JSON value as the type `hint` says: attrs models, facet maps, lists, dicts, enums."""
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return None if value is None else convert(args[0], value)
    origin = typing.get_origin(hint)
    if origin is list:
        return [convert(args[0], item) for item in value]
    if origin is dict:
        if isinstance(args[1], type) and issubclass(args[1], FACET_BASES):
            return {key: structure(FACETS[key], item) for key, item in value.items()}
        return {key: convert(args[1], item) for key, item in value.items()}
    if isinstance(hint, type) and attr.has(hint):
        return structure(hint, value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    return value


def structure(model: type, data: dict[str, Any]) -> Any:
    """An attrs model from its JSON; a key the model does not declare is an error."""
    hints = typing.get_type_hints(model)
    fields = {field.name: field for field in attr.fields(model)}
    unknown = set(data) - set(fields)
    assert not unknown, f"{model.__name__} does not declare {sorted(unknown)}"
    kwargs = {
        field.alias: convert(hints[name], data[name]) for name, field in fields.items() if field.init and name in data
    }
    return model(**kwargs)


def parse_event(data: dict[str, Any]) -> RunEvent:
    """The event as openlineage-python's RunEvent; serialising it again must give back the same JSON."""
    event = structure(RunEvent, data)
    assert Serde.to_dict(event) == data
    return event


def events_dir(root: DataRoot) -> Path:
    return root.openlineage_dir()


def read_events(root: DataRoot) -> list[dict[str, Any]]:
    """Every event file under `<data root>/catalog/openlineage/`, in file-name (time) order (a run's exporter
    has written them all when the run ends)."""
    return [json.loads(path.read_text("utf-8")) for path in sorted(events_dir(root).glob("*.json"))]


def transitions(events: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Layer transition events by run id, then event type (the gold checks' runs left out)."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for event in events:
        if "jobforge_transition" in event["run"].get("facets", {}):
            found.setdefault(event["run"]["runId"], {})[event["eventType"]] = event
    return found


def field_origins(event: dict[str, Any], column: str) -> list[dict[str, Any]]:
    """The input fields of one output column in an event's column lineage."""
    return event["outputs"][0]["facets"]["columnLineage"]["fields"][column]["inputFields"]
