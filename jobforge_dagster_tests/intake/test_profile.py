"""Profiling a file's columns: codes with leading zeros stay text, only truly unique keys are proposed, numbers
under each convention, NOC and OaSIS codes resolved against dim_noc; on files the tests write and the 32 real files."""

import csv
import re
from functools import cache
from pathlib import Path

import polars as pl
import pytest

from jobforge_dagster.intake.dialect import detect_dialect
from jobforge_dagster.intake.profile import CodeColumn, NumberFit, Profile, profile_frame, read_text
from jobforge_dagster.registry.numbers import NumberFormat
from jobforge_dagster_tests.conftest import REAL_DATA, require_real_data

REAL_FILES = sorted(path.name for path in REAL_DATA.glob("*.csv"))
KNOWN = {"0", "00", "10", "00010", "00011", "21232", "41200"}


@cache
def dim_noc_codes() -> frozenset[str]:
    """`dim_noc.noc_code`: the codes of the NOC structure file, read with the csv module."""
    with open(require_real_data() / "noc_structure_en.csv", encoding="utf-8-sig", newline="") as handle:
        return frozenset(row["Code - NOC 2021 V1.0"] for row in csv.DictReader(handle))


def profile_of(tmp_path: Path, text: str, known: set[str] | frozenset[str] = KNOWN) -> Profile:
    path = tmp_path / "file.csv"
    path.write_text(text, encoding="utf-8")
    return profile_frame(read_text(path, detect_dialect(path)), known)


def test_a_french_canadian_file(tmp_path: Path) -> None:
    text = (
        "code;noc;oasis;libellé;montant\r\n"
        "00123;21232;21232.00;A;42,50\r\n"
        "00124;00010;00010.00;B;1 234,50\r\n"
        "00125;41200;21232.1;A;7,00\r\n"
    )
    profile = profile_of(tmp_path, text)
    assert [column.name for column in profile.columns] == ["code", "noc", "oasis", "libelle", "montant"]
    assert [column.leading_zeros for column in profile.columns] == [True, True, True, False, False]
    assert profile.keys == [["code"], ["noc"], ["oasis"], ["montant"]]
    french = NumberFormat(decimal_mark=",", thousands_separators=(" ",))
    assert profile.number_format == french
    assert profile.numbers(french) == {"montant": "decimal(38,2)"}
    assert profile.column("montant").numbers == [NumberFit(format=french, type="decimal(38,2)")]
    assert profile.column("noc").codes == CodeColumn(
        kind="noc", codes=3, shortened=0, others=[], distinct=3, resolved=3, unresolved=[], every_known=False
    )
    assert profile.column("oasis").codes == CodeColumn(
        kind="oasis", codes=3, shortened=1, others=[], distinct=3, resolved=3, unresolved=[], every_known=False
    )


def test_a_key_of_two_columns_when_no_column_is_unique(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "region,year,value\nA,2023,1\nA,2024,1\nB,2023,2\n")
    assert profile.keys == [["region", "year"], ["year", "value"]]


def test_values_equal_once_trimmed_or_empty_are_no_key(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "id,label,other\nA,x,1\nA ,,1\nB,y,1\n")
    assert profile.keys == []
    assert (profile.column("label").empty, profile.column("id").distinct) == (1, 2)


def test_codes_equal_once_restored_are_no_key(tmp_path: Path) -> None:
    """`10` is `00010` with its zeros lost: silver's pad_codes makes them equal, so the code is no key."""
    codes = [f"{21230 + n:05d}" for n in range(10)] + ["00010", "10"]
    text = "noc,seq\n" + "".join(f"{code},{n}\n" for n, code in enumerate(codes))
    profile = profile_of(tmp_path, text)
    assert profile.column("noc").codes.shortened == 1
    assert profile.keys == [["seq"]]


def test_a_number_column_with_leading_zeros_stays_text(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "code,n\n007,1\n012,2\n100,3\n")
    assert profile.column("code").leading_zeros
    assert profile.column("code").numbers == []
    assert profile.column("n").numbers  # the other column is a number under every convention


def test_a_profile_round_trips_as_json(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "code;montant\n00010;42,50\n00011;1,00\n")
    assert Profile.model_validate_json(profile.model_dump_json()) == profile


def real_rows(name: str) -> tuple[list[str], list[list[str]]]:
    """Header and records of a real file, read with the csv module, every value trimmed."""
    with open(require_real_data() / name, encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, [[value.strip() for value in row] for row in rows]


@cache
def real_profile(name: str) -> Profile:
    path = require_real_data() / name
    return profile_frame(read_text(path, detect_dialect(path)), dim_noc_codes())


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_file_keys_are_truly_unique(name: str) -> None:
    header, rows = real_rows(name)
    profile = real_profile(name)
    assert profile.records == len(rows)
    for key in profile.keys:
        positions = [header.index(profile.column(column).header) for column in key]
        values = [tuple(row[position] for position in positions) for row in rows]
        assert all(all(value) for value in values), f"{key} has empty values"
        assert len(set(values)) == len(rows), f"{key} is not unique"


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_file_codes_with_leading_zeros_stay_text(name: str) -> None:
    header, rows = real_rows(name)
    profile = real_profile(name)
    for position, column in enumerate(profile.columns):
        values = [row[position] for row in rows if row[position]]
        if any(re.match(r"-?0[0-9]", value) for value in values):
            assert column.numbers == [], f"{column.header!r} holds codes with leading zeros"
            tokens = all(re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z._-]*", value) for value in values)
            assert column.leading_zeros == tokens, column.header


@pytest.mark.parametrize(
    ("name", "keys", "leading_zeros"),
    [
        ("noc_structure_en.csv", [["code_noc_2021_v1_0"]], ["code_noc_2021_v1_0"]),
        (
            "employment_emploi_2024_2033_noc2021.csv",
            [["code"], ["occupation_name"], ["nom_de_la_profession"]],
            ["code"],
        ),
        ("noc2021_onet26.csv", [["noc", "onet", "onet_title"], ["noc_title", "onet", "onet_title"]], []),
        ("main-duties_oasis-2023_v1.0.csv", [["oasis_profile_code", "main_duties"]], ["oasis_profile_code"]),
        ("exclusions_oasis_2023_v1.0.csv", [], ["oasis_profile_code", "excluded_code"]),
        ("job_architecture.csv", [["jt_id"], ["job_title"]], ["col_2016_noc_uid", "col_2021_noc_uid"]),
    ],
)
def test_real_file_keys_and_codes(name: str, keys: list[list[str]], leading_zeros: list[str]) -> None:
    profile = real_profile(name)
    assert profile.keys == keys
    assert [column.name for column in profile.columns if column.leading_zeros] == leading_zeros


def test_real_code_columns_resolve_against_dim_noc() -> None:
    cops = real_profile("employment_emploi_2024_2033_noc2021.csv").column("code").codes
    assert (cops.kind, cops.codes, cops.resolved, cops.distinct, cops.unresolved) == ("noc", 517, 516, 517, ["00000"])
    assert cops.others == ["TEER_0", "TEER_1", "TEER_2"]
    onet = real_profile("noc2021_onet26.csv").column("noc").codes
    assert (onet.kind, onet.shortened, onet.resolved == onet.distinct) == ("noc", 19, True)
    duties = real_profile("main-duties_oasis-2023_v1.0.csv").column("oasis_profile_code").codes
    assert (duties.kind, duties.shortened, duties.distinct, duties.resolved) == ("oasis", 2710, 900, 900)
    structure = real_profile("noc_structure_en.csv").column("code_noc_2021_v1_0").codes
    assert structure.every_known and structure.distinct == len(dim_noc_codes())
    ratings = real_profile("skills_oasis_2023_v1.0.csv")
    assert [column.name for column in ratings.columns if column.codes] == ["oasis_code_final"]


def test_real_ratings_are_integers() -> None:
    profile = real_profile("skills_oasis_2023_v1.0.csv")
    plain = profile.numbers(NumberFormat())
    assert len(plain) == len(profile.columns) - 2 and set(plain.values()) == {"int64"}
    frame = pl.read_csv(require_real_data() / "skills_oasis_2023_v1.0.csv", infer_schema=False)
    assert frame.select(pl.all().exclude(frame.columns[:2]).str.contains(r"^[0-5]$").all()).row(0) == tuple(
        [True] * len(plain)
    )
