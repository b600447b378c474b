"""Pure layer transforms, without Dagster."""

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.layers import PROVENANCE_COLUMNS, QUARANTINE_REASON, SOURCE_FILE, SOURCE_LINE, SOURCE_ROW
from jobforge_dagster.registry.names import snake_case, table_name_for, unique_snake_case
from jobforge_dagster.registry.spec import SilverRule, TableSpec
from jobforge_dagster.transforms import bronze, silver, staged
from jobforge_dagster.transforms.gold import gold_transform


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Writing  ", "writing"),
        ("\xa0Active Learning", "active_learning"),
        ("Code - NOC 2021 V1.0", "code_noc_2021_v1_0"),
        ("Conditions_récentes_sur_le_marché_du_travail", "conditions_recentes_sur_le_marche_du_travail"),
        ("Famille_d'emplois", "famille_d_emplois"),
        ("2016_NOC_UID", "col_2016_noc_uid"),
        ('Change to "title" / "NOC"', "change_to_title_noc"),
        ("   ", "column"),
    ],
)
def test_snake_case(header: str, expected: str) -> None:
    assert snake_case(header) == expected


def test_unique_snake_case_and_table_names() -> None:
    assert unique_snake_case(["Code", "code ", "CODE", ""]) == ["code", "code_2", "code_3", "column_4"]
    assert table_name_for("immigration_2024_2033_noc2021-") == "immigration_2024_2033_noc2021"
    assert table_name_for("2021 NOC; drop table") == "t_2021_noc_drop_table"


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_staged_reads_strings_exactly_with_provenance(tmp_path: Path) -> None:
    path = write(tmp_path, "n.csv", b'\xef\xbb\xbfCode,Title\r\n00010,"Legislators, all"\r\n00010.00,Caf\xc3\xa9\r\n')
    read = staged.read_source(path, TableSpec(name="n", pattern="n.csv"), "source/n.csv")
    assert read.records == 2
    frame = read.frame
    frame = staged.add_provenance(frame, "source/n.csv", "n-1", datetime(2026, 1, 1, tzinfo=UTC)).collect()
    assert frame.columns == ["Code", "Title", *PROVENANCE_COLUMNS[:-1]]
    assert frame[SOURCE_LINE].to_list() == [2, 3]
    assert frame["Code"].to_list() == ["00010", "00010.00"]
    assert frame["Title"].to_list() == ["Legislators, all", "Café"]
    assert frame[SOURCE_ROW].to_list() == [1, 2]


def test_staged_keeps_empty_fields_as_empty_strings(tmp_path: Path) -> None:
    """Unquoted and quoted empty fields, and a last field with no newline after it, are "" in staged."""
    path = write(tmp_path, "e.csv", b'a,b,c\n1,,""\n,"",x\n2,3,')
    frame = staged.read_source(path, TableSpec(name="e", pattern="e.csv"), "source/e.csv").frame.collect()
    assert frame.select("a", "b", "c").rows() == [("1", "", ""), ("", "", "x"), ("2", "3", "")]
    decoded = write(tmp_path, "l.csv", "a,b\né,\n".encode("cp1252"))
    spec = TableSpec(name="l", pattern="l.csv", encoding="cp1252")
    assert staged.read_source(decoded, spec, "source/l.csv").frame.collect().select("a", "b").rows() == [("é", "")]


def staged_lines(tmp_path: Path, name: str, content: bytes) -> list[int]:
    path = write(tmp_path, name, content)
    read = staged.read_source(path, TableSpec(name="t", pattern=name), f"source/{name}")
    frame = staged.add_provenance(read.frame, f"source/{name}", "t-1", datetime(2026, 1, 1, tzinfo=UTC)).collect()
    assert frame.columns[-5:] == [SOURCE_FILE, SOURCE_ROW, SOURCE_LINE, "_ingested_at", "_batch_id"]
    assert frame[SOURCE_ROW].to_list() == list(range(1, frame.height + 1))
    return frame[SOURCE_LINE].to_list()


@pytest.mark.parametrize(
    ("content", "lines"),
    [
        (b"a,b\n1,2\n3,4\n", [2, 3]),
        (b'a,b\n1,"x\ny\nz"\n2,3\n4,"5\n"\n6,7', [2, 5, 6, 8]),
        (b'"a\nheader",b\n1,2\n3,"4\n"\n5,6\n', [3, 4, 6]),  # the header spans two lines
        (b'a,b\r\n1,"x\r\ny"\r\n2,3\r\n', [2, 4]),  # CRLF inside a quoted field: one line break
        (b'a,b\r\n1,"x\ry"\r\n2,3\r\n', [2, 3]),  # a CR alone inside a quoted field is not a line break
        (b"\xef\xbb\xbfa,b\n1,\n", [2]),
        (b"a,b\n", []),
    ],
)
def test_staged_source_line_is_where_the_record_starts(tmp_path: Path, content: bytes, lines: list[int]) -> None:
    assert staged_lines(tmp_path, "l.csv", content) == lines


def test_staged_source_line_of_other_formats(tmp_path: Path) -> None:
    assert staged_lines(tmp_path, "j.jsonl", b'{"a": "x\\ny"}\n{"a": 2}\n{"a": 3}\n') == [1, 2, 3]
    pl.DataFrame({"a": ["x", "y"]}).write_parquet(tmp_path / "p.parquet")
    read = staged.read_source(tmp_path / "p.parquet", TableSpec(name="p", pattern="p.parquet"), "source/p.parquet")
    frame = staged.add_provenance(read.frame, "source/p.parquet", "p-1", datetime(2026, 1, 1, tzinfo=UTC)).collect()
    assert frame[SOURCE_LINE].to_list() == [None, None]  # a parquet file has no lines
    decoded = write(tmp_path, "d.csv", 'a,b\n"é\nè",1\n2,3\n'.encode("cp1252"))
    spec = TableSpec(name="d", pattern="d.csv", encoding="cp1252")
    assert staged.read_source(decoded, spec, "source/d.csv").frame.collect()[SOURCE_LINE].to_list() == [2, 4]


def test_staged_header_quotes_and_duplicates(tmp_path: Path) -> None:
    path = write(tmp_path, "q.csv", b'a,"Change to ""title"""\n1,2\n')
    assert staged.read_source(
        path, TableSpec(name="q", pattern="q.csv"), "source/q.csv"
    ).frame.collect_schema().names()[:2] == [
        "a",
        'Change to "title"',
    ]
    duplicate = write(tmp_path, "d.csv", b"a,b,a\n1,2,3\n")
    with pytest.raises(SourceDataError, match=r"source/d.csv: duplicate header name 'a' in columns 1 and 3"):
        staged.read_source(duplicate, TableSpec(name="d", pattern="d.csv"), "source/d.csv")


def test_staged_declared_encoding(tmp_path: Path) -> None:
    path = write(tmp_path, "l.csv", "titre\nMéthodes\n".encode("cp1252"))
    spec = TableSpec(name="l", pattern="l.csv", encoding="cp1252")
    assert staged.read_source(path, spec, "source/l.csv").frame.collect()["titre"].to_list() == ["Méthodes"]
    with pytest.raises(SourceDataError, match="not valid UTF-8"):
        staged.read_source(path, TableSpec(name="l", pattern="l.csv"), "source/l.csv")


def staged_frame(**columns: list[str | None]) -> pl.LazyFrame:
    height = len(next(iter(columns.values())))
    return pl.LazyFrame(columns).with_columns(pl.int_range(1, height + 1, dtype=pl.Int64).alias(SOURCE_ROW))


def test_bronze_mapping_renames_and_casts() -> None:
    frame = staged_frame(**{"Code ": ["00010", "00011"], "Employment 2023": ["1 200", None]})
    mapping = bronze.column_mapping(frame.collect_schema().names(), {"code": "noc_code"})
    assert mapping == {"Code ": "noc_code", "Employment 2023": "employment_2023"}
    plan = bronze.BronzePlan(mapping, types={"employment_2023": pl.Int64()})
    ok = staged_frame(**{"Code ": ["00010"], "Employment 2023": [" 1200 "]})
    bronze.check_casts(ok, plan, "source/e.csv")
    result = bronze.standardise(ok, plan).collect()
    assert result["noc_code"].to_list() == ["00010"] and result["employment_2023"].to_list() == [1200]
    with pytest.raises(ValueError, match="renames name columns the file does not have"):
        bronze.column_mapping(["a"], {"b": "c"})


def test_bronze_null_tokens_and_thousands_separator() -> None:
    frame = staged_frame(Code=["00000", "N/A"], Jobs=["8,238,800", "N/A"], Outlook=["Balance", "N/D"])
    plan = bronze.BronzePlan(
        {"Code": "code", "Jobs": "jobs", "Outlook": "outlook"},
        types={"jobs": pl.Int64()},
        null_values=["N/A", "N/D"],
        null_exempt=["code"],
        thousands_separator=",",
    )
    bronze.check_casts(frame, plan, "source/s.csv")
    result = bronze.standardise(frame, plan).collect()
    assert result["jobs"].to_list() == [8238800, None]
    assert result["outlook"].to_list() == ["Balance", None]
    assert result["code"].to_list() == ["00000", "N/A"]  # key columns keep their value
    assert bronze.count_null_tokens(frame, plan) == {"jobs": 1, "outlook": 1}


def test_bronze_treats_empty_strings_as_no_value() -> None:
    """Staged holds "" for empty fields: casts make them null (not a cast failure), text columns keep them."""
    frame = staged_frame(Code=["00010", "00011", "00012"], Jobs=["", " ", "N/A"], Note=["", "x", "N/A"])
    plan = bronze.BronzePlan(
        {"Code": "code", "Jobs": "jobs", "Note": "note"}, types={"jobs": pl.Int64()}, null_values=["N/A"]
    )
    bronze.check_casts(frame, plan, "source/s.csv")
    result = bronze.standardise(frame, plan).collect()
    assert result["jobs"].to_list() == [None, None, None]
    assert result["note"].to_list() == ["", "x", None]
    assert bronze.count_null_tokens(frame, plan) == {"jobs": 1, "note": 1}


def test_silver_counts_the_blanks_it_turns_into_nulls() -> None:
    frame = staged_frame(code=["00010", "", " "], title=["a", None, "\xa0"]).with_columns(pl.lit(1).alias("n"))
    assert silver.count_blanks(frame) == 3
    cleaned = silver.clean(frame).collect()
    assert cleaned["code"].to_list() == ["00010", None, None] and cleaned["title"].to_list() == ["a", None, None]
    result = silver.split(silver.clean(frame), [], [], blanks=silver.count_blanks(frame))
    assert result.transforms[:2] == ["trim strings", "empty strings to null: 3 cells"]


def test_type_patterns_first_match_wins() -> None:
    spec = TableSpec(name="t", pattern="t.csv", types={"oasis_code": "string", "*": "int8"})
    assert spec.resolve_types(["oasis_code", "reading", "writing"]) == {"reading": pl.Int8(), "writing": pl.Int8()}
    with pytest.raises(ValueError, match="types name columns the table does not have"):
        TableSpec(name="t", pattern="t.csv", types={"col_20*": "int64"}).resolve_types(["a"])


def test_bronze_cast_failure_names_file_row_and_column() -> None:
    frame = staged_frame(**{"Code": ["00010", "00011", "00012"], "Employment": ["5", "N/A", "x"]})
    plan = bronze.BronzePlan({"Code": "code", "Employment": "employment"}, types={"employment": pl.Int64()})
    with pytest.raises(SourceDataError) as caught:
        bronze.check_casts(frame, plan, "source/e.csv")
    error = caught.value
    assert (error.file, error.row, error.column) == ("source/e.csv", 2, "Employment")
    assert "source/e.csv, row 2, column 'Employment': value 'N/A' is not a valid Int64" in str(error)
    assert "row 3 employment='x'" in str(error)


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


def test_gold_transform_lookup() -> None:
    frame = pl.LazyFrame({"a": [1]})
    assert gold_transform(None)(frame).collect().equals(frame.collect())
    with pytest.raises(ValueError, match="unknown gold transform"):
        gold_transform("nope")
