"""OpenLineage facets of JobForge's facts: the transition, the batch, schema, column lineage, code location."""

import functools
import importlib.metadata
import os
import sys
from collections.abc import Callable
from pathlib import Path

import attr
from openlineage.client.event_v2 import Job
from openlineage.client.facet_v2 import (
    DatasetFacet,
    RunFacet,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    dataset_version_dataset,
    documentation_dataset,
    job_type_job,
    schema_dataset,
    source_code_location_job,
)

from jobforge_dagster.catalog.models import LayerTransitionLog, TableMetadata
from jobforge_dagster.dictionary.text import column_bilingual, table_markdown
from jobforge_dagster.quality.outcome import RuleOutcome
from jobforge_dagster.transforms.lineage import ColumnLineage, ColumnOrigin

#: Job namespace: `$OPENLINEAGE_NAMESPACE` (the variable OpenLineage integrations read), else `jobforge`.
NAMESPACE_ENV = "OPENLINEAGE_NAMESPACE"
DEFAULT_NAMESPACE = "jobforge"
FACETS_SCHEMA = "urn:jobforge:openlineage:facets:1-0-0"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def producer() -> str:
    """The producer URI of every event: this package and its version."""
    try:
        version = importlib.metadata.version("jobforge_dagster")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return f"urn:jobforge:jobforge_dagster:{version}"


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


def batch_facets(batch_id: str, sha256: str, version: str) -> dict[str, DatasetFacet]:
    """The dataset's version (the spec's `version` facet) and JobForge's batch facet."""
    return {
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version),
        "jobforge_batch": BatchDatasetFacet(batchId=batch_id, sourceSha256=sha256),
    }


#: (namespace, name) of a file as JobForge names it (`lineage.events.DatasetNames`).
Locate = Callable[[str], tuple[str, str]]


def input_field(locate: Locate, default_file: str, origin: ColumnOrigin) -> column_lineage_dataset.InputField:
    transformation = column_lineage_dataset.Transformation(
        type=origin.type, subtype=origin.subtype, description=origin.description or None
    )
    namespace, name = locate(origin.file or default_file)
    return column_lineage_dataset.InputField(
        namespace=namespace, name=name, field=origin.column, transformations=[transformation]
    )


def column_lineage_facet(
    locate: Locate, default_file: str, lineage: ColumnLineage
) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    """The `columnLineage` facet: per output column its input fields; row-shaping origins under `dataset`."""
    fields = {
        name: column_lineage_dataset.Fields(
            inputFields=[input_field(locate, default_file, origin) for origin in origins]
        )
        for name, origins in lineage.fields.items()
    }
    dataset = [input_field(locate, default_file, origin) for origin in lineage.dataset]
    return column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields, dataset=dataset)


def schema_facet(table: TableMetadata) -> schema_dataset.SchemaDatasetFacet:
    """Each column with its type and description: the data dictionary's in English and French where the catalog
    has it (gold), else how its type was inferred."""
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(
                name=column.name,
                type=column.data_type,
                description=column_bilingual(column) or column.shown_description(),
                ordinal_position=index,
            )
            for index, column in enumerate(table.columns, start=1)
        ]
    )


def documentation_facet(table: TableMetadata) -> documentation_dataset.DocumentationDatasetFacet | None:
    """The `documentation` facet of a table the data dictionary declares: purpose in English and French,
    publisher, licence, edition and source (Markdown); None for other tables."""
    doc = table.table_doc()
    if doc is None:
        return None
    return documentation_dataset.DocumentationDatasetFacet(description=table_markdown(doc), contentType="text/markdown")


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


def assertions_facet(results: list[RuleOutcome]) -> data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet:
    return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
        assertions=[
            data_quality_assertions_dataset.Assertion(
                assertion=result.assertion,
                success=result.outcome.passed,
                column=result.column,
                severity=result.outcome.severity.value.lower(),
                name=result.name,
                description=f"{result.description}: {result.outcome.description}",
            )
            for result in results
        ]
    )


@attr.define
class ChecksRunFacet(RunFacet):
    """The Dagster run that evaluated the checks."""

    dagsterRunId: str | None  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return f"{FACETS_SCHEMA}#/$defs/ChecksRunFacet"


def job_name(table: str, layer: str) -> str:
    return f"{table}.{layer}"
