"""`jobforge add-source`: files a user brings, written here, reported, previewed and registered."""

import subprocess
from pathlib import Path

import pytest
import yaml

from jobforge_dagster.cli import main
from jobforge_dagster.registry.file import REGISTRY_FILE, SourceRegistry
from jobforge_dagster_tests.dagster_cli import BIN
from jobforge_dagster_tests.end_to_end.test_files_as_exported import CP1252, EXCEL_FR_CA


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data root that does not exist: add-source must create nothing there."""
    monkeypatch.setenv("JOBFORGE_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.delenv("JOBFORGE_SOURCE_ROOT", raising=False)
    return tmp_path / "data"


def add_source(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    status = main(["add-source", *args])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def add_file(capsys: pytest.CaptureFixture, folder: Path, name: str, data: bytes, *args: str) -> tuple[int, str]:
    """`jobforge add-source` on a file written into `folder`."""
    (folder / name).write_bytes(data)
    return add_source(capsys, str(folder / name), *args)


def proposed(output: str) -> dict:
    """The registry entry add-source printed, parsed."""
    entry = output.split("Proposed registry entry (jobforge add-source --write adds it):\n", 1)[1].split("\n\n")[0]
    (item,) = yaml.safe_load(entry)
    return item


def test_an_excel_french_canadian_export_is_reported_proposed_and_previewed(
    tmp_path: Path, root: Path, capsys: pytest.CaptureFixture
) -> None:
    status, output = add_file(capsys, tmp_path, "postes.csv", EXCEL_FR_CA, "--preview")
    assert status == 0
    for line in (
        "  encoding       utf-8, with a byte order mark",
        "  line endings   CRLF",
        '  separator      ";" (semicolon), sniffed: 4 fields in the header and in each of the first 3 records',
        "  header         4 columns: code_cnp_2021, région, postes_vacants, salaire_horaire",
        "  records        3 (4 lines, 0 records spanning several lines, 0 blank lines)",
        "  leading zeros  code_cnp_2021 (codes, kept as text)",
        "    decimal comma, thousands not separated: postes_vacants int64, salaire_horaire decimal(38,2)",
        "    code_cnp_2021: NOC 2021 codes, 3 distinct",
    ):
        assert line in output.splitlines(), line
    entry = proposed(output)
    assert (entry["name"], entry["separator"], entry["decimal_mark"]) == ("postes", ";", ",")
    assert entry["types"] == {"postes_vacants": "int64", "salaire_horaire": "decimal(38,2)"}
    assert entry["key_columns"] == ["code_cnp_2021"]
    for layer in ("staged: 3 rows", "bronze: 3 rows", "silver: 3 rows", "gold: 3 rows"):
        assert layer in output
    staged, bronze = output.split("\nstaged: 3 rows")[1].split("\nbronze: 3 rows")
    assert " 42,50 " in staged and " 42.50 " not in staged  # staged keeps the text
    assert " 42.50 " in bronze and "decimal[38,2]" in bronze  # bronze on: the declared decimal
    assert not root.exists(), "add-source created the data root"


def test_a_cp1252_file_is_told_and_read_in_the_encoding_it_most_likely_is(
    tmp_path: Path, root: Path, capsys: pytest.CaptureFixture
) -> None:
    status, output = add_file(capsys, tmp_path, "villes.csv", CP1252, "--preview")
    assert status == 0
    assert (
        "  encoding       cp1252, the most likely: it is not UTF-8 (source/villes.csv, line 3: not valid UTF-8: "
        "byte 0xE9 in b'21233;Montr\\xe9al;1250'; it is most likely cp1252: declare `encoding: cp1252` in its "
        "registry entry)"
    ) in output
    assert proposed(output)["encoding"] == "cp1252"
    assert " Montréal " in output and " Trois-Rivières " in output  # decoded to UTF-8 in staged


def test_rows_silver_sets_aside_are_shown_with_their_line_and_reason(
    tmp_path: Path, root: Path, capsys: pytest.CaptureFixture
) -> None:
    registry = tmp_path / "sources.yaml"
    rule = "{column: code, pattern: '\\d{5}'}"
    registry.write_text(f"tables:\n  - name: codes\n    pattern: codes.csv\n    rules: [{rule}]\n", encoding="utf-8")
    path = tmp_path / "codes.csv"
    path.write_text('code,title\n00010,"Legislators\nand members"\nABC,Not a code\n', encoding="utf-8")
    status, output = add_source(capsys, str(path), "--preview", "--registry", str(registry))
    assert status == 0
    assert "already declared: table 'codes'; the preview uses that entry" in output
    assert "quarantined by silver: 1 rows; the first:\n  line 4 (record 2): rule failed: code matches \\d{5}" in output
    assert "silver: 1 rows" in output


def test_a_file_a_run_would_fail_on_says_where_and_is_not_written(
    tmp_path: Path, root: Path, capsys: pytest.CaptureFixture
) -> None:
    registry = tmp_path / "sources.yaml"
    registry.write_text(REGISTRY_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    path = tmp_path / "pay.csv"
    path.write_text("code,pay\n00010,5\n00011,x\n", encoding="utf-8")
    registry.write_text(
        registry.read_text() + "\n  - name: pay\n    pattern: pay.csv\n    types: {pay: int64}\n", encoding="utf-8"
    )
    status, output = add_source(capsys, str(path), "--preview", "--write", "--registry", str(registry))
    assert status == 1
    failed = "the run would fail at bronze: source/pay.csv, line 3 (record 2), column 'pay': value 'x' is not a valid"
    assert failed in output
    assert "staged: 2 rows" in output and "bronze: 2 rows" not in output
    assert "not written: the preview shows a run would fail; fix the file or the entry first" in output
    assert SourceRegistry.load(registry).tables[-1].name == "pay"  # nothing appended after it


def test_write_appends_the_entry_and_leaves_every_other_entry_as_it_was(
    tmp_path: Path, root: Path, capsys: pytest.CaptureFixture
) -> None:
    registry = tmp_path / "sources.yaml"
    before = REGISTRY_FILE.read_text(encoding="utf-8")
    registry.write_text(before, encoding="utf-8")
    path = tmp_path / "postes.csv"
    path.write_bytes(EXCEL_FR_CA)
    status, output = add_source(capsys, str(path), "--write", "--name", "postes_vacants", "--registry", str(registry))
    assert status == 0
    assert f"added table 'postes_vacants' to {registry}; copy {path} to {root}/source/postes.csv" in output
    text = registry.read_text(encoding="utf-8")
    assert text.startswith(before)
    loaded = SourceRegistry.load(registry)
    assert loaded.problems == [] and loaded.tables[:-1] == SourceRegistry.load(REGISTRY_FILE).tables
    assert (loaded.tables[-1].name, loaded.tables[-1].separator) == ("postes_vacants", ";")
    status, output = add_source(capsys, str(path), "--write", "--registry", str(registry))
    assert status == 1 and "not written: source/postes.csv is already declared as table 'postes_vacants'" in output
    assert registry.read_text(encoding="utf-8") == text


def test_the_console_script_runs_from_another_folder_and_names_a_missing_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BIN / "jobforge"), "add-source", "nowhere.csv"], cwd=tmp_path, capture_output=True, text=True
    )
    assert (done.returncode, done.stderr.strip()) == (2, "jobforge add-source: nowhere.csv is not a file")
    assert list(tmp_path.iterdir()) == []
