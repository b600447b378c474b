"""Source to staged: every value the exact string in the file, and the line each record starts on."""

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.layers import PROVENANCE_COLUMNS, SOURCE_LINE, SOURCE_ROW
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.transforms import staged
from jobforge_dagster_tests.frames import staged_lines, write


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
    with pytest.raises(SourceDataError, match=r"source/d.csv, line 1: duplicate header name 'a' in columns 1 and 3"):
        staged.read_source(duplicate, TableSpec(name="d", pattern="d.csv"), "source/d.csv")


def test_staged_declared_encoding(tmp_path: Path) -> None:
    path = write(tmp_path, "l.csv", "titre\nMéthodes\n".encode("cp1252"))
    spec = TableSpec(name="l", pattern="l.csv", encoding="cp1252")
    assert staged.read_source(path, spec, "source/l.csv").frame.collect()["titre"].to_list() == ["Méthodes"]
    with pytest.raises(SourceDataError, match="not valid UTF-8"):
        staged.read_source(path, TableSpec(name="l", pattern="l.csv"), "source/l.csv")
