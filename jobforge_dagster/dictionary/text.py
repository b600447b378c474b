"""The dictionary as text people read: a column's description with its unit, null meaning and references, in one
language or both; a table's purpose, publisher, licence, edition, source and refresh. Shared by the Dagster UI,
DuckDB comments, OpenLineage facets, the `jobforge describe` command and docs/data-dictionary.md."""

from typing import Protocol

from jobforge_dagster.dictionary.model import Bilingual, Language, TableDoc

LABELS: dict[str, dict[Language, str]] = {
    "unit": {"en": "Unit", "fr": "Unité"},
    "null": {"en": "Null", "fr": "Valeur nulle"},
    "references": {"en": "Refers to", "fr": "Renvoie à"},
    "publisher": {"en": "Publisher", "fr": "Éditeur"},
    "licence": {"en": "Licence", "fr": "Licence"},
    "edition": {"en": "Edition", "fr": "Édition"},
    "source": {"en": "Source", "fr": "Source"},
    "refresh": {"en": "Refresh", "fr": "Mise à jour"},
    "owner": {"en": "Owner", "fr": "Responsable"},
    # roles
    "key": {"en": "key", "fr": "clé"},
    "foreign_key": {"en": "foreign key", "fr": "clé étrangère"},
    "measure": {"en": "measure", "fr": "mesure"},
    "attribute": {"en": "attribute", "fr": "attribut"},
    "label": {"en": "label", "fr": "libellé"},
    "provenance": {"en": "provenance", "fr": "provenance"},
}
#: French puts a space before a colon.
COLON: dict[Language, str] = {"en": ": ", "fr": " : "}


class Described(Protocol):
    """A documented column: a dictionary entry (`ColumnDoc`) or a catalog column (`ColumnMetadata`)."""

    description_en: str
    description_fr: str
    unit: Bilingual | None
    null_meaning: Bilingual | None
    references: list[str]


def labelled(name: str, language: Language, value: str) -> str:
    return f"{LABELS[name][language]}{COLON[language]}{value}"


def sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?", ")")) else f"{text}."


def column_text(column: Described, language: Language) -> str:
    """The description in one language, then its unit, what a null means and the columns it refers to."""
    parts = [column.description_fr if language == "fr" else column.description_en]
    if column.unit is not None:
        parts.append(sentence(labelled("unit", language, column.unit.get(language))))
    if column.null_meaning is not None:
        parts.append(labelled("null", language, sentence(column.null_meaning.get(language))))
    if column.references:
        parts.append(sentence(labelled("references", language, ", ".join(column.references))))
    return " ".join(part for part in parts if part)


def column_bilingual(column: Described, separator: str = "\n\n") -> str:
    """English then French, each with its unit, null meaning and references; empty when both are empty."""
    texts = [column_text(column, language) for language in ("en", "fr")]
    return separator.join(text for text in texts if text) if column.description_en or column.description_fr else ""


def table_facts(doc: TableDoc, language: Language) -> list[str]:
    """Publisher, licence, edition, source, refresh and owner of a table, one labelled line each."""
    licence = doc.licence.get(language)
    facts = [
        labelled("publisher", language, doc.publisher.get(language)),
        labelled("licence", language, f"[{licence}]({doc.licence.url})" if doc.licence.url else licence),
        labelled("edition", language, doc.edition.get(language)),
    ]
    if doc.source_url:
        facts.append(labelled("source", language, doc.source_url))
    return facts + [labelled("refresh", language, doc.refresh.get(language)), labelled("owner", language, doc.owner)]


def table_markdown(doc: TableDoc) -> str:
    """A table's purpose in English and French, then its facts in English (Markdown, for the Dagster UI)."""
    facts = " · ".join(table_facts(doc, "en")[:4])
    return f"{doc.purpose.en}\n\n{doc.purpose.fr}\n\n{facts}"
