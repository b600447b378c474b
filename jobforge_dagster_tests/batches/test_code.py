"""The code a table's version counts: found from the package's imports, so an edit to what the build does
changes it and moving a module does not."""

import shutil
from pathlib import Path

import pytest

from jobforge_dagster.batches import code

COLUMN_LINEAGE = "jobforge_dagster.transforms.lineage"


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A copy of the package to edit."""
    copy = tmp_path / "jobforge_dagster"
    shutil.copytree(code.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_the_build_and_everything_it_imports_count_and_nothing_else() -> None:
    modules = set(code.output_trees())
    assert {"jobforge_dagster.build.steps", "jobforge_dagster.transforms.silver", COLUMN_LINEAGE} <= modules
    assert "jobforge_dagster.quality.checks" in modules  # gold is published only if its checks pass
    assert not {name for name in modules if name.startswith(("jobforge_dagster.orchestration", "jobforge_dagster.cli"))}


def test_a_copy_has_the_same_digest(package: Path) -> None:
    assert code.code_digest(package) == code.code_digest()


def test_editing_a_transform_changes_the_digest(package: Path) -> None:
    before = code.code_digest(package)
    silver = package / "transforms" / "silver.py"
    text = silver.read_text()
    assert '"trim strings"' in text
    silver.write_text(text.replace('"trim strings"', '"trim every string"'))
    assert code.code_digest(package) != before


def test_docstrings_and_code_outside_the_build_do_not_count(package: Path) -> None:
    before = code.code_digest(package)
    silver = package / "transforms" / "silver.py"
    silver.write_text(silver.read_text().replace('"""Bronze -> silver:', '"""Bronze to silver:', 1))
    sensors = package / "orchestration" / "sensors.py"
    sensors.write_text(sensors.read_text() + "\nNOT_OUTPUT_CODE = 1\n")
    assert code.code_digest(package) == before


def test_moving_a_module_leaves_the_digest_as_it_was(package: Path) -> None:
    """The column-lineage model moves from transforms/ to catalog/; every import of it is rewritten."""
    before = code.code_digest(package)
    (package / "transforms" / "lineage.py").rename(package / "catalog" / "column_lineage.py")
    rewritten = 0
    for path in package.rglob("*.py"):
        text = path.read_text()
        if COLUMN_LINEAGE in text:
            path.write_text(text.replace(COLUMN_LINEAGE, "jobforge_dagster.catalog.column_lineage"))
            rewritten += 1
    assert rewritten > 5
    assert "jobforge_dagster.catalog.column_lineage" in code.output_trees(package)
    assert code.code_digest(package) == before


def test_editing_the_data_dictionary_changes_the_digest_and_the_registry_file_does_not(package: Path) -> None:
    """Gold's catalog entries and dim_oasis_attribute's guide join read the dictionary's files; a table's own
    registry entry is in its version already, so sources.yaml as a whole does not count."""
    before = code.code_digest(package)
    registry = package / "registry" / "sources.yaml"
    registry.write_text(registry.read_text() + "\n# a comment\n")
    assert code.code_digest(package) == before
    glossary = package / "dictionary" / "glossary.yaml"
    text = glossary.read_text()
    assert "fr: Titre du groupe de la CNP 2021." in text
    glossary.write_text(text.replace("fr: Titre du groupe de la CNP 2021.", "fr: Titre du groupe (CNP 2021)."))
    assert code.code_digest(package) != before


def test_the_kept_digest_follows_every_edit(package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kept in the package's __pycache__: the same digest, read back without parsing, until a file changes."""
    first = code.kept_code_digest(package)
    assert first == code.code_digest(package)
    assert (package / "__pycache__" / code.CACHE_NAME).is_file()
    computed = code.code_digest
    monkeypatch.setattr(code, "code_digest", lambda *args: pytest.fail("parsed again, nothing changed"))
    assert code.kept_code_digest(package) == first
    monkeypatch.setattr(code, "code_digest", computed)
    silver = package / "transforms" / "silver.py"
    silver.write_text(silver.read_text().replace('"trim strings"', '"trim every string"'))
    edited = code.kept_code_digest(package)
    assert edited != first and edited == code.code_digest(package)
    glossary = package / "dictionary" / "glossary.yaml"
    glossary.write_text(glossary.read_text() + "\n")
    assert code.kept_code_digest(package) not in {first, edited}


def test_the_digest_without_a_writable_cache(package: Path) -> None:
    """Where __pycache__ cannot be written (here a file holds its name), the digest is computed each time."""
    (package / "__pycache__").write_text("not a folder")
    assert code.kept_code_digest(package) == code.code_digest(package)
    assert (package / "__pycache__").read_text() == "not a folder"
