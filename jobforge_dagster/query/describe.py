"""A gold table's data dictionary as a DataFrame, one row per column of its view: what the column means (in
English or French), its role, unit, null meaning, references, source headers and the transforms that made it.

Read from the table's catalog entry (`catalog/tables/gold/<table>.json`); a column the entry does not know gets
the dictionary's entry, or what can be known of an undeclared column."""

import polars as pl

from jobforge_dagster.catalog.documentation import column_entry, documented
from jobforge_dagster.catalog.models import ColumnMetadata, TableMetadata
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.dictionary.model import Language, default_dictionary
from jobforge_dagster.layers import Layer
from jobforge_dagster.storage.data_root import DataRoot

#: The columns of `GoldQueryEngine.describe`.
DESCRIBE_SCHEMA = {
    "column": pl.String,
    "type": pl.String,
    "role": pl.String,
    "role_guessed": pl.Boolean,
    "unit": pl.String,
    "description": pl.String,
    "null_meaning": pl.String,
    "references": pl.List(pl.String),
    "source_headers": pl.List(pl.String),
    "transforms": pl.List(pl.String),
}


def catalog_entry(root: DataRoot, table: str) -> TableMetadata | None:
    """The table's gold catalog entry; None when there is none (or it cannot be read)."""
    try:
        return CatalogManager(root).load_table_metadata(table, Layer.GOLD.value)
    except ValueError:
        return None


def documented_columns(root: DataRoot, table: str, types: dict[str, str]) -> list[ColumnMetadata]:
    """Each column of the view (`types`: name -> SQL type) as the catalog documents it, else the dictionary."""
    entry = catalog_entry(root, table)
    known = {column.name: column for column in entry.columns} if entry is not None else {}
    found = []
    for name, sql_type in types.items():
        column = known.get(name) or ColumnMetadata(name=name, data_type=sql_type, nullable=True)
        if not (column.description_en or column.description_fr):
            doc = column_entry(table, column, default_dictionary())
            column = documented(column, doc) if doc is not None else column
        found.append(column.model_copy(update={"data_type": sql_type}))
    return found


def describe_row(column: ColumnMetadata, language: Language) -> dict:
    return {
        "column": column.name,
        "type": column.data_type,
        "role": column.role,
        "role_guessed": column.role_guessed,
        "unit": column.unit.get(language) if column.unit else None,
        "description": column.description_in(language) or None,
        "null_meaning": column.null_meaning.get(language) if column.null_meaning else None,
        "references": column.references,
        "source_headers": column.source_headers,
        "transforms": column.transforms,
    }


def describe_table(root: DataRoot, table: str, types: dict[str, str], language: Language = "en") -> pl.DataFrame:
    """One row per column of the table's view, in its order, with the dictionary's text in `language`."""
    rows = [describe_row(column, language) for column in documented_columns(root, table, types)]
    return pl.DataFrame(rows, schema=DESCRIBE_SCHEMA)
