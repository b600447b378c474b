"""The data dictionary in Dagster's UI: asset descriptions (purpose, publisher, licence, edition), owners, and each
gold column's meaning in English and French on the asset spec, where the UI reads it (the materialization sends
names and types only)."""

import dagster as dg

from jobforge_dagster.dictionary.model import default_dictionary
from jobforge_dagster.layers import PROVENANCE_COLUMNS, Layer
from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.orchestration.keys import layer_key
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.conftest import SAMPLE_SOURCES, both_registries


def node(config: DataRoot, layer: Layer, table: str) -> dg.AssetSpec:
    defs = build_definitions(config)
    return next(spec for spec in defs.resolve_all_asset_specs() if spec.key == layer_key(layer, table))


def spec_schema(spec: dg.AssetSpec) -> dict[str, dg.TableColumn]:
    return {column.name: column for column in spec.metadata["dagster/column_schema"].schema.columns}


def test_a_declared_table_says_its_purpose_publisher_licence_and_edition_at_every_layer(config: DataRoot) -> None:
    doc = default_dictionary().table_doc("noc_unit_groups")
    for layer in Layer:
        spec = node(config, layer, "noc_unit_groups")
        assert spec.description is not None
        assert spec.description.startswith(f"{doc.purpose.en}\n\n{doc.purpose.fr}\n\n")
        assert "Publisher: JobForge (sample written by the project)" in spec.description
        assert "Licence: Part of the JobForge repository · Edition: Bundled sample" in spec.description
        assert f"**{layer.value}**:" in spec.description and "Business-ready" not in spec.description
        assert spec.owners == ["team:workforce-data"]


def test_an_undeclared_table_says_it_is_undeclared_and_has_no_owner(config: DataRoot) -> None:
    spec = node(config, Layer.GOLD, "oasis_skills_sample")
    assert spec.description is not None and spec.description.startswith("A source file with no registry entry")
    assert spec.owners == [] and "dagster/column_schema" not in spec.metadata


def test_every_documented_gold_column_is_on_the_spec_in_both_languages() -> None:
    """Every declared gold table of the registry (and the OaSIS attribute dimension), whatever files exist."""
    config = DataRoot(data_root="/nonexistent/jobforge", source_root=str(SAMPLE_SOURCES))
    registry = both_registries()
    specs = {spec.key: spec for spec in build_definitions(config, registry).resolve_all_asset_specs()}
    tables = {spec.gold_table for spec in registry.tables} | {"dim_oasis_attribute"}
    for table in tables:
        schema = spec_schema(specs[layer_key(Layer.GOLD, table)])
        assert list(schema) == [*default_dictionary().table_entry(table).columns, *PROVENANCE_COLUMNS], table
        for name, column in schema.items():
            english, french = column.description.split("\n\n")
            doc = default_dictionary().column_doc(table, name)
            assert english.startswith(doc.description_en) and french.startswith(doc.description_fr), (table, name)
    title = spec_schema(specs[layer_key(Layer.GOLD, "dim_noc")])["parent_code"].description
    assert "Null: The group is a broad category (level 1) and has no parent." in title
    assert "Renvoie à : dim_noc.noc_code." in title


def test_materializations_send_types_and_leave_declared_descriptions_to_the_spec(config: DataRoot, run) -> None:
    result = run(config)
    schemas = {
        event.asset_key.to_user_string(): event.materialization.metadata["dagster/column_schema"].schema
        for event in result.get_asset_materialization_events()
    }
    declared = {column.name: column for column in schemas["gold/noc_unit_groups"].columns}
    assert declared["noc_code"].type == "String" and declared["noc_code"].description is None
    undeclared = {column.name: column for column in schemas["gold/oasis_skills_sample"].columns}
    assert undeclared["reading_comprehension"].description.startswith('Column "Reading Comprehension" of a source')
    assert all(column.description is None for column in schemas["silver/noc_unit_groups"].columns)
