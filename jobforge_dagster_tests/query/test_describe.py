"""`GoldQueryEngine.describe`: a gold table's data dictionary as a DataFrame, from its catalog entry."""

import polars as pl

from jobforge_dagster.query.describe import DESCRIBE_SCHEMA
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.storage.data_root import DataRoot


def test_the_engine_returns_the_dictionary_as_a_frame(gold: DataRoot) -> None:
    with GoldQueryEngine(gold) as engine:
        english, french = engine.describe("noc_unit_groups"), engine.describe("noc_unit_groups", "fr")
    assert english.schema == pl.Schema(DESCRIBE_SCHEMA) and english.height == 11
    code = english.row(0, named=True)
    assert (code["column"], code["type"], code["role"], code["source_headers"]) == (
        "noc_code",
        "VARCHAR",
        "key",
        ["Code - NOC 2021 V1.0"],
    )
    assert code["unit"] == "NOC 2021 code, 5 digits as text"
    assert code["transforms"][1] == "bronze: renamed from 'Code - NOC 2021 V1.0'"
    assert french.row(2, named=True)["description"] == "Titre du groupe de la CNP 2021. En français."
    assert french["description"].null_count() == 0


def test_an_undeclared_table_says_what_can_be_known(gold: DataRoot) -> None:
    with GoldQueryEngine(gold) as engine:
        found = engine.describe("oasis_skills_sample").row(2, named=True)
    assert (found["column"], found["role"], found["role_guessed"]) == ("reading_comprehension", "measure", True)
    assert found["description"].endswith("Its meaning is not documented.")
