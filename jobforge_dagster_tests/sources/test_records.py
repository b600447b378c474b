"""A source file read back record by record: the header record's raw text is the text its cells are read from."""

from pathlib import Path

from jobforge_dagster.sources.records import SourceText


def test_the_header_record_raw_text_has_no_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "noc.csv"
    path.write_bytes("\ufeffCode,Title\r\n00010,Legislators\r\n".encode())
    raw, cells = SourceText(path).record(0, 1)
    assert (raw, cells) == ("Code,Title", {"Code": "Code", "Title": "Title"})
    assert SourceText(path).record(1, 2) == ("00010,Legislators", {"Code": "00010", "Title": "Legislators"})
