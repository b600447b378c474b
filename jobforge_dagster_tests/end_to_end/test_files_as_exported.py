"""Files as agencies and spreadsheets export them, written by the tests and run through the main job: separators
sniffed or declared, decimal commas, encodings, and files that would load as one column refused."""

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from jobforge_dagster.catalog.models import LayerTransitionLog, TableMetadata
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import SOURCE_LINE, SOURCE_ROW, Layer
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.numbers import NumberFormat
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.dialect import SourceDialect
from jobforge_dagster.trace.tracer import Tracer
from jobforge_dagster_tests.transforms.test_source_csv import Case

BOM = b"\xef\xbb\xbf"
#: Excel's "CSV UTF-8" with French-Canadian regional settings: BOM, `;`, CRLF, decimal commas, a code kept as text.
EXCEL_FR_CA = (
    BOM
    + (
        "code_cnp_2021;région;postes_vacants;salaire_horaire\r\n"
        "21232;Montréal;1250;42,50\r\n"
        "00012;Québec;35;58,75\r\n"
        "41200;Trois-Rivières;7;31,00\r\n"
    ).encode()
)
#: The same export without decimals: once loaded "successfully" as ONE column.
EXCEL_FR_CA_WHOLE = BOM + "code_cnp_2021;région;postes_vacants\r\n21232;Montréal;1250\r\n00012;Québec;35\r\n".encode()
HEADER = ["code_cnp_2021", "région", "postes_vacants", "salaire_horaire"]


def metadata(case: Case, table: str, layer: Layer) -> TableMetadata:
    found = CatalogManager(case.config).load_table_metadata(table, layer.value)
    assert found is not None, f"{layer.value}/{table} is not in the catalog"
    return found


def log(case: Case, table: str, layer: Layer) -> LayerTransitionLog:
    return next(
        entry for entry in CatalogManager(case.config).get_lineage_logs(table=table) if entry.target_layer == layer
    )


def test_an_excel_french_canadian_export_loads_with_its_columns_and_numbers(tmp_path: Path) -> None:
    case = Case(tmp_path, "postes.csv", EXCEL_FR_CA)
    assert case.run().success
    staged = pl.read_parquet(case.config.table_path(Layer.STAGED, "postes"))
    assert staged.columns[:4] == HEADER
    assert staged["salaire_horaire"].to_list() == ["42,50", "58,75", "31,00"]  # staged keeps the text exactly
    assert staged[SOURCE_LINE].to_list() == [2, 3, 4]
    gold = case.gold("postes")
    assert gold["code_cnp_2021"].to_list() == ["21232", "00012", "41200"]  # a code with leading zeros stays text
    assert gold["postes_vacants"].to_list() == [1250, 35, 7]
    assert gold.schema["salaire_horaire"] == pl.Decimal(38, 2)
    assert gold["salaire_horaire"].to_list() == [Decimal("42.50"), Decimal("58.75"), Decimal("31.00")]
    sniffed = "sniffed: 4 fields in the header and in each of the first 3 records"
    dialect = SourceDialect(
        separator=";", separator_found=sniffed, encoding="utf-8", encoding_found="UTF-8, the default", bom=True
    )
    assert metadata(case, "postes", Layer.STAGED).source_dialect == dialect
    assert f'separator ";" (semicolon): {sniffed}' in log(case, "postes", Layer.STAGED).transforms_applied
    comma = NumberFormat(decimal_mark=",")
    assert metadata(case, "postes", Layer.SILVER).number_format == comma
    silver = log(case, "postes", Layer.SILVER)
    assert silver.number_format == comma
    assert "numbers read as written with decimal comma, thousands not separated" in silver.transforms_applied
    assert silver.inferred_types == {"postes_vacants": "int64", "salaire_horaire": "decimal(38,2)"}


def test_the_same_export_declared_parses_its_numbers_under_the_declared_convention(tmp_path: Path) -> None:
    rows = "code;salaire;postes\r\n21232;1\u00a0234,50;1 250\r\n00012;58,75;12\u202f000\r\n"
    spec = TableSpec(
        name="postes",
        pattern="postes.csv",
        separator=";",
        decimal_mark=",",
        thousands_separators=[" ", "\u00a0", "\u202f"],
        types={"salaire": "decimal(10,2)", "postes": "int64"},
    )
    case = Case(tmp_path, "postes.csv", BOM + rows.encode(), spec)
    assert case.run().success
    gold = case.gold("postes")
    assert gold["salaire"].to_list() == [Decimal("1234.50"), Decimal("58.75")]
    assert gold["postes"].to_list() == [1250, 12000]
    assert metadata(case, "postes", Layer.STAGED).source_dialect.separator_found == "declared in the registry"
    assert metadata(case, "postes", Layer.SILVER).number_format is None  # declared: its types rule


@pytest.mark.parametrize(
    ("separator", "name"),
    [("\t", "tab"), ("|", "vertical bar")],
)
def test_tab_and_vertical_bar_files_are_sniffed(tmp_path: Path, separator: str, name: str) -> None:
    rows = [["code", "title", "note"], ["00010", "Legislators, senior", "a;b"], ["00011", "Managers", "c,d"]]
    content = "".join(separator.join(row) + "\n" for row in rows)
    case = Case(tmp_path, "codes.txt", content)
    assert case.run().success
    gold = case.gold("codes")
    assert gold.select("code", "title", "note").rows() == [tuple(row) for row in rows[1:]]
    found = metadata(case, "codes", Layer.STAGED).source_dialect
    assert (found.separator, found.separator_found.startswith("sniffed: 3 fields")) == (separator, True)
    said = f"separator {json.dumps(separator)} ({name}): sniffed: 3 fields in the header and in each of the first 2"
    assert any(line.startswith(said) for line in log(case, "codes", Layer.STAGED).transforms_applied)


CP1252 = "code;ville;montant\r\n21232;Laval;3\r\n21233;Montréal;1250\r\n21234;Trois-Rivières;7\r\n".encode("cp1252")


def test_an_undeclared_cp1252_file_is_refused_naming_the_line_and_the_encoding(tmp_path: Path) -> None:
    error = Case(tmp_path, "villes.csv", CP1252).error()
    assert error == (
        "source/villes.csv, line 3: not valid UTF-8: byte 0xE9 in b'21233;Montr\\xe9al;1250'; it is most likely "
        "cp1252: declare `encoding: cp1252` in its registry entry"
    )


def test_a_declared_cp1252_file_is_decoded_to_utf8_in_staged_with_the_conversion_recorded(tmp_path: Path) -> None:
    spec = TableSpec(name="villes", pattern="villes.csv", encoding="cp1252", separator=";", key_columns=["code"])
    case = Case(tmp_path, "villes.csv", CP1252, spec)
    assert case.run().success
    staged = pl.read_parquet(case.config.table_path(Layer.STAGED, "villes"))
    assert staged["ville"].to_list() == ["Laval", "Montréal", "Trois-Rivières"]
    assert staged[SOURCE_LINE].to_list() == [2, 3, 4]
    dialect = metadata(case, "villes", Layer.STAGED).source_dialect
    assert (dialect.encoding, dialect.encoding_found, dialect.converted) == ("cp1252", "declared in the registry", True)
    assert (
        "decoded from cp1252 to UTF-8 (declared in the registry)"
        in log(case, "villes", Layer.STAGED).transforms_applied
    )


def test_a_file_that_would_load_as_one_column_is_sniffed_when_undeclared(tmp_path: Path) -> None:
    case = Case(tmp_path, "postes.csv", EXCEL_FR_CA_WHOLE)
    assert case.run().success
    assert case.gold("postes").columns[:3] == ["code_cnp_2021", "region", "postes_vacants"]


def test_a_file_that_would_load_as_one_column_is_refused_when_declared_without_its_separator(tmp_path: Path) -> None:
    case = Case(tmp_path, "postes.csv", EXCEL_FR_CA_WHOLE, TableSpec(name="postes", pattern="postes.csv"))
    assert case.error() == (
        "source/postes.csv, line 1: the header is one cell holding 2 semicolons ('code_cnp_2021;région;postes_vacants'"
        "), so the file would load as one column; to read it as 3 columns separated by semicolons, declare "
        '`separator: ";"` in its registry entry'
    )
    assert not case.config.table_path(Layer.STAGED, "postes").exists()


def test_a_quoted_header_cell_holding_semicolons_is_refused_even_undeclared(tmp_path: Path) -> None:
    error = Case(tmp_path, "notes.csv", '"code;titre"\n"1;a"\n').error()
    assert error.startswith("source/notes.csv, line 1: the header is one cell holding 1 semicolon")


def test_one_record_is_named_the_same_way_by_staging_and_bronze(tmp_path: Path) -> None:
    """Record 2 starts on line 4 (record 1 spans two lines): staging and bronze both say so, and name the header."""
    start = 'Code,Employment,Note\n00010,5,"two\nlines"\n'
    staging = Case(tmp_path / "a", "e.csv", start + "00011,N/A\n").error()
    assert staging == "source/e.csv, line 4 (record 2): expected 3 fields, found 2 (line starts '00011,N/A')"
    spec = TableSpec(name="e", pattern="e.csv", types={"employment": "int64"})
    case = Case(tmp_path / "b", "e.csv", start + "00011,N/A,\n", spec)
    assert case.error() == "source/e.csv, line 4 (record 2), column 'Employment': value 'N/A' is not a valid Int64"
    staged = pl.read_parquet(case.config.table_path(Layer.STAGED, "e"))  # staged was built: the record is there
    assert staged.filter(pl.col(SOURCE_ROW) == 2)[SOURCE_LINE].to_list() == [4]


def test_a_sniffed_file_is_traced_back_with_the_separator_it_was_read_with(tmp_path: Path) -> None:
    case = Case(tmp_path, "postes.csv", EXCEL_FR_CA)
    assert case.run().success
    with GoldQueryEngine(case.config) as engine:
        traces = Tracer(case.config, engine, SourceRegistry()).trace("postes", "code_cnp_2021 = '00012'")
    source = traces[0]["source"]
    assert (source["record"], source["line"], source["raw"]) == (2, 3, "00012;Québec;35;58,75")
    assert source["cells"] == dict(zip(HEADER, ["00012", "Québec", "35", "58,75"], strict=True))
