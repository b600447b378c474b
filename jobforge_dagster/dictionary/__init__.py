"""The bilingual data dictionary of the gold tables: glossary.yaml (shared concepts), tables.yaml (tables and their
columns), the OaSIS guide's definitions and scales for rated descriptors. No Dagster import."""

from jobforge_dagster.dictionary.model import (
    ColumnDoc,
    DataDictionary,
    DictionaryError,
    MissingDescription,
    TableDoc,
    column_doc,
    default_dictionary,
    load_dictionary,
    missing_descriptions,
    table_doc,
)
from jobforge_dagster.dictionary.undeclared import undeclared_column_doc

__all__ = [
    "ColumnDoc",
    "DataDictionary",
    "DictionaryError",
    "MissingDescription",
    "TableDoc",
    "column_doc",
    "default_dictionary",
    "load_dictionary",
    "missing_descriptions",
    "table_doc",
    "undeclared_column_doc",
]
