"""Layer names and provenance column names: the one place that defines them."""

from enum import StrEnum


class Layer(StrEnum):
    """Medallion layers, in build order."""

    STAGED = "staged"
    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"

    @property
    def previous(self) -> "Layer | None":
        """The layer this one is built from (None for staged, which reads the source file)."""
        index = LAYERS.index(self)
        return LAYERS[index - 1] if index else None


LAYERS: tuple[Layer, ...] = tuple(Layer)

#: Name used for the source file as the origin of the staged layer in lineage logs.
SOURCE = "source"

SOURCE_FILE = "_source_file"
INGESTED_AT = "_ingested_at"
BATCH_ID = "_batch_id"
LAYER = "_layer"
SOURCE_ROW = "_source_row"
#: 1-based physical line where the record starts in its source file (header = line 1); null for parquet sources.
SOURCE_LINE = "_source_line"

#: Provenance columns, in the order they are appended to every layer's table.
PROVENANCE_COLUMNS: tuple[str, ...] = (SOURCE_FILE, SOURCE_ROW, SOURCE_LINE, INGESTED_AT, BATCH_ID, LAYER)

#: Column added to quarantined rows: why the row was set aside (`; `-joined reasons, each naming its kind).
QUARANTINE_REASON = "_quarantine_reason"


class QuarantineReason(StrEnum):
    """The kinds of reason silver sets a row aside for; each reason's text starts with (or names) its kind."""

    RULE_FAILED = "rule failed"
    NO_MATCH = "has no match in"
    NULL_KEY = "null key"
    DUPLICATE_KEY = "duplicate key"
