"""End to end on the bundled sample: files, provenance, lineage and gold queries."""

import polars as pl

from jobforge_dagster.catalog.models import TransitionStatus
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import LAYERS, PROVENANCE_COLUMNS, SOURCE_FILE, Layer
from jobforge_dagster.query.engine import GoldQueryEngine

SAMPLE = "noc_unit_groups"
SAMPLE_FILE = "source/noc_unit_groups_sample.csv"


def test_full_pipeline_flow(config, run) -> None:
    result = run(config)
    assert result.success
    for layer in LAYERS:
        path = config.table_path(layer, SAMPLE)
        assert path.exists(), path
        frame = pl.read_parquet(path)
        assert set(PROVENANCE_COLUMNS) <= set(frame.columns)
        assert frame[SOURCE_FILE].unique().to_list() == [SAMPLE_FILE]
        assert frame["_layer"].unique().to_list() == [layer.value]
    staged = pl.read_parquet(config.table_path(Layer.STAGED, SAMPLE))
    assert staged.columns[0] == "Code - NOC 2021 V1.0"  # byte order mark stripped, header kept
    assert staged["Code - NOC 2021 V1.0"][0] == "00010"
    assert staged["_source_row"].to_list() == list(range(1, staged.height + 1))
    gold = pl.read_parquet(config.table_path(Layer.GOLD, SAMPLE))
    assert gold.schema["teer"] == pl.Int8
    assert gold.filter(pl.col("noc_code") == "00012")["title_en"][0] == (
        "Senior managers - financial, communications and other business services"
    )
    assert "Législateurs/législatrices" in gold["title_fr"].to_list()
    # no temporary file is left beside the outputs
    assert not list(config.root.rglob("*.tmp"))


def test_layer_transitions_logged(config, run) -> None:
    run(config)
    catalog = CatalogManager(config)
    gold = pl.read_parquet(config.table_path(Layer.GOLD, SAMPLE))
    batch_id = gold["_batch_id"][0]
    logs = catalog.get_lineage_logs(batch_id=batch_id)
    assert [(log.source_layer, log.target_layer) for log in logs] == [
        ("source", "staged"),
        ("staged", "bronze"),
        ("bronze", "silver"),
        ("silver", "gold"),
    ]
    source_rows = 12
    for log in logs:
        assert log.status is TransitionStatus.SUCCESS
        assert log.row_count_out == source_rows
        assert log.batch_id == batch_id
        assert log.source_sha256 == catalog.get_batch(batch_id).sha256
    assert [log.row_count_in for log in logs] == [source_rows] * 4  # the CSV validation counts source records
    assert logs[0].source_files == [SAMPLE_FILE]
    assert logs[-1].target_file == f"gold/{SAMPLE}.parquet"
    assert any("cast teer to Int8" in step for step in logs[1].transforms_applied)
    tables = {(meta.layer, meta.table_name): meta for meta in catalog.list_tables()}
    assert tables[("gold", SAMPLE)].row_count == source_rows
    assert tables[("gold", SAMPLE)].domain == "noc"
    assert catalog.list_tables(layer="gold") and all(m.layer == "gold" for m in catalog.list_tables(layer="gold"))


def test_gold_queryable_via_duckdb(config, run) -> None:
    run(config)
    gold = pl.read_parquet(config.table_path(Layer.GOLD, SAMPLE))
    with GoldQueryEngine(config) as engine:
        assert engine.list_tables() == ["noc_unit_groups", "oasis_skills_sample"]
        count = engine.query(f"SELECT COUNT(*) AS n FROM {SAMPLE}")["n"][0]
        assert count == gold.height
        files = engine.query(f"SELECT DISTINCT _source_file FROM {SAMPLE}")["_source_file"].to_list()
        assert files == [SAMPLE_FILE]
        assert files[0].rsplit("/", 1)[-1] == "noc_unit_groups_sample.csv"


def test_provenance_columns_present(config, run) -> None:
    run(config)
    with GoldQueryEngine(config) as engine:
        frame = engine.query(f"SELECT * FROM {SAMPLE}")
    assert set(PROVENANCE_COLUMNS) <= set(frame.columns)
    assert frame["_layer"].unique().to_list() == ["gold"]
    assert frame.select(pl.col(list(PROVENANCE_COLUMNS)).null_count()).sum_horizontal()[0] == 0


def test_materialization_metadata_in_dagster(config, run) -> None:
    result = run(config)
    events = {
        event.asset_key.to_user_string(): event.event_specific_data.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    gold = events[f"gold/{SAMPLE}"]
    assert gold["dagster/row_count"].value == 12
    assert [column.name for column in gold["dagster/column_schema"].value.columns][:2] == [
        "noc_code",
        "title_en",
    ]
    assert gold["batch_id"].value.startswith(f"{SAMPLE}-")
    assert gold["rows_in"].value == 12 and gold["rows_out"].value == 12
    bronze = events[f"bronze/{SAMPLE}"]
    lineage = bronze["dagster/column_lineage"].value
    assert lineage.deps_by_column["noc_code"][0].column_name == "Code - NOC 2021 V1.0"
    assert events[f"staged/{SAMPLE}"]["dagster/uri"].value.startswith("file://")


def test_unregistered_file_flows_with_defaults(config, run) -> None:
    run(config)
    gold = pl.read_parquet(config.table_path(Layer.GOLD, "oasis_skills_sample"))
    # padded headers and a non-breaking space become clean snake_case names
    assert gold.columns[:7] == [
        "oasis_code_final",
        "oasis_label_final",
        "reading_comprehension",
        "writing",
        "numeracy",
        "digital_literacy",
        "active_learning",
    ]
    assert gold["oasis_code_final"][0] == "00010.00"  # a code stays text: as a number it would read 10.0
    assert gold.schema["writing"] == pl.Int64  # every rating reads back as the same text, so it is inferred
    assert gold["writing"].to_list() == [4, 4, 4, 3, 3, 2]


def test_single_layer_can_be_rebuilt_from_the_one_before(config, run) -> None:
    import dagster as dg

    run(config)
    before = pl.read_parquet(config.table_path(Layer.SILVER, SAMPLE))
    result = run(config, selection=[dg.AssetKey(["gold", SAMPLE])], force=True)
    assert result.success
    materialized = [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()]
    assert materialized == [f"gold/{SAMPLE}"]
    gold = pl.read_parquet(config.table_path(Layer.GOLD, SAMPLE))
    assert gold.drop("_layer").equals(before.drop("_layer"))
