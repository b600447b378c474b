"""What is wrong with a registry entry, said where it is: the registry file and its line, the table, the field,
and the nearest valid field name for one that does not exist (`seperator` -> `separator`).

Each entry of `tables:` is validated alone, so one mistake refuses that entry and no other.
"""

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jobforge_dagster.registry.spec import TableSpec


class RegistryProblem(BaseModel):
    """One thing wrong in a registry file: a refused entry's field, or the file itself."""

    model_config = ConfigDict(frozen=True)

    file: str = Field(description="The registry file's name, e.g. `sources.yaml`.")
    line: int | None = Field(default=None, description="1-based line of the field (or entry) at fault.")
    table: str | None = Field(default=None, description="The refused entry's name (or its position, unnamed).")
    field: str | None = Field(default=None, description="The field at fault, dotted: `checks.code_formats`.")
    message: str
    nearest: str | None = Field(default=None, description="The valid field name nearest an unknown one.")
    pattern: str | None = Field(default=None, description="The refused entry's file pattern, if it has a valid one.")

    def __str__(self) -> str:
        named = (
            (f"line {self.line}", self.line),
            (f"table {self.table!r}", self.table),
            (f"field {self.field!r}", self.field),
        )
        where = [self.file, *(said for said, value in named if value is not None)]
        hint = f"; did you mean {self.nearest!r}?" if self.nearest else ""
        return f"{', '.join(where)}: {self.message}{hint}"


def line_of(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def child(node: yaml.Node | None, key: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """(key node, value node) of `key` in a mapping node (its own keys first, then those it merges with `<<`), or
    (item node, item node) of index `key` in a sequence node."""
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key], node.value[key]
    if not isinstance(node, yaml.MappingNode):
        return None
    merged: list[yaml.Node] = []
    for key_node, value_node in node.value:
        if key_node.value == "<<":
            merged += value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        elif key_node.value == key:
            return key_node, value_node
    return next((found for other in merged if (found := child(other, key)) is not None), None)


def locate(entry: yaml.Node, loc: Sequence[str | int]) -> tuple[int, list[str | int]]:
    """The line of the deepest key of `loc` found in the entry's node, and the part of `loc` found there."""
    line, found, node = line_of(entry), [], entry
    for key in loc:
        pair = child(node, key)
        if pair is None:
            break
        line, node = line_of(pair[0]), pair[1]
        found.append(key)
    return line, found


def model_at(model: type[BaseModel], path: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model a field path leads into (`checks` -> TableChecks, `rules.0` -> SilverRule), if any."""
    for key in path:
        if isinstance(key, int):
            continue
        field = model.model_fields.get(key)
        if field is None:
            return None
        inner = [arg for arg in nested_types(field.annotation) if isinstance(arg, type) and issubclass(arg, BaseModel)]
        if not inner:
            return None
        model = inner[0]
    return model


def nested_types(annotation: Any) -> list[Any]:
    """`list[SilverRule] | None` -> [list[SilverRule], SilverRule, None]: the types an annotation holds."""
    found = [annotation]
    if typing.get_origin(annotation) in (list, dict, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found += nested_types(arg)
    return found


def nearest(name: str, model: type[BaseModel] | None) -> str | None:
    """The valid field of `model` closest to an unknown field `name` (`seperator` -> `separator`)."""
    if model is None:
        return None
    close = difflib.get_close_matches(name, list(model.model_fields), n=1, cutoff=0.6)
    return close[0] if close else None


def entry_name(data: Any, position: int) -> str:
    """An entry's table name, or its position when it has no usable name."""
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name else f"entry {position + 1} of tables"


def field_problem(error: dict, entry: yaml.Node, file: str, table: str) -> RegistryProblem:
    """A pydantic error of one entry as a problem at its line, naming the field."""
    line, found = locate(entry, error["loc"])
    path = ".".join(str(key) for key in (found if error["type"] != "missing" else error["loc"]))
    message = error["msg"].removeprefix("Value error, ")
    suggestion = None
    if error["type"] == "extra_forbidden":
        message = "not a registry field"
        suggestion = nearest(str(error["loc"][-1]), model_at(TableSpec, error["loc"][:-1]))
    elif error["type"] == "missing":
        message = "missing: every entry needs it" if path in ("name", "pattern") else "missing"
    return RegistryProblem(file=file, line=line, table=table, field=path or None, message=message, nearest=suggestion)


def validate_entry(data: Any, entry: yaml.Node, position: int, file: str) -> TableSpec | list[RegistryProblem]:
    """One `tables:` item as a TableSpec, or its problems (each error once per field)."""
    table = entry_name(data, position)
    if not isinstance(data, dict):
        return [RegistryProblem(file=file, line=line_of(entry), table=table, message="an entry is a mapping of fields")]
    try:
        spec = TableSpec.model_validate(data)
    except ValidationError as error:
        found: dict[tuple[str | None, int | None], RegistryProblem] = {}
        for detail in error.errors():
            problem = field_problem(detail, entry, file, table)
            found.setdefault((problem.field, problem.line), problem)
        pattern = data.get("pattern") if isinstance(data.get("pattern"), str) else None
        claimed = pattern if not any(problem.field == "pattern" for problem in found.values()) else None
        return [problem.model_copy(update={"pattern": claimed}) for problem in found.values()]
    if not spec.pattern.strip():
        line, _ = locate(entry, ["pattern"])
        empty = "empty: a glob of the table's file under source/, e.g. `my_file.csv` or `sub/*.csv`"
        return [RegistryProblem(file=file, line=line, table=table, field="pattern", message=empty)]
    return spec
