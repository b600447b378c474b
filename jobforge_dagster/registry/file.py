"""The registry file: every declared table, loaded from one YAML file, each entry validated alone.

An entry with a mistake (an unknown field, a wrong type, a bad pattern, no file pattern) is refused with the
registry's line, its table and its field (`problems`); every other entry loads. A file that is not a readable
registry at all (not YAML, no `tables:` list) gives no table and one problem.
"""

import os
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from jobforge_dagster.registry.patterns import PatternIndex
from jobforge_dagster.registry.problems import RegistryProblem, line_of, validate_entry
from jobforge_dagster.registry.spec import TableSpec

#: The bundled sample's registry (data/source), the default.
REGISTRY_FILE = Path(__file__).with_name("sources.yaml")
#: Registries that ship with the package, by name; `$JOBFORGE_REGISTRY` names one of them or a YAML file.
BUNDLED_REGISTRIES = {"sample": REGISTRY_FILE, "noc2021": Path(__file__).with_name("noc2021.yaml")}
REGISTRY_ENV = "JOBFORGE_REGISTRY"
#: PyYAML's safe loader, in C when libyaml is there (the same documents, anchors and merge keys included).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    """All declared tables, loaded from one YAML file, and the entries it refused."""

    model_config = ConfigDict(extra="forbid")

    tables: list[TableSpec] = Field(default_factory=list)
    problems: list[RegistryProblem] = Field(
        default_factory=list, description="Refused entries (one problem per field at fault), or the file's own."
    )

    @model_validator(mode="after")
    def _unique_names(self) -> "SourceRegistry":
        names = [table.name for table in self.tables] + [t.gold_name for t in self.tables if t.gold_name]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"table names declared twice in the registry (names and gold names): {repeated}")
        return self

    @classmethod
    def load(cls, path: Path | str | None = None, name: str | None = None) -> "SourceRegistry":
        """Load a registry (a file, or a bundled one's name; default: `registry_file()`), each entry validated
        alone; top-level `x-...` keys hold YAML anchors and are ignored. Problems name the file `name` (default:
        the file's own name)."""
        resolved = registry_file(str(path) if path else None)
        text, name = resolved.read_text(encoding="utf-8"), name or resolved.name
        try:
            root = yaml.compose(text, Loader=SAFE_LOADER)
            document = SAFE_LOADER("").construct_document(root) if root is not None else None
        except yaml.YAMLError:
            return cls(problems=[yaml_problem(text, name)])
        return cls.from_document(root, document, name)

    @classmethod
    def from_document(cls, root: yaml.Node | None, document: Any, file: str) -> "SourceRegistry":
        """The registry a parsed YAML document declares (`root` its node tree, for line numbers)."""
        if document is None:
            return cls()
        if not isinstance(document, dict):
            return cls(problems=[RegistryProblem(file=file, line=1, message="a registry is a mapping with `tables:`")])
        problems = [
            RegistryProblem(file=file, line=line_of(key), field=key.value, message="not a registry key (`tables:`)")
            for key, _ in root.value
            if key.value != "tables" and not str(key.value).startswith("x-")
        ]
        items, node = document.get("tables"), next((v for k, v in root.value if k.value == "tables"), None)
        if items is None:
            items, node = [], None
        if not isinstance(items, list) or not isinstance(node, yaml.SequenceNode | None):
            line = line_of(node) if node is not None else 1
            return cls(problems=[*problems, RegistryProblem(file=file, line=line, message="`tables:` is not a list")])
        tables: list[TableSpec] = []
        for position, (data, entry) in enumerate(zip(items, node.value if node else [], strict=True)):
            found = validate_entry(data, entry, position, file)
            if isinstance(found, TableSpec) and (taken := name_taken(found, tables)):
                found = [RegistryProblem(file=file, line=line_of(entry), table=found.name, field="name", message=taken)]
            if isinstance(found, TableSpec):
                tables.append(found)
            else:
                problems += found
        return cls(tables=tables, problems=problems)

    @property
    def refused(self) -> dict[str, list[RegistryProblem]]:
        """Refused entries by table: each one's problems."""
        by_table: dict[str, list[RegistryProblem]] = {}
        for problem in self.problems:
            by_table.setdefault(problem.table or "", []).append(problem)
        return by_table

    @cached_property
    def by_name(self) -> dict[str, TableSpec]:
        return {table.name: table for table in self.tables}

    def spec_for(self, relative_path: str) -> TableSpec | None:
        """The first declared table whose pattern matches a path relative to source/."""
        return PatternIndex(self.tables).first(relative_path)


def name_taken(table: TableSpec, earlier: list[TableSpec]) -> str | None:
    """Why `table` cannot have its name or gold name: an earlier entry holds it (the first entry keeps it)."""
    names = {name: other.name for other in earlier for name in (other.name, other.gold_table)}
    for name in dict.fromkeys([table.name, table.gold_table]):
        if name in names:
            return f"the name {name!r} is already taken by table {names[name]!r}, declared before it"
    return None


def yaml_problem(text: str, file: str) -> RegistryProblem:
    """Why `text` is not YAML, as PyYAML's Python parser says it (libyaml words the same problems differently)."""
    try:
        yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = str(getattr(error, "problem", None) or error)
        return RegistryProblem(file=file, line=line, message=f"not valid YAML: {reason}")
    return RegistryProblem(file=file, message="not valid YAML")
