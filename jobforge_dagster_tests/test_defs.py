"""Loading the Definitions catches broken imports and graph mistakes first."""

import dagster as dg

from jobforge_dagster import defs
from jobforge_dagster.definitions import build_definitions
from jobforge_dagster.layers import LAYERS


def test_module_level_defs_load() -> None:
    assert isinstance(defs, dg.Definitions)
    assert defs.resolve_job_def("medallion_pipeline") is not None


def test_four_assets_per_table_each_built_from_the_one_before(config) -> None:
    graph = build_definitions(config).resolve_asset_graph()
    keys = {key for key in graph.get_all_asset_keys()}
    for table in ("noc_unit_groups", "oasis_skills_sample"):
        layer_keys = [dg.AssetKey([layer.value, table]) for layer in LAYERS]
        assert set(layer_keys) <= keys
        for previous, current in zip(layer_keys, layer_keys[1:], strict=False):
            assert graph.get(current).parent_keys == {previous}
        assert graph.get(layer_keys[0]).parent_keys == set()
