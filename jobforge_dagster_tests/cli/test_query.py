"""`jobforge query "SQL" [--format table|csv|json]`: one read-only SELECT in the GoldQueryEngine sandbox."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobforge_dagster.cli import main
from jobforge_dagster.storage.data_root import DataRoot

SQL = "SELECT noc_code, teer FROM noc_unit_groups WHERE teer = 1 ORDER BY noc_code LIMIT 2"


def test_as_csv_and_json(gold: DataRoot, capsys: pytest.CaptureFixture) -> None:
    assert main(["query", SQL, "--format", "csv"]) == 0
    assert capsys.readouterr().out == "noc_code,teer\n21211,1\n21231,1\n"
    assert main(["query", SQL, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"noc_code": "21211", "teer": 1}, {"noc_code": "21231", "teer": 1}]


def test_as_a_table(gold: DataRoot, capsys: pytest.CaptureFixture) -> None:
    assert main(["query", SQL]) == 0
    text = capsys.readouterr().out
    assert "shape: (2, 2)" in text and "│ 21211    ┆ 1    │" in text


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELEC 1", 'cannot parse query: Parser Error: syntax error at or near "SELEC"'),
        ("DROP VIEW noc_unit_groups", "only SELECT queries are allowed, got DROP"),
        ("SELECT * FROM read_csv('/etc/passwd')", "query failed: Permission Error"),
        ("SELECT * FROM nope", "query failed: Catalog Error: Table with name nope does not exist"),
    ],
)
def test_refused_sql_exits_2_with_the_reason(
    gold: DataRoot, capsys: pytest.CaptureFixture, sql: str, reason: str
) -> None:
    assert main(["query", sql]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(f"jobforge query: {reason}")


def test_the_console_script(gold: DataRoot) -> None:
    jobforge = Path(sys.executable).with_name("jobforge")
    env = os.environ | {"JOBFORGE_DATA_ROOT": gold.data_root}
    done = subprocess.run(
        [str(jobforge), "query", "SELECT count(*) AS n FROM noc_unit_groups", "--format", "csv"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout) == (0, "n\n12\n")
    bad = subprocess.run(
        [str(jobforge), "query", "SELECT 1; SELECT 2"], env=env, capture_output=True, text=True, timeout=120
    )
    assert (bad.returncode, bad.stderr) == (2, "jobforge query: exactly one statement is allowed, got 2\n")
