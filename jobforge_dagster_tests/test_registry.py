"""The source registry: loading, matching and defaults for unregistered files."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from jobforge_dagster.registry import SourceRegistry, TableSpec
from jobforge_dagster.sources import find_source_file, list_source_files


def test_bundled_registry_loads() -> None:
    registry = SourceRegistry.load()
    assert "noc_unit_groups" in registry.by_name


def test_unregistered_files_get_default_tables(tmp_path: Path) -> None:
    (tmp_path / "noc_unit_groups_sample.csv").write_text("a\n1\n")
    (tmp_path / "My File (v2).csv").write_text("a\n1\n")
    (tmp_path / ".hidden.csv").write_text("a\n1\n")
    (tmp_path / "notes.md").write_text("not a source")
    registry = SourceRegistry(tables=[TableSpec(name="noc_unit_groups", pattern="noc_unit_groups*.csv")])
    tables = registry.with_unregistered(tmp_path)
    assert [(t.name, t.pattern, t.declared) for t in tables] == [
        ("noc_unit_groups", "noc_unit_groups*.csv", True),
        ("my_file_v2", "My File (v2).csv", False),
    ]
    assert list_source_files(tmp_path) == ["My File (v2).csv", "noc_unit_groups_sample.csv"]


def test_default_name_clash_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "noc-a.csv").write_text("a\n1\n")
    (tmp_path / "noc a.csv").write_text("a\n1\n")
    with pytest.raises(ValueError, match="already taken"):
        SourceRegistry().with_unregistered(tmp_path)


def test_pattern_matching_several_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "cops_1.csv").write_text("a\n1\n")
    (tmp_path / "cops_2.csv").write_text("a\n1\n")
    with pytest.raises(ValueError, match="matches 2 files"):
        find_source_file(TableSpec(name="cops", pattern="cops_*.csv"), tmp_path)
    assert find_source_file(TableSpec(name="none", pattern="none*.csv"), tmp_path) is None


def test_registry_validation() -> None:
    with pytest.raises(ValidationError, match="not a safe identifier"):
        TableSpec(name="Bad Name", pattern="x.csv")
    with pytest.raises(ValidationError, match="declared twice"):
        SourceRegistry(tables=[TableSpec(name="a", pattern="a.csv"), TableSpec(name="a", pattern="b.csv")])
    with pytest.raises(ValidationError):
        TableSpec(name="a", pattern="a.csv", types={"x": "decimal"})


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"references": [{"column": "c", "table": "../staged/x"}]}, "references.0.table"),
        ({"checks": {"foreign_keys": [{"column": "c", "table": "a/b"}]}}, "checks.foreign_keys.0.table"),
        ({"separator": ""}, "separator"),
        ({"separator": ";;"}, "separator"),
        ({"separator": '"'}, "separator"),
        ({"encoding": "klingon"}, "encoding"),
        ({"encoding": "rot13"}, "encoding"),
        ({"name": "t" * 65}, "name"),
    ],
)
def test_unsafe_or_unusable_settings_are_refused_at_load(entry: dict, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        TableSpec.model_validate({"name": "t", "pattern": "t.csv"} | entry)
    assert field in str(raised.value)


def test_usable_settings_still_load() -> None:
    spec = TableSpec(name="t", pattern="t.csv", separator=";", encoding="windows-1252")
    assert spec.separator == ";" and spec.encoding == "windows-1252"
