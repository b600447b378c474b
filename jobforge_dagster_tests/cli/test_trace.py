"""`jobforge trace`: arguments that cannot give a trace are refused with the reason (exit 2), an absolute
`--source` path is the file under the source folder, and a predicate may hold subqueries over gold tables."""

import json

import pytest

from jobforge_dagster.cli import main
from jobforge_dagster.storage.data_root import DataRoot

SAMPLE = "noc_unit_groups_sample.csv"


def refused(capsys: pytest.CaptureFixture, *argv: str) -> str:
    assert main(["trace", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_a_limit_below_one_is_refused(gold: DataRoot, capsys: pytest.CaptureFixture, limit: str) -> None:
    err = refused(capsys, "noc_unit_groups", "--where", "1 = 1", "--limit", limit)
    assert err == f"jobforge trace: --limit {limit}: give at least 1 row to trace\n"


@pytest.mark.parametrize("where", ["", "   "])
def test_an_empty_predicate_is_refused(gold: DataRoot, capsys: pytest.CaptureFixture, where: str) -> None:
    err = refused(capsys, "noc_unit_groups", "--where", where)
    assert err == "jobforge trace: --where is empty: give a SQL predicate, e.g. \"noc_code = '00010'\"\n"


def test_an_absolute_source_path_is_its_file_under_the_source_folder(
    gold: DataRoot, capsys: pytest.CaptureFixture
) -> None:
    absolute = str(gold.source_dir() / SAMPLE)
    assert main(["trace", "--source", absolute, "--line", "4"]) == 0
    report = capsys.readouterr().out
    assert f"  from source/{SAMPLE} (sha256" in report and "source//" not in report
    err = refused(capsys, "--source", "/etc/passwd", "--line", "1")
    assert err == f"jobforge trace: /etc/passwd is not in the source folder {gold.source_dir()}\n"


def test_a_predicate_may_hold_subqueries_over_gold_tables(gold: DataRoot, capsys: pytest.CaptureFixture) -> None:
    """What the README says: a subquery over another gold table, and a UNION inside a subquery, are filters."""
    where = (
        "noc_code IN (SELECT substr(oasis_code_final, 1, 5) FROM oasis_skills_sample WHERE writing >= 4 "
        "UNION SELECT '00010')"
    )
    assert main(["trace", "noc_unit_groups", "--where", where, "--json", "--limit", "50"]) == 0
    found = sorted(row["row"]["noc_code"] for row in json.loads(capsys.readouterr().out))
    assert len(found) > 1 and found[0] == "00010"
    top_level = "1=1) UNION ALL SELECT * FROM noc_unit_groups WHERE (1=1"
    assert "not a predicate over noc_unit_groups" in refused(capsys, "noc_unit_groups", "--where", top_level)
