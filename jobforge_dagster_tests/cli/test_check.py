"""`jobforge check` validates the registry and the source folder without running anything; every `jobforge`
command that finds nothing names the data root it looked in, and creates nothing there."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from jobforge_dagster.cli import main
from jobforge_dagster.registry.file import REGISTRY_FILE
from jobforge_dagster_tests.conftest import SAMPLE_SOURCES
from jobforge_dagster_tests.dagster_cli import BIN


def check(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    status = main(["check", *args])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data root holding the bundled sample sources and nothing else."""
    shutil.copytree(SAMPLE_SOURCES, tmp_path / "data" / "source")
    monkeypatch.setenv("JOBFORGE_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.delenv("JOBFORGE_SOURCE_ROOT", raising=False)
    return tmp_path / "data"


def files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def test_a_clean_registry_and_source_folder_pass(root: Path, capsys: pytest.CaptureFixture) -> None:
    before = files_under(root)
    status, output = check(capsys)
    assert status == 0
    assert output.startswith(
        f"ok: 1 registry entries loaded from {REGISTRY_FILE}; 2 tables checked against their file"
    )
    assert files_under(root) == before, "check wrote under the data root"


def test_every_problem_is_listed_and_the_status_is_1(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    registry = tmp_path / "sources.yaml"
    bundled = REGISTRY_FILE.read_text(encoding="utf-8")
    added = '  - name: broken\n    pattern: broken.csv\n    seperator: ";"\n  - name: semis\n    pattern: semis.csv\n'
    registry.write_text(bundled + added, encoding="utf-8")
    (root / "source" / "semis.csv").write_text("code;title\n1;a\n", encoding="utf-8")  # declared: one column
    (root / "source" / "extra.csv").write_bytes("code,ville\n1,Montréal\n".encode("cp1252"))  # no entry, not UTF-8
    status, output = check(capsys, "--registry", str(registry))
    assert status == 1
    lines = output.splitlines()
    assert lines[0] == "3 problem(s):"
    line = bundled.count("\n") + 3
    assert lines[1] == (
        f"  sources.yaml, line {line}, table 'broken', field 'seperator': not a registry field; did you mean "
        "'separator'?"
    )
    assert lines[2] == (
        "  table 'semis' (source/semis.csv): a run would fail at staged: source/semis.csv, line 1: the header is one "
        "cell holding 1 semicolon ('code;title'), so the file would load as one column; to read it as 2 columns "
        'separated by semicolons, declare `separator: ";"` in its registry entry'
    )
    assert lines[3].startswith(
        "  table 'extra' (source/extra.csv): a run would fail at staged: source/extra.csv, line 2: not valid UTF-8"
    )
    assert lines[4].endswith("4 tables checked against their file in " + str(root / "source") + "; 0 without a file")


def test_from_another_folder_each_command_names_the_data_root_and_creates_nothing(tmp_path: Path) -> None:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("JOBFORGE_")}
    commands = {
        ("check",): (1, f"the source folder does not exist: data root {tmp_path}/data (does not exist)"),
        ("trace", "dim_noc", "--where", "noc_code = '00010'"): (
            2,
            f"jobforge trace: no gold table 'dim_noc' in {tmp_path}/data/gold (known: none); data root "
            f"{tmp_path}/data (does not exist), source folder {tmp_path}/data/source (does not exist); "
            f"JOBFORGE_DATA_ROOT is not set (./data in {tmp_path})",
        ),
        ("trace", "--source", "source/noc_structure_en.csv", "--line", "2"): (
            2,
            f"jobforge trace: source/noc_structure_en.csv feeds no staged table in {tmp_path}/data; data root "
            f"{tmp_path}/data (does not exist)",
        ),
    }
    for args, (status, said) in commands.items():
        done = subprocess.run(
            [str(BIN / "jobforge"), *args], cwd=tmp_path, env=environment, capture_output=True, text=True
        )
        assert done.returncode == status, (args, done.stderr)
        assert said in done.stdout + done.stderr, args
        assert list(tmp_path.iterdir()) == [], f"{args} created {list(tmp_path.iterdir())}"
