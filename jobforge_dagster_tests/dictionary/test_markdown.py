"""docs/data-dictionary.md is the dictionary's files rendered: it fails here when it is out of date."""

from jobforge_dagster.dictionary.markdown import render
from jobforge_dagster.dictionary.model import default_dictionary
from jobforge_dagster_tests.conftest import REPO

DOCUMENT = REPO / "docs" / "data-dictionary.md"
REGENERATE = "python -m jobforge_dagster.dictionary.markdown docs/data-dictionary.md"


def test_the_document_is_up_to_date() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render(), f"docs/data-dictionary.md is out of date: {REGENERATE}"


def test_every_table_and_column_is_there_in_english_and_in_french() -> None:
    text = render()
    english, french = text.split("\n## Français\n")
    dictionary = default_dictionary()
    for table in dictionary.tables.tables:
        doc = dictionary.table_doc(table)
        assert f"### `{table}`\n\n{doc.purpose.en}\n" in english and f"### `{table}`\n\n{doc.purpose.fr}\n" in french
        for column in doc.columns:
            assert f"| `{column.column}` |" in english and column.description_fr.replace("|", "\\|") in french
    assert "- Licence : [Licence du gouvernement ouvert - Canada](https://open.canada.ca/" in french
    assert "Null: The group is a broad category (level 1) and has no parent." in english
    assert "Valeur nulle : Le groupe est une grande catégorie professionnelle (niveau 1)" in french
