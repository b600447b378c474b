"""What the catalog writes to disk: tables, columns, batches and layer transitions, as pydantic models."""

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import AliasChoices, BaseModel, Field

from jobforge_dagster.dictionary.model import Bilingual, Licence, TableDoc
from jobforge_dagster.registry.numbers import NumberFormat
from jobforge_dagster.sources.dialect import SourceDialect
from jobforge_dagster.transforms.lineage import ColumnLineage


def utc_now() -> datetime:
    return datetime.now(UTC)


class ColumnMetadata(BaseModel):
    name: str
    data_type: str
    nullable: bool
    null_count: int | None = None
    description_en: str = Field(
        default="",
        validation_alias=AliasChoices("description_en", "description"),
        description="What the column means, in English (data dictionary; `description` in older catalogs).",
    )
    description_fr: str = Field(default="", description="What the column means, in French (data dictionary).")
    source_headers: list[str] = Field(default_factory=list, description="Source header(s) it comes from.")
    unit: Bilingual | None = Field(default=None, description="Unit or format, e.g. `NOC 2021 code, 5 digits`.")
    role: str | None = Field(default=None, description="key, foreign_key, measure, attribute, label or provenance.")
    role_guessed: bool = Field(default=False, description="True when the role is guessed (undeclared table).")
    references: list[str] = Field(default_factory=list, description="Columns it refers to, as `table.column`.")
    null_meaning: Bilingual | None = Field(default=None, description="What a null means, where one can occur.")
    transforms: list[str] = Field(
        default_factory=list, description="What each layer did to it, staged first (from the column lineage)."
    )
    inferred_from: str | None = Field(
        default=None, description="`string` when silver inferred `data_type` from the text of an undeclared table."
    )

    def shown_description(self) -> str | None:
        """The description a UI or a lineage consumer shows: the column's own, else how its type was inferred."""
        inferred = f"{self.data_type}, inferred from {self.inferred_from}" if self.inferred_from else None
        return self.description_en or inferred

    def description_in(self, language: str = "en") -> str:
        return self.description_fr if language == "fr" else self.description_en


class TableMetadata(BaseModel):
    table_name: str
    layer: str
    domain: str
    file_path: str = Field(description="Parquet file, relative to the data root.")
    row_count: int
    column_count: int
    file_size_bytes: int
    columns: list[ColumnMetadata]
    description: str = ""
    business_purpose: str = ""
    purpose: Bilingual | None = Field(default=None, description="What the table is for (data dictionary).")
    publisher: Bilingual | None = None
    licence: Licence | None = None
    edition: Bilingual | None = Field(default=None, description="e.g. NOC 2021 Version 1.0, COPS 2024-2033.")
    source_url: str | None = Field(default=None, description="Public page of the source, where known.")
    refresh: Bilingual | None = Field(default=None, description="When the source is republished and rebuilt.")
    owner: str | None = Field(default=None, description="Dagster owner: `team:<name>` or an email address.")
    upstream_tables: list[str] = Field(default_factory=list)
    batch_id: str | None = None
    source_sha256: str | None = None
    file_sha256: str | None = Field(default=None, description="sha256 of the parquet file as it was written.")
    source_dialect: SourceDialect | None = Field(
        default=None, description="Staged of a CSV source: the separator and encoding it was read with, and why."
    )
    number_format: NumberFormat | None = Field(
        default=None, description="Silver of an undeclared table: the number convention its numbers were read under."
    )
    updated_at: datetime = Field(default_factory=utc_now)

    def table_doc(self) -> TableDoc | None:
        """The data dictionary's entry for the table as recorded here (columns left out); None if undeclared."""
        facts = (self.purpose, self.publisher, self.licence, self.edition, self.refresh, self.owner)
        if any(fact is None for fact in facts):
            return None
        found = {"purpose": self.purpose, "publisher": self.publisher, "licence": self.licence}
        found |= {"edition": self.edition, "refresh": self.refresh, "owner": self.owner}
        return TableDoc(table=self.table_name, source_url=self.source_url, columns=[], **found)


class FileSeal(BaseModel):
    """A layer file as last known whole: its sha256 and its fingerprint then (size, times, inode; an object's size,
    ETag and last-modified time). While the fingerprint is the same, the file is not hashed again."""

    sha256: str
    fingerprint: str


class TransitionStatus(StrEnum):
    SUCCESS = "success"
    PARTIAL = "partial"  # succeeded, with rows set aside in quarantine
    FAILED = "failed"


def new_transition_id() -> str:
    return uuid.uuid4().hex


class HowRead(BaseModel):
    """How a layer was made from what it read, as a transition's facts and its lineage log both record it."""

    table_version: str | None = Field(
        default=None, description="The registry entry and output code the layer was built under (versions.py)."
    )
    inferred_types: dict[str, str] = Field(
        default_factory=dict, description="Column -> type silver inferred from its text (undeclared tables only)."
    )
    source_dialect: SourceDialect | None = Field(
        default=None, description="Staged of a CSV source: the separator and encoding it was read with, and why."
    )
    number_format: NumberFormat | None = Field(
        default=None, description="Silver of an undeclared table: the number convention its numbers were read under."
    )


class LayerTransitionLog(HowRead):
    transition_id: str = Field(default_factory=new_transition_id)
    table: str
    batch_id: str
    source_layer: str
    target_layer: str
    source_files: list[str]
    reads: list[str] = Field(
        default_factory=list,
        description="Other files it reads, e.g. the gold table silver's references are checked in.",
    )
    target_file: str | None
    row_count_in: int | None
    row_count_out: int | None
    quarantined_rows: int = 0
    quarantine_file: str | None = None
    transforms_applied: list[str] = Field(default_factory=list)
    started_at: datetime
    completed_at: datetime = Field(default_factory=utc_now)
    status: TransitionStatus
    errors: list[str] = Field(default_factory=list)
    source_sha256: str | None = None
    run_id: str | None = None
    column_lineage: ColumnLineage = Field(default_factory=ColumnLineage)
    code: str | None = Field(default=None, description="The function that built the layer (module.function).")


class BatchRecord(BaseModel):
    """One version of one source file."""

    batch_id: str
    table: str
    source_file: str = Field(description="The name written into data: `source/<path under the source folder>`.")
    sha256: str
    size_bytes: int
    first_seen_at: datetime = Field(default_factory=utc_now)
    source_path: str | None = Field(default=None, description="Where the file was read (absolute path).")
    archive_file: str | None = Field(
        default=None, description="Its bytes in the raw archive, relative to the data root (None: not archived)."
    )
    fingerprint: str | None = Field(
        default=None,
        description="size:mtime:inode:ctime of the file as read; a file with the same fingerprint is not hashed again.",
    )


class CatalogEntry(BaseModel):
    """What the catalog says of a table besides its file: taken from the table's registry entry."""

    domain: str = "general"
    description: str = ""
    business_purpose: str = ""
    upstream_tables: list[str] = Field(default_factory=list)
    retention_batches: int | None = Field(default=None, description="Batches kept per layer (None: all).")


#: Fields a transition's facts and its log have in common, under the same name.
SHARED_WITH_LOG = {
    "transition_id",
    "table",
    "batch_id",
    "source_layer",
    "target_layer",
    "source_files",
    "reads",
    "quarantined_rows",
    "quarantine_file",
    "started_at",
    "source_sha256",
    "column_lineage",
    "code",
    "table_version",
    "inferred_types",
    "source_dialect",
    "number_format",
}


class TransitionFacts(HowRead):
    """What a builder knows about one layer transition before its output is written."""

    transition_id: str = Field(default_factory=new_transition_id)
    table: str
    target_layer: str
    batch_id: str
    source_sha256: str
    source_layer: str
    source_files: list[str]
    reads: list[str] = Field(
        default_factory=list,
        description="Other files it reads, e.g. the gold table silver's references are checked in.",
    )
    rows_in: int | None = None
    transforms: list[str] = Field(default_factory=list)
    quarantined_rows: int = 0
    quarantine_file: str | None = None
    started_at: datetime = Field(default_factory=utc_now)
    target_file: str | None = Field(default=None, description="The layer file this transition writes (relative).")
    column_lineage: ColumnLineage = Field(default_factory=ColumnLineage)
    code: str | None = None

    def completed(
        self,
        transforms: list[str],
        quarantined_rows: int = 0,
        quarantine_file: str | None = None,
        rows_in: int | None = None,
        column_lineage: ColumnLineage | None = None,
        code: str | None = None,
        inferred_types: dict[str, str] | None = None,
        source_dialect: SourceDialect | None = None,
        number_format: NumberFormat | None = None,
    ) -> "TransitionFacts":
        """These facts with what the layer's transform did (and, for staged, the records the file holds)."""
        update = {"transforms": transforms, "quarantined_rows": quarantined_rows, "quarantine_file": quarantine_file}
        update |= {"column_lineage": column_lineage or ColumnLineage(), "code": code}
        update |= {"inferred_types": inferred_types or {}, "source_dialect": source_dialect}
        update |= {"number_format": number_format}
        if rows_in is not None:
            update["rows_in"] = rows_in
        return self.model_copy(update=update)

    def failed(self, run_id: str | None, error: BaseException) -> LayerTransitionLog:
        return self.log(
            run_id,
            target_file=None,
            row_count_out=None,
            status=TransitionStatus.FAILED,
            errors=[f"{type(error).__name__}: {error}"],
        )

    def log(self, run_id: str | None, **outcome: Any) -> LayerTransitionLog:
        status = outcome.pop("status", None) or (
            TransitionStatus.PARTIAL if self.quarantined_rows else TransitionStatus.SUCCESS
        )
        return LayerTransitionLog(
            **self.model_dump(include=SHARED_WITH_LOG),
            row_count_in=self.rows_in,
            transforms_applied=self.transforms,
            run_id=run_id,
            status=status,
            **outcome,
        )


class CheckResult(BaseModel):
    """One asset check's outcome: passed, severity, and each rule's verdict."""

    name: str
    passed: bool
    severity: str
    description: str
    failed_rules: list[str] = Field(default_factory=list)
    compared_with: dict[str, str | None] = Field(
        default_factory=dict,
        description="Rule -> the batch of the other gold table it read (None: that table had no gold yet).",
    )


class CheckResults(BaseModel):
    """The checks evaluated on one gold table built from one batch, in one run."""

    table: str
    batch_id: str
    run_id: str | None
    evaluated_at: datetime = Field(default_factory=utc_now)
    checks: list[CheckResult]
