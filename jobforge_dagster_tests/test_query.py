"""The gold query engine: views over gold parquet, read-only SQL, no file access beyond gold."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster_duckdb import DuckDBResource

from jobforge_dagster.config import JobForgeConfig
from jobforge_dagster.layers import Layer
from jobforge_dagster.query import GoldQueryEngine, QueryError


@pytest.fixture
def engine(tmp_path: Path):
    config = JobForgeConfig(data_root=str(tmp_path / "data"))
    gold = config.layer_dir(Layer.GOLD)
    gold.mkdir(parents=True)
    frame = pl.DataFrame(
        {
            "noc_code": ["00010", "00011", "21211"],
            "_source_file": ["source/noc.csv", "source/noc.csv", "source/extra.csv"],
            "_batch_id": ["noc-a", "noc-a", "noc-b"],
            "_ingested_at": pl.Series(
                ["2026-01-01T00:00:00", "2026-01-01T00:00:00", "2026-02-01T00:00:00"]
            ).str.to_datetime(time_zone="UTC"),
        }
    )
    frame.write_parquet(gold / "noc.parquet")
    frame.head(1).write_parquet(gold / "odd name; drop.parquet")
    (tmp_path / "secret.csv").write_text("a\n1\n")
    with GoldQueryEngine(config, timeout_seconds=2) as engine:
        yield engine


def test_views_per_gold_file_with_quoted_names(engine: GoldQueryEngine) -> None:
    assert engine.list_tables() == ["noc", "odd name; drop"]
    assert engine.query('SELECT count(*) AS n FROM "odd name; drop"')["n"][0] == 1


def test_query_returns_polars(engine: GoldQueryEngine) -> None:
    result = engine.query("WITH c AS (SELECT noc_code FROM noc) SELECT * FROM c ORDER BY 1")
    assert isinstance(result, pl.DataFrame)
    assert result["noc_code"].to_list() == ["00010", "00011", "21211"]


def test_lineage_and_provenance(engine: GoldQueryEngine) -> None:
    lineage = engine.get_lineage("noc")
    assert lineage["source_files"] == {"source/extra.csv": 1, "source/noc.csv": 2}
    assert lineage["batches"] == ["noc-a", "noc-b"]
    assert lineage["row_count"] == 3
    assert lineage["first_ingested_at"] < lineage["last_ingested_at"]
    result = engine.query_with_provenance("SELECT noc_code FROM noc WHERE noc_code = '00010'")
    assert result["data"]["noc_code"].to_list() == ["00010"]
    assert result["tables"] == ["noc"] and result["lineage"]["noc"]["row_count"] == 3
    with pytest.raises(QueryError, match="no gold table"):
        engine.get_lineage("missing")


def test_register_picks_up_new_and_removed_files(engine: GoldQueryEngine) -> None:
    pl.DataFrame({"x": [1]}).write_parquet(engine.gold_dir / "later.parquet")
    (engine.gold_dir / "noc.parquet").unlink()
    assert engine.register_gold_tables() == ["later", "odd name; drop"]
    with pytest.raises(QueryError):
        engine.query("SELECT * FROM noc")


def watchdogs() -> int:
    return sum(thread.name == "gold-query-watchdog" for thread in threading.enumerate())


def test_connection_closes_after_close_and_after_a_failed_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = JobForgeConfig(data_root=str(tmp_path / "data"))
    opened: list[duckdb.DuckDBPyConnection] = []
    original = DuckDBResource.get_connection

    @contextmanager
    def recording(resource: DuckDBResource) -> Iterator[duckdb.DuckDBPyConnection]:
        with original(resource) as connection:
            opened.append(connection)
            yield connection

    monkeypatch.setattr(DuckDBResource, "get_connection", recording)
    before = watchdogs()
    engine = GoldQueryEngine(config)
    engine.close()
    engine.close()  # a second close does nothing
    with pytest.raises(duckdb.ConnectionException):
        opened[0].execute("SELECT 1")

    def broken(self: GoldQueryEngine) -> list[str]:
        raise RuntimeError("views failed")

    monkeypatch.setattr(GoldQueryEngine, "register_gold_tables", broken)
    with pytest.raises(RuntimeError, match="views failed"):
        GoldQueryEngine(config)
    with pytest.raises(duckdb.ConnectionException):
        opened[1].execute("SELECT 1")
    assert watchdogs() == before
