"""The real Dagster UI in headless Chromium: the asset graph and an asset's page show what matters."""

import importlib.util
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
def test_ui_shows_layers_row_counts_schema_and_batch(tmp_path: Path) -> None:
    saved = load_script().main(tmp_path)
    assert [path.name for path in saved] == [f"{name}.png" for name in load_script().PAGES]
    for png in saved:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    graph = (tmp_path / "asset-graph-noc.dom.txt").read_text()
    assert "noc_unit_groups" in graph and "dim_noc" in graph
    page = (tmp_path / "asset-gold-noc_unit_groups.dom.txt").read_text()
    for text in ("Row count", "noc_code", "_source_row", "_batch_id", "non-nullable"):
        assert text in page, text
    events = (tmp_path / "asset-gold-noc_unit_groups-events.dom.txt").read_text()
    for text in ("batch_id", "source_sha256", "rows_in", "rows_out", "transforms", "silver/noc_unit_groups.parquet"):
        assert text in events, text
    assert "Join the Dagster community" not in page
