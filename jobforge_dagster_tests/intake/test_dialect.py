"""A file's dialect read from its bytes: files as agencies export them, refusals that say what to declare, and the
32 real files read exactly as the staged reader reads them."""

import csv
from pathlib import Path

import pytest
import yaml

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.intake.dialect import Dialect, detect_dialect, dialect_of
from jobforge_dagster.layers import SOURCE_LINE
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.dialect import EncodingRefused, one_column_refusal
from jobforge_dagster.transforms.staged import read_source
from jobforge_dagster_tests.conftest import REAL_DATA, require_real_data

BOM = b"\xef\xbb\xbf"
#: What Excel writes for "CSV UTF-8" with French-Canadian regional settings: BOM, `;`, CRLF, decimal commas.
EXCEL_FR_CA = BOM + "code_cnp_2021;région;postes_vacants;salaire_horaire\r\n21232;Montréal;1250;42,50\r\n".encode()
EXCEL_FR_CA += "00012;Québec;35;58,75\r\n41200;Trois-Rivières;7;31,00\r\n".encode()
#: The same export without decimals: today it loads "successfully" as one column.
EXCEL_FR_CA_WHOLE = BOM + "code_cnp_2021;région;postes_vacants\r\n21232;Montréal;1250\r\n".encode()
REAL_FILES = sorted(path.name for path in REAL_DATA.glob("*.csv"))


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def staged_header(path: Path, spec: TableSpec) -> tuple[list[str], int | None]:
    """The header and record count the staged reader finds, for comparison."""
    read = read_source(path, spec, path.name)
    return [name for name in read.frame.collect_schema().names() if name != SOURCE_LINE], read.records


def test_excel_french_canadian_export(tmp_path: Path) -> None:
    path = write(tmp_path, "postes.csv", EXCEL_FR_CA)
    assert detect_dialect(path) == Dialect(
        encoding="utf-8",
        bom=True,
        line_ending="CRLF",
        separator=";",
        separator_found="sniffed: 4 fields in the header and in each of the first 3 records",
        header=["code_cnp_2021", "région", "postes_vacants", "salaire_horaire"],
        records=3,
        lines=4,
        multiline_records=0,
    )
    # the sniffed separator, declared, makes the staged reader see the same four columns
    assert staged_header(path, TableSpec(name="postes", pattern="*", separator=";")) == (
        ["code_cnp_2021", "région", "postes_vacants", "salaire_horaire"],
        3,
    )


def test_tab_file_whose_values_hold_commas(tmp_path: Path) -> None:
    data = b'id\tname\tamount\n1\tSmith, John\t42.50\n2\t"a\tquoted, tab"\t1,25\n'
    dialect = detect_dialect(write(tmp_path, "tab.txt", data))
    assert (dialect.separator, dialect.header, dialect.records) == ("\t", ["id", "name", "amount"], 2)


def test_pipe_file_whose_values_hold_commas_and_semicolons(tmp_path: Path) -> None:
    data = "code|titre|montant\n21232|Ingénieurs, logiciel; TI|42,50\n21233|Web; design, UX|1,25\n".encode()
    dialect = detect_dialect(write(tmp_path, "pipe.csv", data))
    assert (dialect.separator, dialect.header, dialect.records, dialect.bom) == (
        "|",
        ["code", "titre", "montant"],
        2,
        False,
    )


def test_separators_inside_quoted_fields_do_not_fool_it() -> None:
    """Quoted fields holding semicolons and doubled quotes: the standard library's sniffer picks `;` here."""
    text = 'code,label\n00010,"Legislators; ""MLA"";"\n00011,"Senior; ""managers"";"\n'
    assert csv.Sniffer().sniff(text, delimiters=",;\t|").delimiter == ";"
    dialect = dialect_of(text.encode(), "quoted.csv")
    assert (dialect.separator, dialect.header, dialect.records) == (",", ["code", "label"], 2)


def test_a_semicolon_file_with_a_quoted_comma_in_its_header() -> None:
    data = 'code;"nom, prénom";montant\r\n1;"Roy, Luc";42,50\r\n'.encode()
    assert dialect_of(data, "f.csv").header == ["code", "nom, prénom", "montant"]


def test_one_column_file_whose_values_hold_semicolons(tmp_path: Path) -> None:
    """A genuine one-column file stays one column, and is not refused."""
    dialect = detect_dialect(write(tmp_path, "notes.csv", b"commentaire\na;b\nc;d;e\nsans point-virgule\n"))
    assert (dialect.separator, dialect.header, dialect.records) == (",", ["commentaire"], 3)
    assert (
        dialect.separator_found == "sniffed: no comma, semicolon, tab or vertical bar splits the header, so one column"
    )
    assert one_column_refusal(dialect.header, "notes.csv") is None


@pytest.mark.parametrize(
    ("separator", "data", "said"),
    [
        (";", EXCEL_FR_CA_WHOLE, "2 semicolons ('code_cnp_2021;région;postes_vacants')"),
        ("\t", b"code\tregion\tpostes\n21232\tLaval\t3\n", "2 tabs ('code\\tregion\\tpostes')"),
        ("|", b"code|region|postes\n21232|Laval|3\n", "2 vertical bars ('code|region|postes')"),
    ],
)
def test_a_header_read_as_one_cell_is_refused_naming_the_line_that_loads_it(
    tmp_path: Path, separator: str, data: bytes, said: str
) -> None:
    path = write(tmp_path, "export.csv", data)
    with pytest.raises(SourceDataError) as refused:  # declared without a separator: `,`, the file is never one column
        read_source(path, TableSpec(name="export", pattern="*"), "source/export.csv")
    error = refused.value
    assert error.line == 1
    header = data.decode("utf-8-sig").splitlines()[0]
    assert one_column_refusal([header], "source/export.csv") is not None
    name = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}[separator]
    registry_line = {";": 'separator: ";"', "\t": 'separator: "\\t"', "|": 'separator: "|"'}[separator]
    columns = len(header.split(separator))
    assert str(error) == (
        f"source/export.csv, line 1: the header is one cell holding {said}, so the file would load as one column; "
        f"to read it as {columns} columns separated by {name}, declare `{registry_line}` in its registry entry"
    )
    # the line it names, put in a registry entry, loads the file with all its columns
    spec = TableSpec(name="export", pattern="*", **yaml.safe_load(registry_line))
    assert len(staged_header(path, spec)[0]) == columns
    # undeclared, the file's separator is sniffed
    assert len(staged_header(path, TableSpec(name="export", pattern="*", declared=False))[0]) == columns


def test_cp1252_file_is_refused_naming_the_line_and_the_likely_encoding(tmp_path: Path) -> None:
    data = "code;ville;montant\r\n21232;Laval;3\r\n21233;Montréal;1250\r\n".encode("cp1252")
    path = write(tmp_path, "villes.csv", data)
    with pytest.raises(EncodingRefused) as refused:
        detect_dialect(path, "source/villes.csv")
    assert (refused.value.line, refused.value.likely) == (3, "cp1252")
    assert str(refused.value) == (
        "source/villes.csv, line 3: not valid UTF-8: byte 0xE9 in b'21233;Montr\\xe9al;1250'; it is most likely "
        "cp1252: declare `encoding: cp1252` in its registry entry"
    )
    declared = detect_dialect(path, encoding=refused.value.likely)
    assert (declared.encoding, declared.bom, declared.separator, declared.records) == ("cp1252", False, ";", 2)
    assert staged_header(path, TableSpec(name="villes", pattern="*", separator=";", encoding="cp1252"))[1] == 2


def test_a_declared_encoding_that_does_not_decode_is_refused_with_its_line() -> None:
    with pytest.raises(SourceDataError, match=r"^f.csv, line 2: not valid cp1252: byte 0x81 in b'x\\x81'$"):
        dialect_of(b"a\nx\x81\n", "f.csv", encoding="cp1252")


@pytest.mark.parametrize(
    ("data", "ending", "lines", "multiline"),
    [
        (b"a,b\n1,2\n", "LF", 2, 0),
        (b"a,b\r\n1,2\r\n", "CRLF", 2, 0),
        (b"a,b\r\n1,2\n3,4\r\n", "mixed", 3, 0),
        (b"a,b\r1,2\r", "CR", 1, 0),
        (b"a,b", "none", 1, 0),
        (b'a,b\r\n1,"two\nlines"\r\n3,4\r\n', "CRLF", 4, 1),  # Excel: LF inside a cell, CRLF after each record
        (b'a,b\r\n1,"a CR\ralone"\r\n', "CRLF", 2, 0),  # a CR alone is data (as in example-titles), not a line
    ],
)
def test_line_endings_and_records_spanning_lines(data: bytes, ending: str, lines: int, multiline: int) -> None:
    dialect = dialect_of(data, "f.csv")
    assert (dialect.line_ending, dialect.lines, dialect.multiline_records) == (ending, lines, multiline)


def test_a_file_without_text_is_refused() -> None:
    with pytest.raises(SourceDataError, match="^f.csv, line 1: the file holds no text"):
        dialect_of(BOM + b"\r\n", "f.csv")


def test_the_standard_library_sniffer_fails_on_a_real_file() -> None:
    """Why the sniffer is JobForge's own: `csv.Sniffer` cannot tell the separator of this published file."""
    path = require_real_data() / "additional-information_oasis_2023_v1.0.csv"
    with pytest.raises(csv.Error, match="Could not determine delimiter"):
        csv.Sniffer().sniff(path.read_text(encoding="utf-8-sig")[:65536], delimiters=",;\t|")
    assert detect_dialect(path).separator == ","


def test_all_32_real_files_are_found() -> None:
    require_real_data()
    assert len(REAL_FILES) == 32


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_file_dialect_agrees_with_the_staged_reader(name: str) -> None:
    path = require_real_data() / name
    dialect = detect_dialect(path)
    data = path.read_bytes()
    assert (dialect.separator, dialect.encoding, dialect.bom) == (",", "utf-8", data.startswith(BOM))
    assert (dialect.header, dialect.records) == staged_header(path, TableSpec(name="t", pattern="*"))
    assert dialect.lines == data.count(b"\n") + (not data.endswith(b"\n"))
    assert dialect.line_ending == ("CRLF" if name.startswith("example-titles") else "LF")
    assert one_column_refusal(dialect.header, name) is None
