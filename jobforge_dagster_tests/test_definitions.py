"""Loading the Definitions catches broken imports and graph mistakes first; the asset-spec snapshot shows
every change to the asset graph in review.

After an intended change to the graph:
`JOBFORGE_UPDATE_SNAPSHOT=1 .venv/bin/pytest jobforge_dagster_tests/test_defs.py`.
"""

import json
import os
from pathlib import Path
from typing import Any

import dagster as dg

import jobforge_dagster
from jobforge_dagster.layers import LAYERS
from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.conftest import both_registries

SNAPSHOT = Path(__file__).with_name("snapshots") / "asset_specs.json"


def test_the_package_entry_point_loads_the_component(monkeypatch, config: DataRoot) -> None:
    """`dagster ... -m jobforge_dagster` finds the lazy `defs`; the Component reads the data root from the env."""
    monkeypatch.setenv("JOBFORGE_DATA_ROOT", config.data_root)
    monkeypatch.delenv("JOBFORGE_SOURCE_ROOT", raising=False)
    defs = jobforge_dagster.defs()
    job = defs.resolve_job_def("medallion_pipeline")
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} >= {
        "gold/noc_unit_groups",
        "staged/oasis_skills_sample",
    }
    targets = [target.job_name for target in defs.resolve_sensor_def("new_source_files").targets]
    assert targets == ["table_refresh", "new_file_refresh"]


def test_four_assets_per_table_each_built_from_the_one_before(config: DataRoot) -> None:
    graph = build_definitions(config).resolve_asset_graph()
    for table in ("noc_unit_groups", "oasis_skills_sample"):
        layer_keys = [dg.AssetKey([layer.value, table]) for layer in LAYERS]
        for previous, current in zip(layer_keys, layer_keys[1:], strict=False):
            assert graph.get(current).parent_keys == {previous}
        assert graph.get(layer_keys[0]).parent_keys == {dg.AssetKey(["source", table])}  # its observable file


def asset_specs(defs: dg.Definitions) -> dict[str, Any]:
    """Keys, groups, kinds, parents, checks and pools of every asset: what a reviewer should see change."""
    graph = defs.resolve_asset_graph()
    specs = {}
    for key in sorted(graph.get_all_asset_keys(), key=dg.AssetKey.to_user_string):
        node = graph.get(key)
        specs[key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "parents": sorted(parent.to_user_string() for parent in node.parent_keys),
            "checks": sorted(check.name for check in node.check_keys),
            "pools": sorted(node.pools or []),
        }
    return specs


def test_asset_specs_match_the_snapshot(tmp_path: Path) -> None:
    """Both bundled registries over an empty data root: every declared table's assets and checks."""
    specs = asset_specs(build_definitions(DataRoot(data_root=str(tmp_path)), both_registries()))
    if os.environ.get("JOBFORGE_UPDATE_SNAPSHOT"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(specs, indent=1, sort_keys=True) + "\n")
    assert specs == json.loads(SNAPSHOT.read_text()), "the asset graph changed: review, then update the snapshot"
