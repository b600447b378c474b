"""`jobforge tables`: the gold tables a query can read, with rows, columns, edition and purpose."""

import json

import pytest

from jobforge_dagster.cli import main
from jobforge_dagster.storage.data_root import DataRoot


def test_every_gold_table_with_its_rows_edition_and_purpose(gold: DataRoot, capsys: pytest.CaptureFixture) -> None:
    assert main(["tables"]) == 0
    header, declared, undeclared = capsys.readouterr().out.splitlines()
    assert header.split() == ["table", "rows", "columns", "edition:", "purpose"]
    assert declared.split()[:3] == ["noc_unit_groups", "12", "11"]
    assert declared.endswith(
        "Bundled sample: Small sample of NOC 2021 unit groups with English and French titles, "
        "bundled so that a fresh clone runs end to end; not for analysis."
    )
    assert undeclared.split()[:2] == ["oasis_skills_sample", "6"]
    assert undeclared.endswith("not declared in the data dictionary: columns described by header and type only")


def test_in_french_and_as_json(gold: DataRoot, capsys: pytest.CaptureFixture) -> None:
    assert main(["tables", "--lang", "fr", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [table["table"] for table in found] == ["noc_unit_groups", "oasis_skills_sample"]
    assert found[0] | {"purpose": None} == {
        "table": "noc_unit_groups",
        "rows": 12,
        "columns": 11,
        "edition": "Échantillon fourni",
        "purpose": None,
    }
    assert found[0]["purpose"].startswith("Petit échantillon de groupes de base de la CNP 2021")


def test_no_gold_yet(config: DataRoot, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("JOBFORGE_DATA_ROOT", config.data_root)
    assert main(["tables"]) == 0
    assert capsys.readouterr().out == "no gold table yet: run the pipeline first\n"
