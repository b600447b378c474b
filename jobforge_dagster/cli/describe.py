"""`jobforge describe TABLE [--lang fr] [--json]`: what a gold table is (purpose, publisher, licence, edition,
source, refresh, owner) and what each of its columns means, in English or French."""

import argparse
import json
from typing import Any

import polars as pl

from jobforge_dagster.catalog.models import TableMetadata
from jobforge_dagster.dictionary.model import Language
from jobforge_dagster.dictionary.text import COLON, LABELS, labelled, table_facts
from jobforge_dagster.query.describe import catalog_entry
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.storage.data_root import DataRoot

NAME = "describe"
WORDS: dict[str, dict[Language, str]] = {
    "headers": {"en": "Source header(s)", "fr": "En-tête(s) source"},
    "transforms": {"en": "Made by", "fr": "Produite par"},
    "guessed": {"en": "guessed", "fr": "deviné"},
    "rows": {"en": "rows", "fr": "lignes"},
}


def add_parser(commands: argparse._SubParsersAction) -> None:
    describe = commands.add_parser(NAME, help="what a gold table and each of its columns mean")
    describe.add_argument("table", help="a gold table, e.g. dim_noc")
    describe.add_argument("--lang", choices=["en", "fr"], default="en", help="language of the descriptions")
    describe.add_argument("--json", action="store_true", help="print JSON instead of a report")


def about(entry: TableMetadata | None, table: str, language: Language) -> dict[str, Any]:
    """The table's own facts: purpose and dictionary facts when declared, rows and file from the catalog."""
    doc = entry.table_doc() if entry is not None else None
    found: dict[str, Any] = {"table": table, "purpose": doc.purpose.get(language) if doc else None}
    found["facts"] = table_facts(doc, language) if doc is not None else []
    found["rows"] = entry.row_count if entry is not None else None
    found["file"] = entry.file_path if entry is not None else None
    found["batch_id"] = entry.batch_id if entry is not None else None
    return found


def column_lines(column: dict[str, Any], language: Language) -> list[str]:
    role = LABELS[column["role"]][language] if column["role"] in LABELS else column["role"] or ""
    role += f" ({WORDS['guessed'][language]})" if column["role_guessed"] else ""
    lines = [f"{column['column']}  {column['type']}  {role}".rstrip(), f"  {column['description'] or '-'}"]
    if column["unit"]:
        lines.append("  " + labelled("unit", language, column["unit"]))
    if column["null_meaning"]:
        lines.append("  " + labelled("null", language, column["null_meaning"]))
    if column["references"]:
        lines.append("  " + labelled("references", language, ", ".join(column["references"])))
    if column["source_headers"]:
        headers = ", ".join(repr(header) for header in column["source_headers"])
        lines.append(f"  {WORDS['headers'][language]}{COLON[language]}{headers}")
    lines += [f"  {WORDS['transforms'][language]}{COLON[language]}{line}" for line in column["transforms"]]
    return lines


def report(table: dict[str, Any], columns: list[dict[str, Any]], language: Language) -> str:
    head = f"{table['table']}: {table['purpose']}" if table["purpose"] else table["table"]
    lines = [head, *table["facts"]]
    if table["rows"] is not None:
        lines.append(f"{table['rows']:,} {WORDS['rows'][language]} ({table['file']}, batch {table['batch_id']})")
    for column in columns:
        lines += ["", *column_lines(column, language)]
    return "\n".join(lines)


def run(arguments: argparse.Namespace, root: DataRoot) -> tuple[int, str]:
    with GoldQueryEngine(root) as engine:
        frame: pl.DataFrame = engine.describe(arguments.table, arguments.lang)
    table = about(catalog_entry(root, arguments.table), arguments.table, arguments.lang)
    columns = frame.to_dicts()
    if arguments.json:
        return 0, json.dumps(table | {"columns": columns}, indent=2, ensure_ascii=False)
    return 0, report(table, columns, arguments.lang)
