"""What can be said of a column of a table that is not in the dictionary: its header, its inferred type and a
guessed role, marked as a guess. Never a meaning."""

import re

from jobforge_dagster.dictionary.model import ColumnDoc, DataDictionary, Role, default_dictionary
from jobforge_dagster.layers import PROVENANCE_COLUMNS
from jobforge_dagster.registry.names import snake_case

#: Type names (inferred, or a polars type in lower case) that hold quantities.
NUMERIC_TYPES = ("int", "uint", "float", "decimal")
#: Column names that usually identify a row: `code`, `id`, or ending in `_code` / `_id`.
IDENTIFIER = re.compile(r"(^|_)(code|id)$")
ROLE_NAMES = {
    "key": ("key", "clé"),
    "measure": ("measure", "mesure"),
    "attribute": ("attribute", "attribut"),
}


def guess_role(column: str, inferred_type: str) -> Role:
    """A role from the name and type alone: identifier-like names are keys, numbers are measures."""
    if IDENTIFIER.search(column):
        return "key"
    return "measure" if inferred_type.lower().startswith(NUMERIC_TYPES) else "attribute"


def undeclared_column_doc(
    header: str,
    inferred_type: str,
    column: str | None = None,
    table: str = "",
    dictionary: DataDictionary | None = None,
) -> ColumnDoc:
    """The header, the inferred type and a guessed role (`role_guessed=True`); provenance columns keep their
    glossary description. `column` defaults to the header in snake_case (a provenance name is kept)."""
    name = column or (header if header in PROVENANCE_COLUMNS else snake_case(header))
    if name in PROVENANCE_COLUMNS:
        return (dictionary or default_dictionary()).provenance_doc(table, name)
    role = guess_role(name, inferred_type)
    role_en, role_fr = ROLE_NAMES[role]
    return ColumnDoc(
        table=table,
        column=name,
        concept=None,
        description_en=(
            f'Column "{header}" of a source file that is not declared in the registry; inferred type '
            f"{inferred_type}; role guessed from its name and type: {role_en}. Its meaning is not documented."
        ),
        description_fr=(
            f"Colonne « {header} » d'un fichier source non déclaré dans le registre; type déduit : "
            f"{inferred_type}; rôle deviné d'après son nom et son type : {role_fr}. Sa signification n'est pas "
            "documentée."
        ),
        source_headers=[header],
        role=role,
        role_guessed=True,
        inferred_type=inferred_type,
    )
