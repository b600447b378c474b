"""Column lineage of one layer transition: which input columns each output column comes from, and how.

The vocabulary is OpenLineage's (`columnLineage` facet, spec 1-2-0): a DIRECT origin gives the value (IDENTITY,
TRANSFORMATION, AGGREGATION); an INDIRECT origin decides which rows there are (FILTER, JOIN, SORT, ...).
Pure pydantic, no Dagster: the transforms declare their lineage next to their code.
"""

from typing import Literal

from pydantic import BaseModel, Field

from jobforge_dagster.layers import LAYER, PROVENANCE_COLUMNS

OriginType = Literal["DIRECT", "INDIRECT"]


class ColumnOrigin(BaseModel):
    """One input column an output column (or the whole output) depends on."""

    column: str
    type: OriginType = "DIRECT"
    subtype: str = "IDENTITY"
    description: str = ""
    file: str | None = Field(default=None, description="Input file (relative) when not the transition's own input.")


class ColumnLineage(BaseModel):
    """Per output column its origins (`fields`); origins that shape every row, e.g. filters (`dataset`)."""

    fields: dict[str, list[ColumnOrigin]] = Field(default_factory=dict)
    dataset: list[ColumnOrigin] = Field(default_factory=list)

    def merged(self, other: "ColumnLineage") -> "ColumnLineage":
        """This lineage with `other`'s fields replacing same-named ones and its dataset origins added."""
        return ColumnLineage(fields=self.fields | other.fields, dataset=self.dataset + other.dataset)


def identity(column: str, description: str = "", file: str | None = None) -> ColumnOrigin:
    return ColumnOrigin(column=column, description=description, file=file)


def transformed(column: str, description: str, file: str | None = None) -> ColumnOrigin:
    return ColumnOrigin(column=column, subtype="TRANSFORMATION", description=description, file=file)


def indirect(column: str, subtype: str, description: str, file: str | None = None) -> ColumnOrigin:
    return ColumnOrigin(column=column, type="INDIRECT", subtype=subtype, description=description, file=file)


def carried(columns: list[str]) -> ColumnLineage:
    """Every column kept as it is, except `_layer`, which each layer stamps anew."""
    return ColumnLineage(fields={column: [identity(column)] for column in columns if column != LAYER})


def provenance_carried(columns: list[str]) -> ColumnLineage:
    """The provenance columns among `columns`, kept as they are (`_layer` aside)."""
    return carried([column for column in columns if column in PROVENANCE_COLUMNS])
