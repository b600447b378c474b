"""The provenance IO manager: polars 2 reads, atomic writes, `_layer` stamping, catalog mirroring."""

from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from dagster_polars import PolarsParquetIOManager

from jobforge_dagster.catalog import CatalogManager
from jobforge_dagster.config import JobForgeConfig
from jobforge_dagster.io_manager import ProvenanceParquetIOManager
from jobforge_dagster.layers import LAYER, Layer


def materialize(config: JobForgeConfig, assets: list, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets,
        resources={"io_manager": ProvenanceParquetIOManager(jobforge=config), "jobforge": config},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=raise_on_error,
    )


@pytest.fixture
def empty_config(tmp_path: Path) -> JobForgeConfig:
    return JobForgeConfig(data_root=str(tmp_path / "data"))


@dg.asset(key=["silver", "codes"])
def codes() -> pl.DataFrame:
    return pl.DataFrame({"code": ["00010", "00011"], "title": ["Legislators", "Senior government managers"]})


@dg.asset(key=["gold", "codes"], ins={"codes": dg.AssetIn(key=["silver", "codes"])})
def gold_codes(codes: pl.LazyFrame) -> pl.LazyFrame:
    assert isinstance(codes, pl.LazyFrame)
    return codes.filter(pl.col("code") == "00010")


def test_dagster_polars_scan_fails_on_polars_2(tmp_path: Path) -> None:
    """Why the override exists: the upstream reader passes arguments polars 2 removed."""
    path = tmp_path / "t.parquet"
    pl.DataFrame({"a": [1]}).write_parquet(path)
    from upath import UPath

    context = dg.build_input_context(asset_key=dg.AssetKey(["silver", "t"]))
    upstream = PolarsParquetIOManager(base_dir=str(tmp_path))
    upstream.setup_for_execution(dg.build_init_resource_context())
    with pytest.raises(TypeError, match="rechunk|retries"):
        upstream.scan_df_from_path(UPath(path), context)
    ours = ProvenanceParquetIOManager(jobforge=JobForgeConfig(data_root=str(tmp_path)))
    assert ours.scan_df_from_path(UPath(path), context).collect()["a"].to_list() == [1]


def test_writes_layer_files_and_loads_inputs_lazily(empty_config: JobForgeConfig) -> None:
    result = materialize(empty_config, [codes, gold_codes])
    assert result.success
    silver = pl.read_parquet(empty_config.table_path(Layer.SILVER, "codes"))
    gold = pl.read_parquet(empty_config.table_path(Layer.GOLD, "codes"))
    assert silver[LAYER].to_list() == ["silver", "silver"]
    assert gold.columns == ["code", "title", LAYER]  # provenance columns come last
    assert gold[LAYER].to_list() == ["gold"] and gold["code"].to_list() == ["00010"]
    metadata = result.asset_materializations_for_node("gold__codes")[0].metadata
    assert metadata["dagster/row_count"].value == 1
    assert [c.name for c in metadata["dagster/column_schema"].value.columns] == ["code", "title", LAYER]
    # catalog mirrored for every write
    tables = CatalogManager(empty_config).list_tables()
    assert {(t.layer, t.table_name, t.row_count) for t in tables} == {("silver", "codes", 2), ("gold", "codes", 1)}


def test_parquet_is_zstd(empty_config: JobForgeConfig) -> None:
    import pyarrow.parquet as pq

    materialize(empty_config, [codes])
    footer = pq.read_metadata(empty_config.table_path(Layer.SILVER, "codes"))
    assert footer.row_group(0).column(0).compression == "ZSTD"


def test_failed_write_keeps_previous_file_and_leaves_no_partial_file(empty_config: JobForgeConfig) -> None:
    materialize(empty_config, [codes])
    path = empty_config.table_path(Layer.SILVER, "codes")
    before = path.read_bytes()

    @dg.asset(key=["silver", "codes"])
    def broken() -> pl.LazyFrame:
        # fails only when the IO manager streams it to disk
        return pl.LazyFrame({"code": ["x"]}).select(pl.col("code").cast(pl.Int64, strict=True))

    result = materialize(empty_config, [broken], raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "silver/codes.parquet" in str(failure.cause or failure)
    assert path.read_bytes() == before
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]


def test_asset_key_must_name_a_layer(empty_config: JobForgeConfig) -> None:
    @dg.asset(key=["platinum", "codes"])
    def wrong() -> pl.DataFrame:
        return pl.DataFrame({"a": [1]})

    result = materialize(empty_config, [wrong], raise_on_error=False)
    assert not result.success
    assert "layer" in str(result.get_step_failure_events()[0].step_failure_data.error)
