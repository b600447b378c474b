"""The event files' JSON: written as openlineage-python's own serialiser writes it."""

import datetime
import json
import uuid

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset, documentation_dataset
from openlineage.client.serde import Serde

from jobforge_dagster.lineage.transport import event_json


def awkward_event() -> RunEvent:
    """Nulls in dicts and lists, an empty facet map, enums, a UUID and a datetime."""
    field = column_lineage_dataset.InputField(namespace="file:///d", name="silver/t.parquet", field="a")
    lineage = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={"a": column_lineage_dataset.Fields(inputFields=[field]), "b": column_lineage_dataset.Fields([])}
    )
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=datetime.datetime(2026, 12, 5, 1, 2, 3, tzinfo=datetime.UTC).isoformat(),
        run=Run(runId=str(uuid.UUID(int=7)), facets={}),
        job=Job(namespace="jobforge", name="t.gold"),
        inputs=[InputDataset("file:///d", "silver/t.parquet", facets={"columnLineage": lineage})],
        outputs=[
            OutputDataset(
                "file:///d",
                "gold/t.parquet",
                facets={"documentation": documentation_dataset.DocumentationDatasetFacet(description="é")},
            )
        ],
    )


def test_an_event_is_written_as_openlineage_python_writes_it() -> None:
    event = awkward_event()
    written = event_json(event)
    assert written == Serde.to_json(event)
    assert json.loads(written)["eventType"] == "COMPLETE" and "facets" in json.loads(written)["run"]
