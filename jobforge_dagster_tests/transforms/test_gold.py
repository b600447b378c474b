"""Gold transforms on small frames: each model's columns, rows and kept source lines, without Dagster."""

import polars as pl
import pytest

from jobforge_dagster.layers import PROVENANCE_COLUMNS, SOURCE_LINE, SOURCE_ROW
from jobforge_dagster.transforms import gold
from jobforge_dagster.transforms.gold import gold_transform
from jobforge_dagster_tests.frames import with_provenance


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


def test_gold_transform_lookup() -> None:
    frame = pl.LazyFrame({"a": [1]})
    assert gold_transform(None)(frame).collect().equals(frame.collect())
    with pytest.raises(ValueError, match="unknown gold transform"):
        gold_transform("nope")
