"""Headers and file names made safe snake_case identifiers."""

import pytest

from jobforge_dagster.registry.names import snake_case, table_name_for, unique_snake_case


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Writing  ", "writing"),
        ("\xa0Active Learning", "active_learning"),
        ("Code - NOC 2021 V1.0", "code_noc_2021_v1_0"),
        ("Conditions_récentes_sur_le_marché_du_travail", "conditions_recentes_sur_le_marche_du_travail"),
        ("Famille_d'emplois", "famille_d_emplois"),
        ("2016_NOC_UID", "col_2016_noc_uid"),
        ('Change to "title" / "NOC"', "change_to_title_noc"),
        ("   ", "column"),
    ],
)
def test_snake_case(header: str, expected: str) -> None:
    assert snake_case(header) == expected


def test_unique_snake_case_and_table_names() -> None:
    assert unique_snake_case(["Code", "code ", "CODE", ""]) == ["code", "code_2", "code_3", "column_4"]
    assert table_name_for("immigration_2024_2033_noc2021-") == "immigration_2024_2033_noc2021"
    assert table_name_for("2021 NOC; drop table") == "t_2021_noc_drop_table"
