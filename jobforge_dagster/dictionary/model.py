"""The data dictionary's files as pydantic models, and what a gold column or table means in English and French.

`glossary.yaml` holds shared concepts; `tables.yaml` holds each declared gold table and, per column, the concept it
is plus what differs. `column_doc` resolves the two into a `ColumnDoc`; provenance columns resolve from the glossary
in every table. Tables absent from `tables.yaml` get `undeclared_column_doc`: only what can be known.
"""

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from jobforge_dagster.layers import PROVENANCE_COLUMNS

GLOSSARY_FILE = Path(__file__).with_name("glossary.yaml")
TABLES_FILE = Path(__file__).with_name("tables.yaml")

Role = Literal["key", "foreign_key", "measure", "attribute", "label", "provenance"]
Language = Literal["en", "fr"]
LANGUAGES: tuple[Language, ...] = ("en", "fr")
#: PyYAML's safe loader, in C where libyaml is there (ten times faster: the dictionary is read at every load).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
#: Dagster asset owners: an email address or `team:<name>`.
OWNER = re.compile(r"^(team:[A-Za-z0-9_-]+|[^@\s]+@[^@\s]+\.[^@\s]+)$")
#: Appended to a column's description when `language:` says which column of a bilingual pair it is.
LANGUAGE_SENTENCE = {
    "en": {"en": "In English.", "fr": "En anglais."},
    "fr": {"en": "In French.", "fr": "En français."},
}


class DictionaryError(ValueError):
    """A dictionary file is invalid, or a table or column is not in it."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(Strict):
    """The same text in English and in French."""

    en: Text
    fr: Text

    def get(self, language: Language) -> str:
        return self.en if language == "en" else self.fr


class Concept(Strict):
    """A shared meaning that columns refer to (glossary.yaml)."""

    en: Text
    fr: Text
    unit: Bilingual | None = None
    role: Role
    references: list[str] = Field(default_factory=list, description="Columns referred to, as `table.column`.")
    null_meaning: Bilingual | None = None


class Glossary(Strict):
    concepts: dict[str, Concept]


class ColumnEntry(Strict):
    """A gold column in tables.yaml: its concept and only what differs from it."""

    concept: str
    source_headers: list[str] = Field(default_factory=list, description="Headers as spelled in the source file.")
    language: Language | None = Field(default=None, description="Which column of a bilingual pair this is.")
    note: Bilingual | None = Field(default=None, description="Appended to the concept's description.")
    unit: Bilingual | None = None
    role: Role | None = None
    references: list[str] | None = None
    null_meaning: Bilingual | None = None


class Licence(Bilingual):
    url: str | None = None


class TableEntry(Strict):
    purpose: Bilingual
    publisher: str
    licence: str
    edition: Bilingual
    source_url: str = Field(default="", description="Public page of the source; empty where not known for sure.")
    refresh: str
    owner: str | None = None
    columns: dict[str, ColumnEntry]


class TablesFile(Strict):
    owner: str
    publishers: dict[str, Bilingual]
    licences: dict[str, Licence]
    refresh: dict[str, Bilingual]
    tables: dict[str, TableEntry]


class ColumnDoc(Strict):
    """What one column means, resolved from its concept and the table's overrides."""

    table: str
    column: str
    concept: str | None
    description_en: Text
    description_fr: Text
    source_headers: list[str] = Field(default_factory=list)
    unit: Bilingual | None = None
    role: Role
    role_guessed: bool = Field(default=False, description="True when the role is a guess (undeclared tables).")
    references: list[str] = Field(default_factory=list)
    null_meaning: Bilingual | None = None
    inferred_type: str | None = None

    def description(self, language: Language) -> str:
        return self.description_en if language == "en" else self.description_fr


class TableDoc(Strict):
    table: str
    purpose: Bilingual
    publisher: Bilingual
    licence: Licence
    edition: Bilingual
    source_url: str | None
    refresh: Bilingual
    owner: str
    columns: list[ColumnDoc]


class MissingDescription(Strict):
    """A column of a declared table with no description in one language or both."""

    table: str
    column: str
    languages: list[Language]


def joined(*parts: str | None) -> str:
    return " ".join(part for part in parts if part)


class DataDictionary(Strict):
    """The glossary and the table entries, checked against each other."""

    glossary: Glossary
    tables: TablesFile

    @model_validator(mode="after")
    def _consistent(self) -> "DataDictionary":
        problems = [*self._provenance_problems(), *self._owner_problems(), *self._reference_problems()]
        for name, table in self.tables.tables.items():
            problems += self._table_problems(name, table)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _provenance_problems(self) -> list[str]:
        concepts = self.glossary.concepts
        problems = [
            f"glossary.yaml: no concept for provenance column {name!r}"
            for name in PROVENANCE_COLUMNS
            if name not in concepts
        ]
        return problems + [
            f"glossary.yaml: concept {name!r} must have role provenance exactly when it is a provenance column"
            for name, concept in concepts.items()
            if (concept.role == "provenance") != (name in PROVENANCE_COLUMNS)
        ]

    def _owner_problems(self) -> list[str]:
        owners = [("owner", self.tables.owner)] + [(f"table {n} owner", t.owner) for n, t in self.tables.tables.items()]
        return [
            f"tables.yaml: {where} {owner!r} is not an email or team:<name>"
            for where, owner in owners
            if owner is not None and not OWNER.match(owner)
        ]

    def _reference_problems(self) -> list[str]:
        references = [
            (f"glossary.yaml: concept {name}", ref)
            for name, c in self.glossary.concepts.items()
            for ref in c.references
        ]
        references += [
            (f"tables.yaml: table {table}, column {column}", ref)
            for table, entry in self.tables.tables.items()
            for column, c in entry.columns.items()
            for ref in c.references or []
        ]
        return [
            f"{where}: reference {ref!r} names no documented column"
            for where, ref in references
            if not self.documents(ref)
        ]

    def _table_problems(self, name: str, table: TableEntry) -> list[str]:
        where = f"tables.yaml: table {name}"
        keys = [
            ("publisher", table.publisher, self.tables.publishers),
            ("licence", table.licence, self.tables.licences),
            ("refresh", table.refresh, self.tables.refresh),
        ]
        problems = [f"{where}: unknown {kind} {key!r}" for kind, key, known in keys if key not in known]
        return problems + [
            f"{where}, column {column}: unknown concept {entry.concept!r}"
            for column, entry in table.columns.items()
            if entry.concept not in self.glossary.concepts
        ]

    def documents(self, reference: str) -> bool:
        """True when `table.column` is a documented column."""
        table, _, column = reference.partition(".")
        entry = self.tables.tables.get(table)
        return entry is not None and (column in entry.columns or column in PROVENANCE_COLUMNS)

    def is_declared(self, table: str) -> bool:
        return table in self.tables.tables

    def table_entry(self, table: str) -> TableEntry:
        try:
            return self.tables.tables[table]
        except KeyError:
            raise DictionaryError(f"table {table!r} is not in {TABLES_FILE.name}") from None

    def column_doc(self, table: str, column: str) -> ColumnDoc:
        """The column's concept with the table's overrides; provenance columns from the glossary."""
        entry = self.table_entry(table).columns.get(column)
        if entry is None:
            if column in PROVENANCE_COLUMNS:
                return self.provenance_doc(table, column)
            raise DictionaryError(f"column {column!r} of table {table!r} is not in {TABLES_FILE.name}")
        concept = self.glossary.concepts[entry.concept]
        language = LANGUAGE_SENTENCE[entry.language] if entry.language else {"en": None, "fr": None}
        note = entry.note
        return ColumnDoc(
            table=table,
            column=column,
            concept=entry.concept,
            description_en=joined(concept.en, note.en if note else None, language["en"]),
            description_fr=joined(concept.fr, note.fr if note else None, language["fr"]),
            source_headers=entry.source_headers,
            unit=entry.unit or concept.unit,
            role=entry.role or concept.role,
            references=concept.references if entry.references is None else entry.references,
            null_meaning=entry.null_meaning or concept.null_meaning,
        )

    def provenance_doc(self, table: str, column: str) -> ColumnDoc:
        concept = self.glossary.concepts[column]
        return ColumnDoc(
            table=table,
            column=column,
            concept=column,
            description_en=concept.en,
            description_fr=concept.fr,
            unit=concept.unit,
            role=concept.role,
            null_meaning=concept.null_meaning,
        )

    def table_doc(self, table: str) -> TableDoc:
        entry = self.table_entry(table)
        return TableDoc(
            table=table,
            purpose=entry.purpose,
            publisher=self.tables.publishers[entry.publisher],
            licence=self.tables.licences[entry.licence],
            edition=entry.edition,
            source_url=entry.source_url or None,
            refresh=self.tables.refresh[entry.refresh],
            owner=entry.owner or self.tables.owner,
            columns=[self.column_doc(table, column) for column in entry.columns],
        )

    def missing_descriptions(self, table: str, columns: list[str]) -> list[MissingDescription]:
        """Columns of a declared table's schema with no description in English, French or both.

        Raises `DictionaryError` for a table that is not declared (use `undeclared_column_doc` there).
        """
        self.table_entry(table)
        missing = []
        for column in columns:
            languages = list(LANGUAGES)
            try:
                doc = self.column_doc(table, column)
                languages = [language for language in LANGUAGES if not doc.description(language).strip()]
            except DictionaryError:
                pass
            if languages:
                missing.append(MissingDescription(table=table, column=column, languages=languages))
        return missing


def read_yaml(path: Path) -> dict:
    """A YAML mapping without its top-level `x-...` keys (they hold anchors)."""
    with open(path, encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=SAFE_LOADER) or {}
    if not isinstance(document, dict):
        raise DictionaryError(f"{path}: the document must be a mapping")
    return {key: value for key, value in document.items() if not str(key).startswith("x-")}


def load_dictionary(glossary_path: Path = GLOSSARY_FILE, tables_path: Path = TABLES_FILE) -> DataDictionary:
    """Read and check both files; an error names the file and the entry."""
    try:
        glossary = Glossary.model_validate(read_yaml(glossary_path))
    except ValidationError as error:
        raise DictionaryError(f"{glossary_path}: {error}") from None
    try:
        tables = TablesFile.model_validate(read_yaml(tables_path))
    except ValidationError as error:
        raise DictionaryError(f"{tables_path}: {error}") from None
    try:
        return DataDictionary(glossary=glossary, tables=tables)
    except ValidationError as error:
        raise DictionaryError("; ".join(str(e["msg"]).removeprefix("Value error, ") for e in error.errors())) from None


@lru_cache(maxsize=1)
def default_dictionary() -> DataDictionary:
    """The dictionary shipped with the package, read once."""
    return load_dictionary()


def column_doc(table: str, column: str, dictionary: DataDictionary | None = None) -> ColumnDoc:
    return (dictionary or default_dictionary()).column_doc(table, column)


def table_doc(table: str, dictionary: DataDictionary | None = None) -> TableDoc:
    return (dictionary or default_dictionary()).table_doc(table)


def missing_descriptions(
    table: str, columns: list[str], dictionary: DataDictionary | None = None
) -> list[MissingDescription]:
    return (dictionary or default_dictionary()).missing_descriptions(table, columns)
