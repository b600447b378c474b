"""Staged to bronze: names, renames, null tokens, declared casts and the errors that name the cell."""

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.transforms import bronze, staged
from jobforge_dagster_tests.frames import staged_frame, write


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


def test_type_patterns_first_match_wins() -> None:
    spec = TableSpec(name="t", pattern="t.csv", types={"oasis_code": "string", "*": "int8"})
    assert spec.resolve_types(["oasis_code", "reading", "writing"]) == {"reading": pl.Int8(), "writing": pl.Int8()}
    with pytest.raises(ValueError, match="types name columns the table does not have"):
        TableSpec(name="t", pattern="t.csv", types={"col_20*": "int64"}).resolve_types(["a"])


def test_bronze_cast_failure_names_the_line_record_header_and_value(tmp_path: Path) -> None:
    """The same words as the staging errors: the physical line (a record before spans two), the record, the header
    as spelled in the file, the value."""
    content = b'Code,Employment,Note\n00010,5,"two\nlines"\n00011,N/A,\n00012,x,\n'
    read = staged.read_source(write(tmp_path, "e.csv", content), TableSpec(name="e", pattern="*"), "source/e.csv")
    frame = staged.add_provenance(read.frame, "source/e.csv", "e-1", datetime(2026, 1, 1, tzinfo=UTC))
    spec = TableSpec(name="e", pattern="*", types={"employment": "int64"})
    plan = bronze.plan_for(spec, read.frame.collect_schema().names())
    with pytest.raises(SourceDataError) as caught:
        bronze.check_casts(frame, plan, "source/e.csv")
    error = caught.value
    assert (error.line, error.record, error.column, error.value) == (4, 2, "Employment", "N/A")
    assert str(error) == (
        "source/e.csv, line 4 (record 2), column 'Employment': value 'N/A' is not a valid Int64 "
        "(also: line 5 (record 3), column 'Employment': 'x')"
    )
