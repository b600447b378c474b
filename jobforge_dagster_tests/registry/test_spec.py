"""The source registry: loading, matching and defaults for unregistered files."""

import pytest
import yaml
from pydantic import ValidationError

from jobforge_dagster.registry.file import SAFE_LOADER, SourceRegistry, registry_file
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


def test_the_registry_parses_the_same_with_the_c_loader() -> None:
    """Anchors and merge keys included (the bundled noc2021 registry uses both)."""
    assert SAFE_LOADER is yaml.CSafeLoader, "libyaml is not installed: the registry is parsed in Python"
    text = registry_file("noc2021").read_text()
    assert yaml.load(text, Loader=SAFE_LOADER) == yaml.load(text, Loader=yaml.SafeLoader)
