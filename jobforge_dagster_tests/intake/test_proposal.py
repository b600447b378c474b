"""A proposed registry entry: its text and comments, the table it declares read by the pure staged and bronze
transforms, and its addition to a registry file without touching the other entries' text."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from jobforge_dagster.intake.dialect import detect_dialect
from jobforge_dagster.intake.profile import profile_frame, read_text
from jobforge_dagster.intake.proposal import append_entry, appended_text, propose_entry, proposed_spec
from jobforge_dagster.layers import SOURCE_ROW
from jobforge_dagster.registry.file import REGISTRY_FILE, SourceRegistry
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.dialect import EncodingRefused
from jobforge_dagster.transforms.bronze import check_casts, plan_for, standardise
from jobforge_dagster.transforms.staged import add_provenance, read_source
from jobforge_dagster_tests.conftest import REAL_DATA, require_real_data
from jobforge_dagster_tests.intake.test_dialect import EXCEL_FR_CA
from jobforge_dagster_tests.intake.test_profile import dim_noc_codes

REAL_FILES = sorted(path.name for path in REAL_DATA.glob("*.csv"))
KNOWN = {"0", "00012", "21232", "41200"}


def propose(path: Path, known: set[str] | frozenset[str] = KNOWN) -> str:
    """The entry `jobforge add-source` would print; a file that is not UTF-8 is read in the encoding it likely is."""
    try:
        dialect = detect_dialect(path)
    except EncodingRefused as refused:
        dialect = detect_dialect(path, encoding=refused.likely)
    return propose_entry(path.name, dialect, profile_frame(read_text(path, dialect), known))


def bronze(path: Path, spec: TableSpec) -> pl.DataFrame:
    """The file through the pure staged and bronze transforms under `spec`; a cell its types refuse raises."""
    read = read_source(path, spec, path.name)
    staged = add_provenance(read.frame, path.name, "batch", datetime(2026, 1, 1, tzinfo=UTC))
    plan = plan_for(spec, staged.collect_schema().names())
    check_casts(staged, plan, path.name)
    return standardise(staged, plan).collect()


def test_the_excel_french_canadian_export(tmp_path: Path) -> None:
    path = tmp_path / "postes_vacants.csv"
    path.write_bytes(EXCEL_FR_CA)
    entry = propose(path)
    assert entry == (
        "  # postes_vacants.csv: 4 columns, 3 records (proposed by jobforge add-source)\n"
        "  - name: postes_vacants\n"
        '    pattern: "postes_vacants.csv"  # this file exactly\n'
        '    description: ""  # what one record is\n'
        '    business_purpose: ""  # what the table is for\n'
        '    separator: ";"  # semicolon, sniffed: 4 fields in the header and in each of the first 3 records\n'
        '    key_columns: ["code_cnp_2021"]  # unique and never empty in all 3 records; also unique: ["region"], '
        '["postes_vacants"], ["salaire_horaire"]\n'
        '    decimal_mark: ","  # 2 numeric columns read as decimal comma, thousands not separated\n'
        "    types:  # every value is a number that writes back exactly as written\n"
        "      postes_vacants: int64\n"
        "      salaire_horaire: decimal(38,2)\n"
        "    references:  # every code resolves in dim_noc.noc_code: rows whose code does not go to quarantine\n"
        "      - {column: code_cnp_2021}\n"
        "    # kept as text: code_cnp_2021 (codes with leading zeros)\n"
    )
    spec = proposed_spec(entry)
    assert bronze(path, spec).drop(pl.selectors.starts_with("_")).to_dicts() == [
        {"code_cnp_2021": "21232", "region": "Montréal", "postes_vacants": 1250, "salaire_horaire": Decimal("42.50")},
        {"code_cnp_2021": "00012", "region": "Québec", "postes_vacants": 35, "salaire_horaire": Decimal("58.75")},
        {
            "code_cnp_2021": "41200",
            "region": "Trois-Rivières",
            "postes_vacants": 7,
            "salaire_horaire": Decimal("31.00"),
        },
    ]


def test_a_tab_file_in_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "villes.txt"
    path.write_bytes("ville\tprovince\tpopulation\nMontréal\tQC\t1762949\nGaspé\tQC\t15063\n".encode("cp1252"))
    entry = propose(path)
    assert '    separator: "\\t"  # tab, sniffed: 3 fields' in entry
    assert "    encoding: cp1252  # not UTF-8; check its accents in the preview\n" in entry
    spec = proposed_spec(entry)
    assert (spec.separator, spec.encoding, spec.key_columns) == ("\t", "cp1252", ["ville"])
    assert bronze(path, spec).get_column("ville").to_list() == ["Montréal", "Gaspé"]


def test_a_file_without_a_key_says_so(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("commentaire\na;b\na;b\n")
    entry = propose(path)
    assert "  # no key: no column, nor combination of up to 3, is unique and never empty in 2 records\n" in entry
    assert proposed_spec(entry).key_columns == []


def test_append_keeps_every_other_entry_byte_for_byte(tmp_path: Path) -> None:
    registry = tmp_path / "sources.yaml"
    registry.write_bytes(REGISTRY_FILE.read_bytes())
    source = tmp_path / "postes_vacants.csv"
    source.write_bytes(EXCEL_FR_CA)
    entry = propose(source)
    loaded = append_entry(registry, entry)
    text = registry.read_text(encoding="utf-8")
    assert text == REGISTRY_FILE.read_text(encoding="utf-8") + "\n" + entry
    assert loaded.tables == [*SourceRegistry.load(REGISTRY_FILE).tables, proposed_spec(entry)]
    assert SourceRegistry.load(registry) == loaded
    taken = "the name 'postes_vacants' is already taken by table 'postes_vacants', declared before it"
    with pytest.raises(ValueError, match=rf"the entry is refused, nothing written: sources.yaml, line \d+, .*{taken}"):
        append_entry(registry, entry)
    assert registry.read_text(encoding="utf-8") == text
    assert sorted(path.name for path in tmp_path.iterdir()) == ["postes_vacants.csv", "sources.yaml"]


def test_append_aligns_with_the_registry_items() -> None:
    text = "# my tables\ntables:\n- name: a\n  pattern: a.csv  # first\n"
    entry = "  # new\n  - name: b\n    pattern: b.csv\n"
    assert appended_text(text, entry) == text + "\n# new\n- name: b\n  pattern: b.csv\n"
    assert appended_text("", entry) == "tables:\n" + entry
    assert appended_text("x-common: &c {domain: a}", entry) == "x-common: &c {domain: a}\ntables:\n" + entry


@pytest.mark.parametrize(
    "text",
    ["tables:\n  - {name: a, pattern: a.csv}\nx-later: 1\n", "tables: [{name: a, pattern: a.csv}]\n", "- a\n"],
)
def test_append_refuses_a_registry_it_cannot_extend_and_leaves_it(tmp_path: Path, text: str) -> None:
    registry = tmp_path / "sources.yaml"
    registry.write_text(text)
    with pytest.raises(ValueError):
        append_entry(registry, "  - name: b\n    pattern: b.csv\n")
    assert registry.read_text() == text
    assert [path.name for path in tmp_path.iterdir()] == ["sources.yaml"]


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_file_proposal_loads_and_keeps_codes_as_text(name: str) -> None:
    path = require_real_data() / name
    entry = propose(path, dim_noc_codes())
    spec = proposed_spec(entry)
    table = bronze(path, spec)
    assert table.height == detect_dialect(path).records
    for column in spec.key_columns:
        assert table.schema[column] == pl.String
    zeros = [c for c in table.columns if table.schema[c] == pl.String and table[c].str.contains(r"^-?0[0-9]").any()]
    assert not set(zeros) & set(spec.types)
    raw = read_text(path, detect_dialect(path))
    for column in spec.types:  # a typed column is null only where the file's cell is empty
        empty = raw.to_series(table.columns.index(column)).str.strip_chars().eq("").sum()
        assert table.schema[column] != pl.String and table.get_column(column).null_count() == empty, column


def test_the_32_real_proposals_append_into_one_registry(tmp_path: Path) -> None:
    registry = tmp_path / "sources.yaml"
    for name in REAL_FILES:
        append_entry(registry, propose(require_real_data() / name, dim_noc_codes()))
    tables = SourceRegistry.load(registry).tables
    assert len(tables) == 32 and all(table.matches(name) for table, name in zip(tables, REAL_FILES, strict=True))
    assert SOURCE_ROW not in {column for table in tables for column in table.types}
