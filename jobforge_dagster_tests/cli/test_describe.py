"""`jobforge describe TABLE [--lang fr] [--json]`: what a gold table and each of its columns mean."""

import json

import pytest

from jobforge_dagster.cli import main
from jobforge_dagster.layers import Layer
from jobforge_dagster.storage.data_root import DataRoot


def test_the_command_in_french(gold: DataRoot, capsys: pytest.CaptureFixture) -> None:
    assert main(["describe", "noc_unit_groups", "--lang", "fr"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("noc_unit_groups: Petit échantillon de groupes de base de la CNP 2021")
    assert "Édition : Échantillon fourni\n" in text and "12 lignes (gold/noc_unit_groups.parquet" in text
    assert "\nteer  TINYINT  attribut\n" in text
    assert "  En-tête(s) source : 'TEER'\n" in text


def test_the_command_as_json(gold: DataRoot, capsys: pytest.CaptureFixture) -> None:
    assert main(["describe", "noc_unit_groups", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["facts"][0] == "Publisher: JobForge (sample written by the project)"
    assert [column["column"] for column in found["columns"]][:3] == ["noc_code", "title_en", "title_fr"]


def test_an_unknown_table_exits_2(gold: DataRoot, capsys: pytest.CaptureFixture) -> None:
    assert main(["describe", "nope"]) == 2
    said = capsys.readouterr().err
    gold_dir = gold.layer_dir(Layer.GOLD)
    assert said.startswith(f"jobforge describe: no gold table 'nope' in {gold_dir} (known: noc_unit_groups, ")
