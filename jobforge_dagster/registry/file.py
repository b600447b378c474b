"""The registry file: every declared table, loaded from one YAML file and validated."""

import os
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from jobforge_dagster.registry.spec import TableSpec, spec_for

#: The bundled sample's registry (data/source), the default.
REGISTRY_FILE = Path(__file__).with_name("sources.yaml")
#: Registries that ship with the package, by name; `$JOBFORGE_REGISTRY` names one of them or a YAML file.
BUNDLED_REGISTRIES = {"sample": REGISTRY_FILE, "noc2021": Path(__file__).with_name("noc2021.yaml")}
REGISTRY_ENV = "JOBFORGE_REGISTRY"


def registry_file(value: str | None = None) -> Path:
    """The registry a name or path means (`noc2021`, `sample`, `path/to/registry.yaml`); with none, the one
    `$JOBFORGE_REGISTRY` names, else the bundled sample's."""
    value = value or os.environ.get(REGISTRY_ENV) or "sample"
    if value in BUNDLED_REGISTRIES:
        return BUNDLED_REGISTRIES[value]
    path = Path(value)
    if not path.is_absolute() and not path.exists() and (bundled := REGISTRY_FILE.parent / path).exists():
        return bundled
    if not path.is_file():
        names = ", ".join(BUNDLED_REGISTRIES)
        raise FileNotFoundError(f"registry {value!r} is neither a YAML file nor a bundled registry ({names})")
    return path.resolve()


class SourceRegistry(BaseModel):
    """All declared tables, loaded from one YAML file."""

    model_config = ConfigDict(extra="forbid")

    tables: list[TableSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> "SourceRegistry":
        names = [table.name for table in self.tables] + [t.gold_name for t in self.tables if t.gold_name]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"table names declared twice in the registry (names and gold names): {repeated}")
        return self

    @classmethod
    def load(cls, path: Path | str | None = None) -> "SourceRegistry":
        """Load and validate a registry (a file, or a bundled one's name; default: `registry_file()`); top-level
        `x-...` keys hold YAML anchors and are ignored."""
        with open(registry_file(str(path) if path else None), encoding="utf-8") as handle:
            document = yaml.safe_load(handle) or {}
        return cls.model_validate({key: value for key, value in document.items() if not key.startswith("x-")})

    @cached_property
    def by_name(self) -> dict[str, TableSpec]:
        return {table.name: table for table in self.tables}

    def spec_for(self, relative_path: str) -> TableSpec | None:
        """The first declared table whose pattern matches a path relative to source/."""
        return spec_for(relative_path, self.tables)
