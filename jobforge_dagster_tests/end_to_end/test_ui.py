"""The real Dagster UI in headless Chromium: the asset graph and an asset's page show what matters."""

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from jobforge_dagster_tests.conftest import REPO


def load_script():
    spec = importlib.util.spec_from_file_location("ui_screenshots", REPO / "scripts" / "ui_screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    not (shutil.which("chromium") or shutil.which("chromium-browser")),
    reason="Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)",
)
def test_ui_after_a_no_change_run_shows_layers_passed_checks_and_the_published_batch(tmp_path: Path) -> None:
    """The page a user opens on most days: every table current after the second run of the sample."""
    saved = load_script().main(tmp_path)
    assert [path.name for path in saved] == [f"{name}.png" for name in load_script().PAGES]
    for png in saved:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    graph = (tmp_path / "asset-graph-noc.dom.txt").read_text()
    for text in ("noc_unit_groups", "staged", "Bronze", "Silver", "Gold", "2 / 2 Passed"):  # layer kinds, checks
        assert text in graph, text
    assert "dim_noc" not in graph  # the sample's registry declares only what it can build
    page = (tmp_path / "asset-gold-noc_unit_groups.dom.txt").read_text()
    for text in ("Row count", "noc_code", "_source_row", "_batch_id", "non-nullable"):
        assert text in page, text
    events = (tmp_path / "asset-gold-noc_unit_groups-events.dom.txt").read_text()
    for text in ("Materialized", "jobforge/status", "current", "batch_id", "gold/noc_unit_groups.parquet"):
        assert text in events, text
    checks = (tmp_path / "asset-gold-noc_unit_groups-checks.dom.txt").read_text()
    for text in ("Passed", "re-reported for batch noc_unit_groups-"):
        assert text in checks, text
    assert "Skipped" not in checks
    assets = json.loads((tmp_path / "assets.json").read_text())
    never = [a["assetKey"]["path"] for a in assets if not (a["isObservable"] or a["assetMaterializations"])]
    assert len(assets) > 10 and never == [["bronze", "new_files"], ["gold", "new_files"], ["silver", "new_files"],
                                          ["staged", "new_files"]]  # partitioned, with no file arrived yet
    assert "Join the Dagster community" not in page
