"""Number conventions: parsing declared numbers (decimal comma, thousands separators), reporting the cells that do
not parse, inferring numbers that write back exactly, and bronze reading a table declared with them."""

from decimal import Decimal

import polars as pl
import pytest
from pydantic import ValidationError

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.layers import SOURCE_ROW
from jobforge_dagster.registry.numbers import CONVENTIONS, PLAIN, NumberFormat
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.transforms.bronze import check_casts, plan_for, standardise
from jobforge_dagster.transforms.inference import infer_types
from jobforge_dagster.transforms.numbers import (
    BadNumber,
    InferredNumber,
    bad_numbers,
    cast_numbers,
    infer_conventions,
    infer_numbers,
    infer_pairs,
    likely_format,
    parse_number,
    write_number,
)
from jobforge_dagster_tests.conftest import require_real_data

NBSP, NNBSP = "\u00a0", "\u202f"
FR_CA = NumberFormat(decimal_mark=",", thousands_separators=(" ", NBSP, NNBSP))
COMMA = NumberFormat(decimal_mark=",")
ENGLISH = NumberFormat(thousands_separators=(",",))


def parsed(text: str | None, fmt: NumberFormat, dtype: pl.DataType) -> object:
    return pl.select(parse_number(pl.lit(text, dtype=pl.String), fmt, dtype)).item()


def inferred(values: list[str | None], fmt: NumberFormat = PLAIN) -> str | None:
    frame = pl.LazyFrame({"v": values}, schema={"v": pl.String})
    found = infer_numbers(frame, ["v"], fmt)
    return found["v"].type_name if "v" in found else None


def test_a_decimal_mark_cannot_also_separate_thousands() -> None:
    with pytest.raises(ValidationError, match="cannot also be a thousands separator"):
        NumberFormat(decimal_mark=",", thousands_separators=(",",))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42,50", Decimal("42.50")),
        ("1 234,50", Decimal("1234.50")),
        (f"1{NBSP}234,50", Decimal("1234.50")),
        (f"12{NNBSP}345{NNBSP}678,5", Decimal("12345678.50")),
        ("-0,75", Decimal("-0.75")),
        ("1234,5", Decimal("1234.50")),  # not grouped: accepted when declared
        ("7", Decimal("7.00")),
        ("42,505", None),  # more decimals than the type keeps: refused, not truncated
        ("42.50", None),  # a point is not this convention's decimal mark
        ("1 23,5", None),  # groups are three digits
        ("12 345 67", None),
        ("1,2,3", None),
        ("+5", None),
        ("", None),
        ("n/a", None),
        (None, None),
    ],
)
def test_parse_under_the_french_canadian_convention(text: str | None, expected: Decimal | None) -> None:
    assert parsed(text, FR_CA, pl.Decimal(10, 2)) == expected


def test_polars_alone_would_truncate_what_parse_number_refuses() -> None:
    assert pl.select(pl.lit("42.505").cast(pl.Decimal(10, 2), strict=False)).item() == Decimal("42.50")
    assert parsed("42.505", PLAIN, pl.Decimal(10, 2)) is None


@pytest.mark.parametrize(
    ("text", "fmt", "dtype", "expected"),
    [
        ("1,234,567", ENGLISH, pl.Int64(), 1234567),
        ("1,234.5", ENGLISH, pl.Float64(), 1234.5),
        ("42,50", COMMA, pl.Int64(), None),
        ("1.234,5", NumberFormat(decimal_mark=",", thousands_separators=(".",)), pl.Float64(), 1234.5),
        ("1'234.50", NumberFormat(thousands_separators=("'",)), pl.Float64(), 1234.5),
        ("300", PLAIN, pl.Int8(), None),  # does not fit the type
    ],
)
def test_parse_under_other_conventions(text: str, fmt: NumberFormat, dtype: pl.DataType, expected: object) -> None:
    assert parsed(text, fmt, dtype) == expected


def test_bad_numbers_name_row_column_and_value() -> None:
    frame = pl.LazyFrame(
        {"montant": ["42,50", " 1 234,50 ", "12,345", ""], "postes": ["3", "4", "x", None], SOURCE_ROW: [7, 8, 9, 10]}
    )
    assert bad_numbers(frame, {"montant": pl.Decimal(10, 2), "postes": pl.Int64()}, FR_CA) == [
        BadNumber(row=9, column="montant", value="12,345"),
        BadNumber(row=9, column="postes", value="x"),
    ]
    assert bad_numbers(frame.drop(SOURCE_ROW), {"postes": pl.Int64()}, FR_CA) == [
        BadNumber(row=3, column="postes", value="x")
    ]


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (
            Decimal("-1234567.50"),
            NumberFormat(decimal_mark=",", thousands_separators=(NNBSP,)),
            "-1\u202f234\u202f567,50",
        ),
        (Decimal("1234.50"), FR_CA, "1 234,50"),
        (Decimal("999.10"), ENGLISH, "999.10"),
        (Decimal("0.05"), COMMA, "0,05"),
        (1234567, ENGLISH, "1,234,567"),
        (-7, ENGLISH, "-7"),
    ],
)
def test_write_number(value: object, fmt: NumberFormat, text: str) -> None:
    dtype = pl.Int64 if isinstance(value, int) else pl.Decimal(38, 2)
    assert pl.select(write_number(pl.lit(value, dtype=dtype), fmt)).item() == text


@pytest.mark.parametrize(
    ("values", "fmt", "expected"),
    [
        (["42.50", "0.10", "-1.00"], PLAIN, "decimal(38,2)"),  # a float would write 42.5
        (["2.5", "0.1"], PLAIN, "decimal(38,1)"),
        (["2", "1.9"], PLAIN, None),  # `2` would write back as 2.0
        (["42,50", "1,25"], COMMA, "decimal(38,2)"),
        (["42,50", "1,25"], PLAIN, None),
        (["1 234,50", "12,00", "-0,75"], FR_CA, "decimal(38,2)"),
        (["1 234", "567", None], NumberFormat(decimal_mark=",", thousands_separators=(" ",)), "int64"),
        (["1234", "567"], NumberFormat(decimal_mark=",", thousands_separators=(" ",)), None),  # would write 1 234
        (["8,238,800", "839300"], ENGLISH, None),  # grouped and not: as in the real COPS summary
        (["1,234"], ENGLISH, "int64"),
        (["1,234"], COMMA, "decimal(38,3)"),
        (["00010", "10"], PLAIN, None),
        (["00010,5"], COMMA, None),
        (["-0,00"], COMMA, None),
        ([" 42,50"], COMMA, None),  # padding is silver's to trim
        ([None, None], PLAIN, None),
    ],
)
def test_inference_keeps_only_numbers_that_write_back_as_written(
    values: list[str | None], fmt: NumberFormat, expected: str | None
) -> None:
    assert inferred(values, fmt) == expected


@pytest.mark.parametrize(
    "value",
    ["120000", "-7", "0", "9223372036854775807", "9223372036854775808", "00010", "+5", "-0", " 12", "1e3", "1_000"],
)
def test_integers_are_inferred_as_the_current_inference_infers_them(value: str) -> None:
    """The undeclared-table inference of today (transforms.inference) and this one agree on every integer case."""
    frame = pl.LazyFrame({"v": [value]}, schema={"v": pl.String})
    today = infer_types(frame).get("v")
    assert inferred([value]) == ("int64" if today is not None and today.type == "int64" else None)


def test_a_decimal_keeps_its_written_scale_where_a_float_does_not() -> None:
    frame = pl.LazyFrame({"prix": ["42,50", "1,00"]})
    found = infer_numbers(frame, ["prix"], COMMA)
    assert found == {"prix": InferredNumber(type="decimal", scale=2, values=2, format=COMMA)}
    cast = cast_numbers(frame, found).collect()
    assert cast.get_column("prix").cast(pl.String).to_list() == ["42.50", "1.00"]
    assert cast.get_column("prix").cast(pl.Float64).cast(pl.String).to_list() == ["42.5", "1.0"]


def test_cast_numbers_is_strict() -> None:
    found = {"prix": InferredNumber(type="decimal", scale=2, values=1, format=COMMA)}
    with pytest.raises(pl.exceptions.InvalidOperationError, match=r"not a number \(decimal comma, thousands not"):
        cast_numbers(pl.LazyFrame({"prix": ["42,50", "42.50"]}), found).collect()


def test_every_convention_is_tried_and_the_likeliest_is_the_one_most_columns_fit() -> None:
    frame = pl.LazyFrame(
        {
            "salaire": ["1 234,50", "987,00"],
            "postes": ["12", "7"],
            "note": ["42,5", "3,0"],
            "ville": ["Laval", "Gatineau"],
        }
    )
    found = infer_conventions(frame, frame.collect_schema().names())
    assert set(found) == set(CONVENTIONS)
    french = NumberFormat(decimal_mark=",", thousands_separators=(" ",))
    assert {column: number.type_name for column, number in found[french].items()} == {
        "salaire": "decimal(38,2)",
        "postes": "int64",
        "note": "decimal(38,1)",
    }
    assert {column: number.type_name for column, number in found[PLAIN].items()} == {"postes": "int64"}
    assert likely_format(found) == french


def frames_to_compare() -> list[pl.LazyFrame]:
    crafted = pl.LazyFrame(
        {
            "a": ["1 234,50", "12,00", None],
            "b": ["1,234", "5", "6"],
            "c": ["1.234", "2.000", "3.5"],
            "d": [f"1{NBSP}234", "5", "999"],
            "e": ["12", "3", "-4"],
            "f": ["1'234.5", "2.5", "0.0"],
            "g": ["x", "1", "2"],
            "h": ["12345", "7", "0"],  # no separator: grouping formats would write 12,345 (verdict from ungrouped)
            "i": ["-1234.5", "2.5", "3.0"],
        }
    )
    real = require_real_data() / "workcontext_oasis_2023_v1.0.csv"
    return [crafted, pl.scan_csv(real, infer_schema=False)]


@pytest.mark.parametrize("frame", frames_to_compare())
def test_testing_each_column_once_per_signature_gives_what_testing_every_convention_gives(frame: pl.LazyFrame) -> None:
    columns = frame.collect_schema().names()
    every = infer_pairs(frame, [(column, fmt) for fmt in CONVENTIONS for column in columns])
    grouped = infer_conventions(frame, columns)
    assert {(column, fmt): number for fmt, found in grouped.items() for column, number in found.items()} == every
    assert every  # the comparison holds numbers


def bronze_frame() -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "Code": ["21232", "00012"],
            "Salaire horaire": ["42,50", f"1{NBSP}234,50"],
            "Postes": ["1 250", "35"],
            SOURCE_ROW: [1, 2],
        }
    )


def test_bronze_reads_declared_numbers_under_the_table_convention() -> None:
    spec = TableSpec(
        name="postes",
        pattern="*",
        decimal_mark=",",
        thousands_separators=[" ", NBSP],
        types={"salaire_horaire": "decimal(10,2)", "postes": "int64"},
    )
    plan = plan_for(spec, bronze_frame().collect_schema().names())
    check_casts(bronze_frame(), plan, "postes.csv")
    assert standardise(bronze_frame(), plan).drop(SOURCE_ROW).collect().to_dicts() == [
        {"code": "21232", "salaire_horaire": Decimal("42.50"), "postes": 1250},
        {"code": "00012", "salaire_horaire": Decimal("1234.50"), "postes": 35},
    ]


def test_bronze_names_the_cell_that_is_not_a_number_under_the_convention() -> None:
    spec = TableSpec(name="postes", pattern="*", types={"salaire_horaire": "decimal(10,2)"})  # decimal point
    plan = plan_for(spec, bronze_frame().collect_schema().names())
    with pytest.raises(SourceDataError) as error:
        check_casts(bronze_frame(), plan, "postes.csv")
    assert str(error.value) == (
        "postes.csv, record 1, column 'Salaire horaire': value '42,50' is not a valid Decimal(precision=10, scale=2) "
        "(also: record 2, column 'Salaire horaire': '1\\xa0234,50')"
    )
