"""`jobforge tables [--lang fr] [--json]`: the gold tables a query can read, with their rows, columns, edition and
purpose (from the catalog and the data dictionary)."""

import argparse
import json
from typing import Any

from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.dictionary.model import Language
from jobforge_dagster.dictionary.text import COLON
from jobforge_dagster.layers import Layer
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.storage.data_root import DataRoot

NAME = "tables"
UNDOCUMENTED: dict[Language, str] = {
    "en": "not declared in the data dictionary: columns described by header and type only",
    "fr": "absente du dictionnaire de données : colonnes décrites par leur en-tête et leur type seulement",
}


def add_parser(commands: argparse._SubParsersAction) -> None:
    tables = commands.add_parser(NAME, help="the gold tables a query can read")
    tables.add_argument("--lang", choices=["en", "fr"], default="en", help="language of the descriptions")
    tables.add_argument("--json", action="store_true", help="print a JSON list instead of a table")


def listing(root: DataRoot, names: list[str], language: Language) -> list[dict[str, Any]]:
    """Each table's rows, columns, edition and purpose, as the catalog records them."""
    catalog = CatalogManager(root)
    found = []
    for name in names:
        entry = catalog.load_table_metadata(name, Layer.GOLD.value)
        doc = entry.table_doc() if entry is not None else None
        found.append(
            {
                "table": name,
                "rows": entry.row_count if entry is not None else None,
                "columns": entry.column_count if entry is not None else None,
                "edition": doc.edition.get(language) if doc is not None else None,
                "purpose": doc.purpose.get(language) if doc is not None else UNDOCUMENTED[language],
            }
        )
    return found


def text(tables: list[dict[str, Any]], language: Language) -> str:
    """One line per table: name, rows, columns, then edition and purpose."""
    if not tables:
        return "no gold table yet: run the pipeline first"
    width = max(len(table["table"]) for table in tables)
    lines = [f"{'table':<{width}}  {'rows':>9}  {'columns':>7}  edition: purpose"]
    for table in tables:
        rows = f"{table['rows']:,}" if table["rows"] is not None else "?"
        columns = table["columns"] if table["columns"] is not None else "?"
        about = f"{table['edition']}{COLON[language]}{table['purpose']}" if table["edition"] else table["purpose"]
        lines.append(f"{table['table']:<{width}}  {rows:>9}  {columns:>7}  {about}")
    return "\n".join(lines)


def run(arguments: argparse.Namespace, root: DataRoot) -> tuple[int, str]:
    with GoldQueryEngine(root) as engine:
        names, skipped = engine.list_tables(), dict(engine.skipped_tables)
    found = listing(root, names, arguments.lang)
    if arguments.json:
        return 0, json.dumps(found, indent=2, ensure_ascii=False)
    notes = [f"skipped {name}: {reason}" for name, reason in sorted(skipped.items())]
    return 0, "\n".join([text(found, arguments.lang), *notes])
