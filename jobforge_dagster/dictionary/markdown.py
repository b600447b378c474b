"""docs/data-dictionary.md, generated from the dictionary's files: every declared gold table with its purpose,
publisher, licence, edition, source, refresh and owner, and each column's role, unit, source headers, null
meaning and description, first in English, then in French.

    python -m jobforge_dagster.dictionary.markdown docs/data-dictionary.md
"""

import sys
from pathlib import Path

from jobforge_dagster.dictionary.model import ColumnDoc, DataDictionary, Language, TableDoc, default_dictionary
from jobforge_dagster.dictionary.text import LABELS, labelled, sentence, table_facts
from jobforge_dagster.layers import PROVENANCE_COLUMNS

HEADINGS: dict[str, dict[Language, str]] = {
    "part": {"en": "English", "fr": "Français"},
    "columns": {
        "en": "| Column | Role | Unit or format | Source header(s) | Description |",
        "fr": "| Colonne | Rôle | Unité ou format | En-tête(s) source | Description |",
    },
    "provenance": {"en": "Provenance columns (every table)", "fr": "Colonnes de provenance (toutes les tables)"},
}
INTRODUCTION = """# Data dictionary / Dictionnaire de données

Generated from `jobforge_dagster/dictionary/glossary.yaml` and `tables.yaml` by
`python -m jobforge_dagster.dictionary.markdown docs/data-dictionary.md`; a test fails when this file is out of
date. The same text is in the catalog (`catalog/tables/gold/*.json`), the Dagster UI, DuckDB column comments,
`jobforge describe TABLE [--lang fr]` and OpenLineage. Tables JobForge finds without a registry entry are not
listed: their columns are described by their header, inferred type and a guessed role only.

Produit à partir de `glossary.yaml` et `tables.yaml`; la version française suit la version anglaise.
"""


def cell(text: str) -> str:
    """Text fit for a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def column_row(doc: ColumnDoc, language: Language) -> str:
    role = LABELS[doc.role][language] + (f" → {', '.join(doc.references)}" if doc.references else "")
    unit = doc.unit.get(language) if doc.unit else ""
    headers = ", ".join(f"`{header}`" for header in doc.source_headers)
    description = doc.description(language)
    if doc.null_meaning is not None:
        description += " " + labelled("null", language, sentence(doc.null_meaning.get(language)))
    return f"| `{doc.column}` | {cell(role)} | {cell(unit)} | {cell(headers)} | {cell(description)} |"


def columns_table(docs: list[ColumnDoc], language: Language) -> list[str]:
    return [HEADINGS["columns"][language], "| --- | --- | --- | --- | --- |", *(column_row(d, language) for d in docs)]


def table_section(doc: TableDoc, language: Language) -> list[str]:
    facts = [f"- {fact}" for fact in table_facts(doc, language)]
    data = [column for column in doc.columns if column.column not in PROVENANCE_COLUMNS]
    return [f"### `{doc.table}`", "", doc.purpose.get(language), "", *facts, "", *columns_table(data, language), ""]


def part(dictionary: DataDictionary, language: Language) -> list[str]:
    """Every declared table in one language, then the provenance columns every table has."""
    tables = [dictionary.table_doc(name) for name in dictionary.tables.tables]
    lines = [f"## {HEADINGS['part'][language]}", ""]
    lines += [f"- [`{doc.table}`](#{doc.table}{'-1' if language == 'fr' else ''})" for doc in tables] + [""]
    for doc in tables:
        lines += table_section(doc, language)
    provenance = [dictionary.provenance_doc("", column) for column in PROVENANCE_COLUMNS]
    return [*lines, f"### {HEADINGS['provenance'][language]}", "", *columns_table(provenance, language), ""]


def render(dictionary: DataDictionary | None = None) -> str:
    """The whole document: introduction, the English part, the French part."""
    dictionary = dictionary or default_dictionary()
    lines = [INTRODUCTION, *part(dictionary, "en"), *part(dictionary, "fr")]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    """Write the document to the path given (standard output without one)."""
    text = render()
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
