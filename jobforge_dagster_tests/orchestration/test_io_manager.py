"""The layer IO manager: the LayerOutput contract, atomic writes, `_layer` stamping, catalog and lineage."""

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from jobforge_dagster.build.output import LayerOutput
from jobforge_dagster.catalog.models import CatalogEntry, TransitionFacts, TransitionStatus
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import LAYER, Layer
from jobforge_dagster.orchestration.io_manager import LayerIOManager
from jobforge_dagster.orchestration.resources import DataRootResource, LineageResource
from jobforge_dagster.storage.data_root import DataRoot


def materialize(root: DataRoot, assets: list, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    data_root = DataRootResource.of(root)
    return dg.materialize(
        assets,
        resources={
            "io_manager": LayerIOManager(data_root=data_root, lineage=LineageResource(data_root=data_root)),
            "data_root": data_root,
        },
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=raise_on_error,
    )


def output(frame: pl.LazyFrame | pl.DataFrame, layer: Layer, domain: str = "noc") -> LayerOutput:
    facts = TransitionFacts(
        table="codes",
        target_layer=layer.value,
        batch_id="codes-000000000000",
        source_sha256="0" * 64,
        source_layer=layer.previous.value if layer.previous else "source",
        source_files=["source/codes.csv"],
        rows_in=2,
        transforms=["test transform"],
    )
    return LayerOutput(frame, facts, CatalogEntry(domain=domain, retention_batches=None))


@pytest.fixture
def root(tmp_path: Path) -> DataRoot:
    return DataRoot(data_root=str(tmp_path / "data"))


@dg.asset(key=["silver", "codes"], metadata={"domain": "display only"})
def codes() -> LayerOutput:
    frame = pl.DataFrame({"code": ["00010", "00011"], "title": ["Legislators", "Senior government managers"]})
    return output(frame, Layer.SILVER)


@dg.asset(key=["gold", "codes"], ins={"codes": dg.AssetIn(key=["silver", "codes"])})
def gold_codes(codes: pl.LazyFrame) -> LayerOutput:
    assert isinstance(codes, pl.LazyFrame)  # inputs load lazily
    return output(codes.filter(pl.col("code") == "00010").drop(LAYER), Layer.GOLD)


def test_writes_layer_files_catalog_and_lineage(root: DataRoot) -> None:
    result = materialize(root, [codes, gold_codes])
    silver = pl.read_parquet(root.table_path(Layer.SILVER, "codes"))
    gold = pl.read_parquet(root.table_path(Layer.GOLD, "codes"))
    assert silver[LAYER].to_list() == ["silver", "silver"]
    assert gold.columns == ["code", "title", LAYER]
    assert gold["code"].to_list() == ["00010"]
    metadata = result.asset_materializations_for_node("gold__codes")[0].metadata
    assert metadata["dagster/row_count"].value == 1
    assert metadata["batch_id"].value == "codes-000000000000"
    tables = CatalogManager(root).list_tables()
    assert {(t.layer, t.table_name, t.row_count, t.domain) for t in tables} == {
        ("silver", "codes", 2, "noc"),
        ("gold", "codes", 1, "noc"),
    }, "the catalog entry comes from the LayerOutput, never from definition metadata"
    logs = CatalogManager(root).get_lineage_logs(table="codes")
    assert [(log.target_layer, log.row_count_in, log.row_count_out) for log in logs] == [
        ("silver", 2, 2),
        ("gold", 2, 1),
    ]
    assert root.batch_path(Layer.SILVER, "codes", "codes-000000000000").exists()
    assert not root.batch_path(Layer.GOLD, "codes", "codes-000000000000").exists(), "gold keeps no history"


def test_parquet_is_zstd_and_stamped_with_its_batch(root: DataRoot) -> None:
    import pyarrow.parquet as pq

    materialize(root, [codes])
    footer = pq.read_metadata(root.table_path(Layer.SILVER, "codes"))
    assert footer.row_group(0).column(0).compression == "ZSTD"
    assert footer.metadata[b"jobforge.batch_id"] == b"codes-000000000000"


def test_failed_write_keeps_previous_file_and_logs_the_failure(root: DataRoot) -> None:
    materialize(root, [codes])
    path = root.table_path(Layer.SILVER, "codes")
    before = path.read_bytes()

    @dg.asset(key=["silver", "codes"])
    def broken() -> LayerOutput:
        # fails only when the IO manager streams it to disk
        return output(pl.LazyFrame({"code": ["x"]}).select(pl.col("code").cast(pl.Int64, strict=True)), Layer.SILVER)

    result = materialize(root, [broken], raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "source/codes.csv -> silver/codes.parquet" in str(failure.cause or failure)
    assert path.read_bytes() == before
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]
    statuses = [log.status for log in CatalogManager(root).get_lineage_logs(table="codes")]
    assert statuses == [TransitionStatus.SUCCESS, TransitionStatus.FAILED]


def test_only_a_layer_output_is_written(root: DataRoot) -> None:
    @dg.asset(key=["silver", "codes"])
    def bare() -> pl.DataFrame:
        return pl.DataFrame({"a": [1]})

    result = materialize(root, [bare], raise_on_error=False)
    assert "expected a LayerOutput, got DataFrame" in str(result.get_step_failure_events()[0].step_failure_data.error)
    assert not root.table_path(Layer.SILVER, "codes").exists()


def test_asset_key_must_name_a_layer(root: DataRoot) -> None:
    @dg.asset(key=["platinum", "codes"])
    def wrong() -> LayerOutput:
        return output(pl.DataFrame({"a": [1]}), Layer.SILVER)

    result = materialize(root, [wrong], raise_on_error=False)
    assert "is not [layer, table]" in str(result.get_step_failure_events()[0].step_failure_data.error)
