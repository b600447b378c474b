"""The registry reference in docs/adding-a-source.md is the one the models generate, and every field in it has a
description and an example that the registry accepts."""

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from jobforge_dagster.registry.reference import SECTIONS, flow, reference_markdown, with_reference
from jobforge_dagster.registry.spec import TableSpec

DOC = Path(__file__).resolve().parents[2] / "docs" / "adding-a-source.md"
ENTRY = {"name": "t", "pattern": "t.csv"}


def test_the_documented_reference_is_the_generated_one() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert reference_markdown() in text, "docs disagree with the models: python -m jobforge_dagster.registry.reference"
    assert with_reference(text) == text


def test_every_field_of_every_model_is_in_the_reference() -> None:
    markdown = reference_markdown()
    for model, _ in SECTIONS:
        for name in model.model_fields:
            assert f"| `{name}` |" in markdown.split(f"#### {model.__name__}:")[1].split("####")[0], name


@pytest.mark.parametrize(("model", "name"), [(m, n) for m, _ in SECTIONS for n in m.model_fields])
def test_each_fields_example_is_accepted(model: type[BaseModel], name: str) -> None:
    field = model.model_fields[name]
    assert field.description and field.examples, f"{model.__name__}.{name} needs a description and an example"
    example = yaml.safe_load(f"{name}: {flow(field.examples[0])}")  # as the reference writes it
    assert example == {name: field.examples[0]}
    required = {key: value.examples[0] for key, value in model.model_fields.items() if value.is_required()}
    model.model_validate(({**ENTRY} if model is TableSpec else required) | example)
