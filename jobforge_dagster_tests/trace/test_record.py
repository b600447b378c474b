"""A traced row's layers: a row of a model built across tables (`dim_oasis_attribute`, from the rating tables'
header records) shows the transition that built it, not the gold of the table its header came from."""

from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import Layer
from jobforge_dagster.registry.names import OASIS_ATTRIBUTE
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.trace.report import render
from jobforge_dagster_tests.trace.test_tracer import built, trace  # noqa: F401 (fixture)


def test_a_dim_oasis_attribute_row_shows_the_transition_that_built_it(built: DataRoot) -> None:
    (found,) = trace(built, OASIS_ATTRIBUTE, "attribute = 'writing'")
    (log,) = [
        log
        for log in CatalogManager(built).get_lineage_logs(table=OASIS_ATTRIBUTE)
        if log.target_layer == Layer.GOLD.value
    ]
    assert log.batch_id.startswith(f"{OASIS_ATTRIBUTE}-")
    assert [layer["layer"] for layer in found["layers"]] == ["staged", "gold"]
    staged, gold = found["layers"]
    assert staged["file"] == "staged/oasis_skills_sample.parquet"
    assert (gold["file"], gold["batch_id"], gold["run_id"]) == (
        f"gold/{OASIS_ATTRIBUTE}.parquet",
        log.batch_id,
        log.run_id,
    )
    assert gold["transforms"] == log.transforms_applied and "gold transform: oasis_long" not in gold["transforms"]
    assert found["run_id"] == log.run_id
    report = render([found], as_json=False)
    assert f"  gold: gold/{OASIS_ATTRIBUTE}.parquet\n    - rating headers of each OaSIS table" in report
    assert "bronze:" not in report


def test_a_row_of_a_registry_table_keeps_its_four_layers(built: DataRoot) -> None:
    (found,) = trace(built, "noc_unit_groups", "noc_code = '00012'")
    assert [layer["layer"] for layer in found["layers"]] == ["staged", "bronze", "silver", "gold"]
    assert found["layers"][-1]["transforms"] == ["gold transform: identity"]
