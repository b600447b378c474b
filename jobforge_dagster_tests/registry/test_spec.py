"""The source registry: loading, matching and defaults for unregistered files."""


import pytest
from pydantic import ValidationError

from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.spec import TableSpec


def test_bundled_registry_loads() -> None:
    registry = SourceRegistry.load()
    assert "noc_unit_groups" in registry.by_name


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


