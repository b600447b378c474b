"""What the catalog says a column means and how it was made: the data dictionary's entry for a gold column, and
the transforms and source headers of every column, followed back through the layers' column lineage."""

from collections.abc import Iterable

from jobforge_dagster.catalog.models import ColumnMetadata, TableMetadata
from jobforge_dagster.dictionary.model import ColumnDoc, DataDictionary, DictionaryError, default_dictionary
from jobforge_dagster.dictionary.undeclared import undeclared_column_doc
from jobforge_dagster.layers import PROVENANCE_COLUMNS, SOURCE, Layer
from jobforge_dagster.transforms.lineage import ColumnLineage, ColumnOrigin

#: Distinct descriptions one layer lists for a column; more are summed up in one line (an unpivot of 68 columns).
MAX_SHOWN = 3


def summarised(layer: str, texts: Iterable[str]) -> list[str]:
    """`layer: text` per distinct text; beyond MAX_SHOWN, the first one and how many others there are."""
    distinct = list(dict.fromkeys(text for text in texts if text))
    if len(distinct) > MAX_SHOWN:
        return [f"{layer}: {distinct[0]}; likewise for {len(distinct) - 1} other source columns"]
    return [f"{layer}: {text}" for text in distinct]


def merged(lines: Iterable[str]) -> list[str]:
    """`layer: text` lines from several input columns, layer by layer in the order met, summed up per layer."""
    by_layer: dict[str, list[str]] = {}
    for line in lines:
        layer, _, text = line.partition(": ")
        by_layer.setdefault(layer, []).append(text)
    return [out for layer, texts in by_layer.items() for out in summarised(layer, texts)]


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def traced(
    column: ColumnMetadata, layer: str, origins: list[ColumnOrigin], before: dict[str, ColumnMetadata]
) -> ColumnMetadata:
    """`column` with the transforms and source headers of the input columns it comes from (the layer before),
    then what this layer did to it. A staged column's origin is its source header. Origins in other files (a
    joined table) add only this layer's line."""
    own = [origin for origin in origins if origin.type == "DIRECT" and origin.file is None]
    inputs = [before[origin.column] for origin in own if origin.column in before]
    earlier = [line for found in inputs for line in found.transforms]
    here = [f"{layer}: {origin.description}" for origin in origins if origin.type == "DIRECT" and origin.description]
    if layer == Layer.STAGED.value:
        headers = [] if column.name in PROVENANCE_COLUMNS else unique(origin.column for origin in own)
    else:
        headers = unique(header for found in inputs for header in found.source_headers)
    return column.model_copy(update={"transforms": merged([*earlier, *here]), "source_headers": headers})


def with_lineage(
    columns: list[ColumnMetadata], layer: str, lineage: ColumnLineage, previous: TableMetadata | None
) -> list[ColumnMetadata]:
    """Each column's transforms and source headers, from the columns its lineage names in `previous` (the layer
    before, as the catalog holds it) and this layer's own lineage."""
    before = {column.name: column for column in previous.columns} if previous is not None else {}
    return [traced(column, layer, lineage.fields.get(column.name, []), before) for column in columns]


def documented(column: ColumnMetadata, doc: ColumnDoc) -> ColumnMetadata:
    """`column` with its dictionary entry; the entry's source headers when it is declared and names some."""
    headers = doc.source_headers if doc.concept is not None and doc.source_headers else column.source_headers
    return column.model_copy(
        update={
            "description_en": doc.description_en,
            "description_fr": doc.description_fr,
            "source_headers": headers,
            "unit": doc.unit,
            "role": doc.role,
            "role_guessed": doc.role_guessed,
            "references": doc.references,
            "null_meaning": doc.null_meaning,
        }
    )


def column_entry(table: str, column: ColumnMetadata, dictionary: DataDictionary) -> ColumnDoc | None:
    """The dictionary's entry for a column of a declared table (None if it has none), or what can be known of a
    column of an undeclared one."""
    if dictionary.is_declared(table):
        try:
            return dictionary.column_doc(table, column.name)
        except DictionaryError:
            return None
    header = column.source_headers[0] if column.source_headers else column.name
    return undeclared_column_doc(header, column.data_type.lower(), column.name, table, dictionary)


def with_dictionary(metadata: TableMetadata, dictionary: DataDictionary | None = None) -> TableMetadata:
    """A gold table's metadata with the data dictionary's: purpose, publisher, licence, edition, source URL,
    refresh and owner when the table is declared, and each column's entry (undeclared columns: what can be known)."""
    if metadata.layer != Layer.GOLD.value:
        return metadata
    dictionary = dictionary or default_dictionary()
    table = metadata.table_name
    columns = [
        documented(column, doc) if (doc := column_entry(table, column, dictionary)) is not None else column
        for column in metadata.columns
    ]
    update: dict = {"columns": columns}
    if dictionary.is_declared(table):
        doc = dictionary.table_doc(table)
        update |= doc.model_dump(include={"source_url", "owner"})
        update |= {"purpose": doc.purpose, "publisher": doc.publisher, "licence": doc.licence}
        update |= {"edition": doc.edition, "refresh": doc.refresh}
        update["business_purpose"] = metadata.business_purpose or doc.purpose.en
    return metadata.model_copy(update=update)


def previous_layer_table(source_layer: str, source_files: list[str]) -> tuple[str, str] | None:
    """(layer, table) of the catalog entry describing what a transition read: one file of the layer before, its
    current file (`silver/<table>.parquet`) or a kept batch (`silver/<table>/batch=<id>.parquet`)."""
    if source_layer == SOURCE or len(source_files) != 1:
        return None
    parts = source_files[0].split("/")
    if parts[0] != source_layer or len(parts) not in (2, 3):
        return None
    return source_layer, parts[1].removesuffix(".parquet")
