"""Rules over a gold file: the provenance rule reads parquet statistics before it scans."""

import polars as pl

from jobforge_dagster.layers import PROVENANCE_COLUMNS, SOURCE_LINE
from jobforge_dagster.quality import checks


def test_provenance_rule_reads_statistics_and_scans_only_when_they_do_not_settle_it(tmp_path) -> None:
    from jobforge_dagster.quality.rules import GoldFacts, provenance

    provenance_values = {
        "_source_file": ["source/a.csv", "source/a.csv"],
        "_source_row": [1, 2],
        SOURCE_LINE: [2, 3],
        "_ingested_at": [None, None],
        "_batch_id": ["a-1", "a-1"],
        "_layer": ["gold", "gold"],
    }
    clean = tmp_path / "clean.parquet"
    pl.DataFrame({"code": ["1", "2"], **provenance_values}).with_columns(
        pl.lit("2026-01-01").str.to_datetime().alias("_ingested_at")
    ).write_parquet(clean)
    broken = tmp_path / "broken.parquet"
    pl.DataFrame({"code": ["1", "2"], **provenance_values}).write_parquet(broken)  # _ingested_at all null

    def lookup(table: str, column: str) -> pl.DataFrame:
        raise AssertionError("provenance reads no other table")

    passed = provenance(GoldFacts(clean, lookup))
    assert passed.passed and "parquet statistics" in passed.description
    failed = provenance(GoldFacts(broken, lookup))
    assert not failed.passed and failed.figures["null_counts"]["_ingested_at"] == 2
    assert checks.provenance_from_statistics({column: 0 for column in PROVENANCE_COLUMNS[:-1]}) is None
