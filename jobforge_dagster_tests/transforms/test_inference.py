"""Type inference for undeclared tables: the pure function, silver's use of it, and what a run records."""

import json

import polars as pl
import pytest

from jobforge_dagster.build.steps import silver_types
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import BATCH_ID, PROVENANCE_COLUMNS, SOURCE_FILE, Layer
from jobforge_dagster.orchestration.keys import table_keys
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.transforms.inference import (
    InferredType,
    carried_types,
    cast_inferred,
    infer_types,
    inference_transforms,
)


def inferred_type(*values: str | None) -> str | None:
    """The type inferred for one column holding `values`, or None when it stays text."""
    frame = pl.LazyFrame({"value": list(values)}, schema={"value": pl.String})
    found = infer_types(frame)
    return found["value"].type if "value" in found else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("120000", "int64"),
        ("-7", "int64"),
        ("0", "int64"),
        ("9223372036854775807", "int64"),  # the largest Int64
        ("9223372036854775808", None),  # one more: not an Int64, and as a float it would read 9.223372036854776e+18
        ("99999999999999999999", None),
        ("00010", None),
        ("010", None),
        ("+5", None),
        ("-0", None),
        (" 12", None),  # padding is silver's to trim; the function itself keeps it
        ("12 ", None),
        ("", None),  # silver turns blanks to null first; an empty string left here is not a number
        ("2.5", "decimal(38,1)"),  # every value with one decimal: a fixed-scale decimal keeps them as written
        ("0.1", "decimal(38,1)"),
        ("-0.0", "float64"),  # a decimal has no negative zero; a float does
        ("0.0001", "decimal(38,4)"),
        ("123456789012.5", "decimal(38,1)"),
        ("1.50", "decimal(38,2)"),  # a float would write 1.5
        ("1e3", None),
        ("1e-7", None),  # round-trips in polars, but Python and DuckDB write 1e-07
        ("0.00001", "decimal(38,5)"),  # as a float Python would write 1e-05; a decimal is written plain
        ("12.", None),
        (".5", None),
        ("inf", None),
        ("nan", None),
        ("NaN", None),
        ("1_000", None),
        ("2024-01-05", "date"),
        ("0001-01-01", "date"),
        ("2024-1-5", None),
        ("+2024-01-05", None),
        ("2024-02-30", None),
        ("20240105", "int64"),  # an integer: only ISO YYYY-MM-DD is a date
        ("2024-01-05T00:00", None),
        ("true", None),  # booleans are never inferred (see the module's docstring)
        ("false", None),
        ("abc", None),
    ],
)
def test_a_value_gives_its_column_a_type_only_if_it_writes_back_unchanged(text: str, expected: str | None) -> None:
    assert inferred_type(text) == expected


def test_the_narrowest_type_every_value_fits() -> None:
    assert inferred_type("1", "2", "3") == "int64"
    assert inferred_type("1.5", "2.0") == "decimal(38,1)"
    assert inferred_type("1.5", "2.25") == "float64"  # decimals of varying scale: a float writes each back
    assert inferred_type("0.00001", "2.25") is None  # as a float Python would write 1e-05
    assert inferred_type("1", "2.5") is None  # as float64, `1` would be written back `1.0`
    assert inferred_type("1", "2024-01-05") is None


def test_one_value_out_of_many_that_would_change_keeps_the_column_text() -> None:
    values = [str(number) for number in range(1, 5000)]
    assert inferred_type(*values) == "int64"
    assert inferred_type(*values, "007") is None
    assert inferred_type("007", *values) is None


def test_nulls_are_skipped_and_an_all_null_column_stays_text() -> None:
    frame = pl.LazyFrame(
        {"some": ["1", None, "3", None], "none": [None, None, None, None]},
        schema={"some": pl.String, "none": pl.String},
    )
    assert infer_types(frame) == {"some": InferredType("int64", 2)}


def test_provenance_and_typed_columns_are_never_touched() -> None:
    frame = pl.LazyFrame(
        {"rating": ["4", "5"], SOURCE_FILE: ["1", "2"], BATCH_ID: ["3", "4"], "typed": [1.0, 2.0], "code": ["a", "b"]}
    )
    assert infer_types(frame) == {"rating": InferredType("int64", 2)}


def test_cast_inferred_keeps_every_value_as_text() -> None:
    source = {
        "count": ["120000", "-7", None],
        "ratio": ["2.5", "0.25", "100.0"],
        "day": ["2024-01-05", None, "1999-12-31"],
        "code": ["00010", "00020", "00030"],
    }
    frame = pl.LazyFrame(source, schema=dict.fromkeys(source, pl.String))
    typed = cast_inferred(frame, infer_types(frame)).collect()
    assert typed.schema == pl.Schema({"count": pl.Int64, "ratio": pl.Float64, "day": pl.Date, "code": pl.String})
    assert typed["count"].to_list() == [120000, -7, None]
    for column, values in source.items():
        assert typed[column].cast(pl.String).to_list() == values, column


def test_cast_inferred_refuses_a_value_that_no_longer_parses() -> None:
    frame = pl.LazyFrame({"count": ["1", "x"]})
    with pytest.raises(pl.exceptions.InvalidOperationError):
        cast_inferred(frame, {"count": InferredType("int64", 2)}).collect()


def test_inference_transforms_name_each_column_its_type_and_values() -> None:
    found = {"rating": InferredType("int64", 12), "day": InferredType("date", 1)}
    assert inference_transforms(found) == [
        "inferred type: rating -> int64 (12 values)",
        "inferred type: day -> date (1 value)",
    ]
    assert inference_transforms({}) == ["inferred types: none, every column stays text"]


def test_carried_types_are_a_later_layers_non_text_data_columns() -> None:
    frame = pl.LazyFrame({"n": [1], "x": [0.5], "code": ["a"], "tiny": pl.Series([1], dtype=pl.Int8)})
    frame = frame.with_columns(pl.lit(1).cast(pl.Int64).alias(PROVENANCE_COLUMNS[1]))
    assert carried_types(frame) == {"n": "int64", "x": "float64"}


def test_silver_infers_for_undeclared_tables_only() -> None:
    frame = pl.LazyFrame({"rating": ["4", "5"]})
    undeclared = silver_types(TableSpec(name="t", pattern="t.csv", declared=False), frame)
    assert undeclared.frame.collect_schema()["rating"] == pl.Int64
    assert undeclared.inferred == {"rating": "int64"}
    assert undeclared.transforms == ["inferred type: rating -> int64 (2 values)"]
    declared = silver_types(TableSpec(name="t", pattern="t.csv"), frame)
    assert declared.frame.collect_schema()["rating"] == pl.String
    assert (declared.inferred, declared.transforms) == ({}, [])


UNDECLARED = (
    "id,code,count,big,ratio,day,mixed,flag,blank\n"
    "1,00010,120000,99999999999999999999,2.5,2024-01-05,1,true,\n"
    "2,00020,-7,1,0.25,2023-12-31,2.5,false,\n"
    "3,00030,  42 ,2,1.0,,x,true,\n"
)
EXPECTED_TYPES = {
    "id": pl.Int64,
    "code": pl.String,
    "count": pl.Int64,
    "big": pl.String,
    "ratio": pl.Float64,
    "day": pl.Date,
    "mixed": pl.String,
    "flag": pl.String,
    "blank": pl.String,
}
INFERRED = {"id": "int64", "count": "int64", "ratio": "float64", "day": "date"}


def test_an_undeclared_csv_reaches_gold_typed_and_recorded(config, run) -> None:
    (config.source_dir() / "measures.csv").write_text(UNDECLARED, encoding="utf-8")
    result = run(config)
    gold = pl.read_parquet(config.table_path(Layer.GOLD, "measures"))
    assert {column: gold.schema[column] for column in EXPECTED_TYPES} == EXPECTED_TYPES
    source = pl.read_csv(config.source_dir() / "measures.csv", infer_schema=False)
    for column in EXPECTED_TYPES:  # every value as silver left it: trimmed, blanks null, otherwise the file's text
        expected = [value.strip() or None if value is not None else None for value in source[column]]
        assert gold[column].cast(pl.String).to_list() == expected, column
    assert gold["count"].to_list() == [120000, -7, 42]
    catalog = CatalogManager(config)
    for layer in ("silver", "gold"):
        columns = {column.name: column for column in catalog.load_table_metadata("measures", layer).columns}
        assert {name: c.inferred_from for name, c in columns.items() if c.inferred_from} == dict.fromkeys(
            INFERRED, "string"
        )
        assert columns["count"].data_type == "Int64" and columns["code"].data_type == "String"
    logs = {log.target_layer: log for log in catalog.get_lineage_logs(table="measures")}
    assert logs["silver"].inferred_types == INFERRED and logs["gold"].inferred_types == INFERRED
    assert logs["bronze"].inferred_types == {}
    assert "inferred type: count -> int64 (3 values)" in logs["silver"].transforms_applied
    assert "inferred type: day -> date (2 values)" in logs["silver"].transforms_applied
    count_lineage = logs["silver"].column_lineage.fields["count"][0].description
    assert count_lineage == "trimmed, blank to null; text parsed as int64, every value unchanged as text"
    events = {
        event.asset_key.to_user_string(): event.event_specific_data.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    assert events["silver/measures"]["inferred_types"].data == INFERRED
    silver = {column.name: column for column in events["silver/measures"]["dagster/column_schema"].value.columns}
    assert silver["ratio"].description == "Float64, inferred from string"
    assert silver["code"].description is None
    # gold says what can be known of an undeclared column: its header, inferred type and guessed role
    schema = {column.name: column for column in events["gold/measures"]["dagster/column_schema"].value.columns}
    english, french = schema["ratio"].description.split("\n\n")
    assert english == (
        'Column "ratio" of a source file that is not declared in the registry; inferred type float64; role guessed '
        "from its name and type: measure. Its meaning is not documented."
    )
    assert french.startswith("Colonne « ratio » d'un fichier source non déclaré dans le registre; type déduit : float")
    assert "role guessed from its name and type: key" in schema["code"].description


def test_declared_tables_keep_their_registry_types(config, run) -> None:
    (config.source_dir() / "measures.csv").write_text("id,count\n1,120000\n2,-7\n", encoding="utf-8")
    declared = TableSpec(name="measures", pattern="measures.csv", types={"count": "int32"})
    run(config, SourceRegistry(tables=[declared]), selection=list(table_keys(declared).values()))
    gold = pl.read_parquet(config.table_path(Layer.GOLD, "measures"))
    assert (gold.schema["id"], gold.schema["count"]) == (pl.String, pl.Int32)  # all digits, yet declared as text
    catalog = CatalogManager(config)
    for layer in ("silver", "gold"):
        saved = json.loads(catalog.table_file(layer, "measures").read_text("utf-8"))
        assert [column["inferred_from"] for column in saved["columns"]] == [None] * len(saved["columns"])
    log = next(log for log in catalog.get_lineage_logs(table="measures") if log.target_layer == "silver")
    assert log.inferred_types == {}
    assert [line for line in log.transforms_applied if "inferred" in line] == []
