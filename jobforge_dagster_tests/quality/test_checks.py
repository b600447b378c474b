"""Gold checks as pure functions over polars frames: codes, keys, ranges, references, provenance and the cell
reconciliation of long-form gold tables against the wide silver table they were melted from."""

from pathlib import Path

import polars as pl
import pytest

from jobforge_dagster.build.oasis_attribute import RULE_GROUPS as OASIS_ATTRIBUTE_GROUPS
from jobforge_dagster.layers import SOURCE_LINE, SOURCE_ROW
from jobforge_dagster.quality import checks, rules
from jobforge_dagster.quality.outcome import Severity
from jobforge_dagster.registry.spec import Range, Reference, TableSpec
from jobforge_dagster.transforms import gold
from jobforge_dagster_tests.frames import with_provenance

COPS = gold.LONG_FORMS["cops_long"]
OASIS = gold.LONG_FORMS["oasis_long"]


def cops_silver() -> pl.LazyFrame:
    wide = {
        "noc_code": ["00000", "TEER_0", "00010"],
        "occupation_name_en": ["All", "TEER 0", "Legislators"],
        "col_2024": [10, 5, None],
        "col_2025": [11, 6, 1],
        "col_2026": [12, None, 2],
    }
    return with_provenance(pl.DataFrame(wide))


def oasis_silver() -> pl.LazyFrame:
    wide = {"oasis_code": ["00010.00", "00011.00"], "oasis_label": ["a", "b"], "writing": [4, 0], "numeracy": [3, None]}
    return with_provenance(pl.DataFrame(wide, schema_overrides={"writing": pl.Int8, "numeracy": pl.Int8}))


def without(long: pl.LazyFrame, row: int, where: pl.Expr) -> pl.LazyFrame:
    return long.filter(((pl.col(SOURCE_ROW) == row) & where).not_())


def test_a_melted_table_reconciles_cell_for_cell() -> None:
    silver = cops_silver()
    outcome = checks.cell_reconciliation_check(silver, gold.cops_long(silver), COPS)
    assert outcome.passed, outcome.description
    assert outcome.figures == {
        "measure_columns": 3,
        "cells_expected": 9,
        "cells_found": 9,
        "gold_rows": 9,
        "missing": 0,
        "documented_filters": 0,
        "changed": 0,
        "unexpected": 0,
        "duplicated": 0,
    }
    oasis = oasis_silver()
    assert checks.cell_reconciliation_check(oasis, gold.oasis_long(oasis), OASIS).passed


def test_one_deleted_cell_fails_naming_its_row_and_column() -> None:
    silver = cops_silver()
    broken = without(gold.cops_long(silver), 2, pl.col("year") == 2025)
    # the row count check sees nothing: row 2 still has other cells in gold
    assert checks.reconciliation_check(3, 3, 0, broken).passed
    outcome = checks.cell_reconciliation_check(silver, broken, COPS)
    assert not outcome.passed
    assert outcome.figures["missing"] == 1 and outcome.figures["cells_found"] == 8
    assert outcome.figures["examples"] == {"missing": [{SOURCE_ROW: 2, "source_column": "col_2025"}]}
    assert "1 missing, e.g. row 2 col_2025" in outcome.description


def test_a_deleted_null_cell_is_missing_too() -> None:
    silver = cops_silver()
    broken = without(gold.cops_long(silver), 3, pl.col("year") == 2024)  # the source said N/A there
    outcome = checks.cell_reconciliation_check(silver, broken, COPS)
    assert not outcome.passed and outcome.figures["missing"] == 1


def test_a_deleted_oasis_rating_names_the_attribute() -> None:
    silver = oasis_silver()
    broken = without(gold.oasis_long(silver), 1, pl.col("attribute") == "numeracy")
    outcome = checks.cell_reconciliation_check(silver, broken, OASIS)
    assert outcome.figures["examples"]["missing"] == [{SOURCE_ROW: 1, "source_column": "numeracy"}]


def test_a_duplicated_cell_fails() -> None:
    silver = cops_silver()
    long = gold.cops_long(silver)
    outcome = checks.cell_reconciliation_check(silver, pl.concat([long, long.slice(4, 1)]), COPS)
    assert not outcome.passed
    assert outcome.figures["duplicated"] == 1 and outcome.figures["cells_found"] == 9
    assert outcome.figures["examples"]["duplicated"] == [{SOURCE_ROW: 2, "source_column": "col_2025", "gold_rows": 2}]


@pytest.mark.parametrize("value", [7, None])
def test_a_changed_value_fails(value: int | None) -> None:
    silver = cops_silver()
    cell = (pl.col(SOURCE_ROW) == 1) & (pl.col("year") == 2026)
    changed = gold.cops_long(silver).with_columns(pl.when(cell).then(value).otherwise(pl.col("value")).alias("value"))
    outcome = checks.cell_reconciliation_check(silver, changed, COPS)
    assert not outcome.passed and outcome.figures["changed"] == 1
    assert outcome.figures["examples"]["changed"] == [
        {SOURCE_ROW: 1, "source_column": "col_2026", "silver": 12, "gold": value}
    ]


def test_a_gold_row_from_no_silver_cell_fails() -> None:
    silver = cops_silver()
    long = gold.cops_long(silver)
    stray = long.head(1).with_columns(pl.lit(2099, dtype=pl.Int16).alias("year"))
    outcome = checks.cell_reconciliation_check(silver, pl.concat([long, stray]), COPS)
    assert not outcome.passed and outcome.figures["unexpected"] == 1
    assert outcome.figures["examples"]["unexpected"][0]["source_column"] == "col_2099"


def test_null_cells_a_transform_drops_are_a_counted_filter() -> None:
    silver = cops_silver()
    filtered = gold.cops_long(silver).filter(pl.col("value").is_not_null())
    dropping = gold.LongForm(COPS.measures, COPS.value, COPS.source_column, drops_nulls=True)
    outcome = checks.cell_reconciliation_check(silver, filtered, dropping)
    assert outcome.passed, outcome.description
    assert outcome.figures["documented_filters"] == 2 and outcome.figures["cells_found"] == 7
    assert "(2 null cells left out by the transform)" in outcome.description
    # a transform that does not declare the filter: the same gold has two missing cells
    assert checks.cell_reconciliation_check(silver, filtered, COPS).figures["missing"] == 2


def test_silver_without_measure_columns_fails() -> None:
    silver = with_provenance(pl.DataFrame({"noc_code": ["00010"]}))
    assert not checks.cell_reconciliation_check(silver, silver, COPS).passed


def integrity_rule_names(spec: TableSpec) -> list[str]:
    group = next(group for group in rules.table_rule_groups(spec) if group.name == checks.INTEGRITY)
    return [rule.name for rule in group.rules]


def test_cell_reconciliation_is_an_integrity_rule_of_long_tables_only() -> None:
    for transform in ("cops_long", "oasis_long"):
        spec = TableSpec(name="t", pattern="t.csv", gold_transform=transform)
        assert integrity_rule_names(spec) == ["provenance", "row_reconciliation", "cell_reconciliation"]
        assert rules.check_names(spec) == [checks.INTEGRITY]
    for transform in (None, "identity", "dim_noc", "cops_flagged", "with_noc_code"):
        spec = TableSpec(name="t", pattern="t.csv", gold_transform=transform)
        assert integrity_rule_names(spec) == ["provenance", "row_reconciliation"]
    # dim_oasis_attribute (built from the rating tables' headers) keeps its own rules
    names = [rule.name for group in OASIS_ATTRIBUTE_GROUPS for rule in group.rules]
    assert names == ["provenance", "key_unique", "guide_entries", "documented"]


def test_the_rule_reads_silver_and_gold_from_disk(tmp_path: Path) -> None:
    silver, gold_path = tmp_path / "silver.parquet", tmp_path / "gold.parquet"
    cops_silver().collect().write_parquet(silver)
    long = gold.cops_long(cops_silver()).collect()
    long.write_parquet(gold_path)
    spec = TableSpec(name="t", pattern="t.csv", gold_transform="cops_long")
    group = rules.table_rule_groups(spec)[0]
    facts = rules.GoldFacts(
        gold_path, lookup=lambda table, column: pl.DataFrame(), staged_path=silver, silver_path=silver
    )
    assert group.evaluate(facts).passed
    long.slice(1).write_parquet(gold_path)
    outcome = group.evaluate(rules.GoldFacts(gold_path, lookup=facts.lookup, staged_path=silver, silver_path=silver))
    assert outcome.failed_rules == ["cell_reconciliation"]
    assert "row 1 col_2024" in outcome.description


def test_check_functions_allow_no_line_only_for_parquet_sources() -> None:
    frame = with_provenance(pl.DataFrame({"a": ["x"]})).with_columns(pl.lit(None, dtype=pl.Int64).alias(SOURCE_LINE))
    assert not checks.provenance_check(frame).passed
    parquet = frame.with_columns(pl.lit("source/x.parquet").alias("_source_file"))
    assert checks.provenance_check(parquet).passed


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


def test_distinct_source_rows_in_order_and_out_of_order() -> None:
    assert checks.distinct_source_rows(pl.LazyFrame({"_source_row": [1, 1, 1, 2, 3, 3, 7]})) == 4  # ordered pass
    assert checks.distinct_source_rows(pl.LazyFrame({"_source_row": [3, 1, 3, 2, 1]})) == 3  # hash count
    assert checks.distinct_source_rows(pl.LazyFrame({"_source_row": [1, None, 2]})) == 3  # nulls: hash count
    assert checks.distinct_source_rows(pl.LazyFrame({"_source_row": []}, schema={"_source_row": pl.Int64})) == 0
