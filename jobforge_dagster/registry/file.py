"""The registry file: every declared table, loaded from one YAML file and validated."""

from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from jobforge_dagster.registry.spec import TableSpec, spec_for

REGISTRY_FILE = Path(__file__).with_name("sources.yaml")


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
    def load(cls, path: Path = REGISTRY_FILE) -> "SourceRegistry":
        """Load and validate the registry; top-level `x-...` keys hold YAML anchors and are ignored."""
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle) or {}
        return cls.model_validate({key: value for key, value in document.items() if not key.startswith("x-")})

    @cached_property
    def by_name(self) -> dict[str, TableSpec]:
        return {table.name: table for table in self.tables}

    def spec_for(self, relative_path: str) -> TableSpec | None:
        """The first declared table whose pattern matches a path relative to source/."""
        return spec_for(relative_path, self.tables)
