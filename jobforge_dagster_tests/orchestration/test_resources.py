"""GoldQueryResource: one query engine per Dagster run, and the distinct values foreign-key checks need."""

from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from dagster_duckdb import DuckDBResource

from jobforge_dagster.errors import QueryError
from jobforge_dagster.layers import Layer
from jobforge_dagster.orchestration.resources import DataRootResource, GoldQueryResource
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.conftest import bounded, run_job


@pytest.fixture
def gold(tmp_path: Path) -> Path:
    folder = tmp_path / "data" / "gold"
    folder.mkdir(parents=True)
    pl.DataFrame({"noc_code": ["00010", "00011", "00010", None]}).write_parquet(folder / "dim_noc.parquet")
    return folder


def test_distinct_values_inside_an_asset(gold: Path) -> None:
    seen: dict[str, object] = {}

    @dg.asset
    def fk_probe(gold_query: GoldQueryResource) -> None:
        seen["codes"] = gold_query.distinct_values("dim_noc", "noc_code")
        pl.DataFrame({"code": ["a"]}).write_parquet(gold / "written_during_run.parquet")
        seen["later"] = gold_query.distinct_values("written_during_run", "code")  # views are refreshed
        replacement = gold / ".dim_noc.parquet.tmp"
        pl.DataFrame({"noc_code": ["99999"]}).write_parquet(replacement)
        replacement.replace(gold / "dim_noc.parquet")  # a run replaced dim_noc: the kept answer is not reused
        seen["replaced"] = gold_query.distinct_values("dim_noc", "noc_code")
        seen["engine"] = gold_query.engine

    resource = GoldQueryResource(
        data_root=DataRootResource(data_root=str(gold.parent)),
        duckdb=DuckDBResource(database=":memory:"),
        timeout_seconds=10,
        max_rows=100,
    )
    assert dg.materialize([fk_probe], resources={"gold_query": resource}).success
    codes = seen["codes"]
    assert isinstance(codes, pl.DataFrame) and codes.columns == ["noc_code"]
    assert set(codes["noc_code"].to_list()) == {"00010", "00011", None} and codes.height == 3
    assert seen["later"]["code"].to_list() == ["a"]
    assert seen["replaced"]["noc_code"].to_list() == ["99999"]
    engine = seen["engine"]
    assert isinstance(engine, GoldQueryEngine) and engine.max_rows == 100
    assert not engine.temp_dir.exists()  # closed when the run ended


def test_a_run_that_asks_nothing_opens_no_engine(gold: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine (a DuckDB connection and a view per gold table) is opened on the run's first question only."""
    opened: list[GoldQueryEngine] = []
    open_engine = GoldQueryResource.open_engine

    def counted(self: GoldQueryResource) -> GoldQueryEngine:
        opened.append(open_engine(self))
        return opened[-1]

    monkeypatch.setattr(GoldQueryResource, "open_engine", counted)

    @dg.asset
    def silent(gold_query: GoldQueryResource) -> None:
        pass

    @dg.asset
    def asking(gold_query: GoldQueryResource) -> None:
        gold_query.distinct_values("dim_noc", "noc_code")
        gold_query.query("SELECT 1 AS one")

    resource = GoldQueryResource(
        data_root=DataRootResource(data_root=str(gold.parent)), duckdb=DuckDBResource(database=":memory:")
    )
    assert dg.materialize([silent], resources={"gold_query": resource}).success
    assert opened == []
    assert dg.materialize([asking], resources={"gold_query": resource}).success
    assert len(opened) == 1  # both questions on one engine
    assert not opened[0].temp_dir.exists()  # closed when the run ended


def test_build_resources_and_errors(gold: Path) -> None:
    resource = GoldQueryResource(
        data_root=DataRootResource(data_root=str(gold.parent)), duckdb=DuckDBResource(database=":memory:")
    )
    with pytest.raises(QueryError, match="inside a Dagster run"):
        resource.distinct_values("dim_noc", "noc_code")
    with dg.build_resources({"gold_query": resource}) as resources:
        with pytest.raises(QueryError, match="failed"):  # the column is one quoted identifier, not SQL
            resources.gold_query.distinct_values("dim_noc", 'noc_code"; DROP VIEW dim_noc; --')
        with pytest.raises(QueryError, match="no gold table 'missing'"):
            resources.gold_query.distinct_values("missing", "x")
        with pytest.raises(QueryError, match="failed"):
            resources.gold_query.distinct_values("dim_noc", "no_such_column")
        assert resources.gold_query.distinct_values("dim_noc", "noc_code").height == 3


def test_a_run_starts_over_a_fifo_in_gold_and_replaces_it(config: DataRoot, fifos) -> None:
    """Before: the `gold` resource blocked on gold/<table>.parquet, a FIFO: every run hung at start-up."""
    gold = config.table_path(Layer.GOLD, "noc_unit_groups")
    gold.parent.mkdir(parents=True)
    fifos(gold)
    result = bounded(lambda: run_job(config), 120)
    assert result.success
    assert gold.is_file() and pl.read_parquet(gold).height == 12
