"""Bronze to silver: cleaning, code repairs, rules, references and the key; what is quarantined and why."""

import polars as pl

from jobforge_dagster.layers import QUARANTINE_REASON, SOURCE_ROW
from jobforge_dagster.registry.spec import SilverRule
from jobforge_dagster.transforms import silver
from jobforge_dagster_tests.frames import staged_frame, with_provenance


def test_silver_counts_the_blanks_it_turns_into_nulls() -> None:
    frame = staged_frame(code=["00010", "", " "], title=["a", None, "\xa0"]).with_columns(pl.lit(1).alias("n"))
    assert silver.count_blanks(frame) == 3
    cleaned = silver.clean(frame).collect()
    assert cleaned["code"].to_list() == ["00010", None, None] and cleaned["title"].to_list() == ["a", None, None]
    result = silver.split(silver.clean(frame), [], [], blanks=silver.count_blanks(frame))
    assert result.transforms[:2] == ["trim strings", "empty strings to null: 3 cells"]


def test_silver_cleans_quarantines_and_deduplicates() -> None:
    frame = staged_frame(
        code=[" 00010 ", "00011", "00011", "", "ABC"],
        teer=["0", "0", "1", "2", "9"],
    ).with_columns(pl.col("teer").cast(pl.Int8))
    rules = [SilverRule(column="code", pattern=r"\d{5}"), SilverRule(column="teer", min=0, max=5)]
    result = silver.split(silver.clean(frame), ["code"], rules)
    passed = result.passed.collect()
    quarantined = result.quarantined.collect()
    assert passed["code"].to_list() == ["00010", "00011"]
    assert passed.height + quarantined.height == 5
    reasons = dict(zip(quarantined[SOURCE_ROW], quarantined[QUARANTINE_REASON], strict=True))
    assert reasons[3] == "duplicate key (code): an earlier row has it"
    assert reasons[4] == "null key (code)"
    assert reasons[5] == r"rule failed: code matches \d{5}; rule failed: teer >= 0 and <= 5"
    assert "de-duplicate on (code), first row kept" in result.transforms


def test_silver_without_rules_keeps_every_row() -> None:
    frame = staged_frame(a=["x", "x"])
    result = silver.split(silver.clean(frame), [], [])
    assert result.passed.collect().height == 2 and result.quarantined is None


def test_code_repairs() -> None:
    frame = pl.LazyFrame({"noc": ["10", "21232", "x1"], "oasis": ["10010", "31100.1", "00010.00"]})
    padded = silver.restore_decimal_codes(silver.pad_codes(frame, {"noc": 5}), {"oasis": (5, 2)}).collect()
    assert padded["noc"].to_list() == ["00010", "21232", "x1"]
    assert padded["oasis"].to_list() == ["10010.00", "31100.10", "00010.00"]
    assert silver.changed_cells(frame, padded.lazy(), ["noc", "oasis"]) == {"noc": 1, "oasis": 2}


def test_silver_reference_quarantines_unknown_codes() -> None:
    frame = with_provenance(pl.DataFrame({"noc_code": ["00010", "99999", None]}))
    allowed = pl.LazyFrame({"noc_code": ["00010", "00011"]})
    result = silver.split(frame, [], [], {"noc_code": ("dim_noc.noc_code", allowed)})
    assert result.passed.collect()["noc_code"].to_list() == ["00010", None]
    assert result.quarantined.collect()[QUARANTINE_REASON].to_list() == ["noc_code has no match in dim_noc.noc_code"]
