"""The data dictionary as DuckDB comments on the gold views of a database file (`GoldQueryEngine(db_path=...)`),
so the DuckDB CLI, DBeaver and BI tools show what each table and column means, in English then French. The view's
comment is `table_comment` followed by the engine's mark (`views.create_view`)."""

import duckdb

from jobforge_dagster.catalog.models import TableMetadata
from jobforge_dagster.dictionary.text import column_bilingual
from jobforge_dagster.query.sql import quote_identifier, quote_literal

#: Between the English and the French text of a comment (one line each: tools show comments on one line or few).
SEPARATOR = "\n"


def table_comment(entry: TableMetadata | None) -> str:
    """The table's purpose in English and French with its publisher, licence and edition; empty if undeclared."""
    doc = entry.table_doc() if entry is not None else None
    if doc is None:
        return ""
    english = f"{doc.purpose.en} {doc.publisher.en}, {doc.licence.en}, {doc.edition.en}."
    return SEPARATOR.join([english, f"{doc.purpose.fr} {doc.publisher.fr}, {doc.licence.fr}, {doc.edition.fr}."])


def column_comments(entry: TableMetadata | None, columns: list[str]) -> dict[str, str]:
    """Each column of the view that the catalog describes: its meaning in English then French."""
    known = {column.name: column for column in entry.columns} if entry is not None else {}
    texts = {name: column_bilingual(known[name], SEPARATOR) for name in columns if name in known}
    return {name: text for name, text in texts.items() if text}


def comment_columns(connection: duckdb.DuckDBPyConnection, view: str, entry: TableMetadata | None) -> None:
    """COMMENT ON COLUMN for each column of `view` (qualified) that the catalog entry describes, in one call."""
    columns = connection.sql(f"SELECT * FROM {view}").columns
    statements = [
        f"COMMENT ON COLUMN {view}.{quote_identifier(name)} IS {quote_literal(comment)}"
        for name, comment in column_comments(entry, columns).items()
    ]
    if statements:
        connection.execute(";\n".join(statements))  # one call: each statement alone costs a round of parsing
