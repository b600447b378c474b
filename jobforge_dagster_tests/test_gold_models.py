"""Gold transforms and check functions on small frames, without Dagster."""

import polars as pl

from jobforge_dagster.layers import PROVENANCE_COLUMNS, QUARANTINE_REASON, SOURCE_LINE, SOURCE_ROW
from jobforge_dagster.orchestration.checks import rules_table
from jobforge_dagster.quality import checks
from jobforge_dagster.quality.outcome import CheckOutcome, GroupOutcome, RuleOutcome, Severity
from jobforge_dagster.registry.spec import Range, Reference
from jobforge_dagster.transforms import gold, silver


def with_provenance(frame: pl.DataFrame) -> pl.LazyFrame:
    return frame.lazy().with_columns(
        pl.lit("source/x.csv").alias("_source_file"),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(SOURCE_ROW),
        (pl.int_range(1, pl.len() + 1, dtype=pl.Int64) * 10).alias(SOURCE_LINE),  # records spanning lines
        pl.lit("2026-01-01").str.to_datetime(time_zone="UTC").alias("_ingested_at"),
        pl.lit("x-1").alias("_batch_id"),
        pl.lit("silver").alias("_layer"),
    )


def test_dim_noc_parents_teer_and_broad_category() -> None:
    structure = with_provenance(
        pl.DataFrame(
            {
                "level": pl.Series([1, 2, 3, 4, 5], dtype=pl.Int8),
                "level_name": ["Broad Category", "Major Group", "Sub-major Group", "Minor Group", "Unit Group"],
                "noc_code": ["2", "21", "212", "2123", "21232"],
                "title": ["a", "b", "c", "d", "Software developers and programmers"],
                "definition": ["", "", "", "", ""],
            }
        )
    )
    dim = gold.dim_noc(structure).collect()
    assert dim["parent_code"].to_list() == [None, "2", "21", "212", "2123"]
    assert dim["teer"].to_list() == [None, None, None, None, 1]
    assert dim["broad_category"].to_list() == ["2"] * 5
    assert dim.columns[-len(PROVENANCE_COLUMNS) :] == list(PROVENANCE_COLUMNS)


def test_cops_long_flags_aggregates_and_keeps_nulls() -> None:
    wide = with_provenance(
        pl.DataFrame({"noc_code": ["00000", "TEER_0", "00010"], "col_2024": [10, 5, None], "col_2025": [11, 6, 1]})
    )
    long = gold.cops_long(wide).collect()
    assert long.height == 6
    assert long.filter(pl.col("noc_code") == "00010")[["year", "value"]].rows() == [(2024, None), (2025, 1)]
    assert long.group_by("noc_code").agg(pl.col("is_aggregate").first()).sort("noc_code").rows() == [
        ("00000", True),
        ("00010", False),
        ("TEER_0", True),
    ]


def test_oasis_long_and_text_tables() -> None:
    wide = with_provenance(
        pl.DataFrame({"oasis_code": ["00010.00"], "oasis_label": ["Legislators"], "writing": [4], "numeracy": [3]})
    )
    long = gold.oasis_long(wide).collect()
    assert long[["oasis_code", "noc_code", "attribute", "rating"]].rows() == [
        ("00010.00", "00010", "writing", 4),
        ("00010.00", "00010", "numeracy", 3),
    ]
    text = gold.with_noc_code(with_provenance(pl.DataFrame({"oasis_code": ["21232.01"], "label": ["x"]}))).collect()
    assert text.columns[:3] == ["oasis_code", "noc_code", "label"] and text["noc_code"][0] == "21232"


def test_every_gold_transform_keeps_the_source_line_of_its_row() -> None:
    tables = {
        "identity": pl.DataFrame({"a": ["x", "y"]}),
        "dim_noc": pl.DataFrame(
            {
                "noc_code": ["2", "21"],
                "level": [1, 2],
                "level_name": ["a", "b"],
                "title": ["t", "u"],
                "definition": ["", ""],
            }
        ),
        "cops_long": pl.DataFrame({"noc_code": ["00000", "00010"], "col_2024": [1, 2], "col_2025": [3, 4]}),
        "cops_flagged": pl.DataFrame({"noc_code": ["00000", "00010"], "outlook": ["a", "b"]}),
        "oasis_long": pl.DataFrame({"oasis_code": ["00010.00", "00011.00"], "writing": [1, 2], "reading": [3, 4]}),
        "with_noc_code": pl.DataFrame({"oasis_code": ["00010.00", "00011.00"], "text": ["a", "b"]}),
    }
    assert set(tables) == set(gold.GOLD_TRANSFORMS)
    for name, table in tables.items():
        result = gold.GOLD_TRANSFORMS[name](with_provenance(table)).collect()
        assert result.columns[-len(PROVENANCE_COLUMNS) :] == list(PROVENANCE_COLUMNS), name
        assert (result[SOURCE_LINE] == result[SOURCE_ROW] * 10).all(), name


def test_check_functions_allow_no_line_only_for_parquet_sources() -> None:
    frame = with_provenance(pl.DataFrame({"a": ["x"]})).with_columns(pl.lit(None, dtype=pl.Int64).alias(SOURCE_LINE))
    assert not checks.provenance_check(frame).passed
    parquet = frame.with_columns(pl.lit("source/x.parquet").alias("_source_file"))
    assert checks.provenance_check(parquet).passed


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


def test_check_functions() -> None:
    frame = with_provenance(
        pl.DataFrame({"noc_code": ["00010", "0001X", None, "TEER_0"], "is_aggregate": [False, False, False, True]})
    )
    assert checks.provenance_check(frame).passed
    assert not checks.provenance_check(frame.drop("_layer")).passed
    fmt = checks.code_format_check(frame, "noc_code", r"\d{5}")
    assert not fmt.passed and fmt.figures["examples"] == ["0001X"]  # TEER_0 is an aggregate, out of scope
    fk = checks.foreign_key_check(frame, Reference(column="noc_code"), pl.LazyFrame({"noc_code": ["00010"]}))
    assert not fk.passed and fk.figures["unresolved"] == 1 and fk.figures["null_keys"] == 1
    assert fk.figures["unresolved_share"] == 0.5
    ratings = pl.LazyFrame({"rating": [0, 3, 6]})
    assert not checks.range_check(ratings, "rating", Range(min=0, max=5)).passed
    assert checks.range_check(ratings, "rating", Range(min=0, max=6)).passed
    unique = pl.LazyFrame({"k": [1, 2]})
    assert checks.key_unique_check(unique, ["k"]).passed
    warned = checks.key_unique_check(unique, ["k"], duplicates_quarantined=2)
    assert not warned.passed and warned.severity is Severity.WARN
    repeated = checks.key_unique_check(pl.LazyFrame({"k": [1, 1]}), ["k"])
    assert not repeated.passed and repeated.severity is Severity.ERROR
    assert checks.reconciliation_check(5, 4, 1, frame).passed  # 5 source rows = 4 in silver + 1 quarantined
    assert not checks.reconciliation_check(5, 4, 0, frame).passed  # one source row unaccounted for
    assert not checks.reconciliation_check(6, 5, 1, frame).passed  # a silver row did not reach gold


def test_rules_combine_into_one_check_with_the_worst_severity() -> None:
    def group(**outcomes: CheckOutcome) -> GroupOutcome:
        return GroupOutcome("check", tuple(RuleOutcome(name, name, name, result) for name, result in outcomes.items()))

    passing = CheckOutcome(True, "ok", {"rows": 3})
    warned = CheckOutcome(False, "source repeated a key", {"duplicates": 1}, Severity.WARN)
    failed = CheckOutcome(False, "2 codes do not resolve", {"unresolved": 2})
    assert group(a=passing).passed
    only_warned = group(a=passing, key_unique=warned)
    assert not only_warned.passed and only_warned.severity is Severity.WARN and not only_warned.blocking
    both = group(key_unique=warned, a=passing, foreign_key=failed)
    assert not both.passed and both.severity is Severity.ERROR and both.blocking
    assert both.failed_rules == ["key_unique", "foreign_key"]
    assert both.figures["foreign_key"] == {"unresolved": 2} and both.figures["a"] == {"rows": 3}
    assert both.description == "key_unique: source repeated a key; foreign_key: 2 codes do not resolve"
    assert "| foreign_key | ERROR | 2 codes do not resolve |" in rules_table(both).value


def test_distinct_source_rows_in_order_and_out_of_order() -> None:
    assert checks.distinct_source_rows(pl.LazyFrame({"_source_row": [1, 1, 1, 2, 3, 3, 7]})) == 4  # ordered pass
    assert checks.distinct_source_rows(pl.LazyFrame({"_source_row": [3, 1, 3, 2, 1]})) == 3  # hash count
    assert checks.distinct_source_rows(pl.LazyFrame({"_source_row": [1, None, 2]})) == 3  # nulls: hash count
    assert checks.distinct_source_rows(pl.LazyFrame({"_source_row": []}, schema={"_source_row": pl.Int64})) == 0


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
