"""Every command block of README.md and docs/ that runs against the bundled sample is run, and the output it
shows is the output it gives.

Conventions of the docs: a ```console block holds commands (`$ `, continued with `> `) run in order, each page in
a fresh copy of the sample (the repository's `.venv`, `dagster.yaml`, `workspace.yaml`, `data/source`); the lines
after a command are its expected output, where `...` stands for any text in a line and a line of `...` alone for
any number of lines, and `[exit N]` for a command meant to fail. A ```bash block is not run: its first line is a
comment saying what it needs instead (the real files, a server, an install).
"""

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from jobforge_dagster_tests.conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)


@dataclass
class Command:
    text: str
    expected: list[str] = field(default_factory=list)
    status: int = 0


def blocks(page: Path, language: str) -> list[str]:
    return [body for kind, body in FENCE.findall(page.read_text("utf-8")) if kind == language]


def commands(block: str) -> list[Command]:
    found: list[Command] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            found.append(Command(line[2:]))
        elif line.startswith("> ") and found and not found[-1].expected:
            found[-1].text += "\n" + line[2:]
        elif exit_code := re.fullmatch(r"\[exit (\d+)\]", line):
            found[-1].status = int(exit_code.group(1))
        elif found:
            found[-1].expected.append(line)
    return found


def pattern(expected: list[str]) -> re.Pattern[str]:
    """The expected lines as one pattern: `...` in a line is any text, a line of `...` any lines."""
    parts = [
        r"(?:.*\n)*?" if line.strip() == "..." else re.escape(line).replace(r"\.\.\.", ".*") + r"\n"
        for line in expected
    ]
    return re.compile("".join(parts))


def sandbox(tmp_path: Path) -> Path:
    """A fresh copy of the sample, as a clone has it after the install."""
    (tmp_path / ".venv").symlink_to(REPO / ".venv")
    for name in ("dagster.yaml", "workspace.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "data" / "source", tmp_path / "data" / "source")
    return tmp_path


def environment() -> dict[str, str]:
    """The user's environment without JobForge's and Dagster's own settings: the pages say what they set."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("JOBFORGE_", "DAGSTER_", "OPENLINEAGE"))}


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p, "console")], ids=lambda p: p.name)
def test_console_blocks_give_the_output_they_show(page: Path, tmp_path: Path) -> None:
    folder = sandbox(tmp_path)
    for block in blocks(page, "console"):
        for command in commands(block):
            done = subprocess.run(
                ["bash", "-c", command.text], cwd=folder, env=environment(), capture_output=True, text=True, timeout=600
            )
            said = f"{page.name}: $ {command.text}\n{done.stdout}{done.stderr}"
            assert done.returncode == command.status, said
            if command.expected:
                assert pattern(command.expected).fullmatch(done.stdout + done.stderr), said


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_a_block_not_run_says_why(page: Path) -> None:
    """A ```bash block is not run: its first line says what it needs (so no sample block escapes the test)."""
    for block in blocks(page, "bash"):
        assert block.lstrip().startswith("#"), f"{page.name}: a bash block without its reason:\n{block}"


def test_the_pattern_matches_what_it_should() -> None:
    lines = ["a ... c", "...", "z"]
    assert pattern(lines).fullmatch("a b c\nx\ny\nz\n") and pattern(lines).fullmatch("a  c\nz\n")
    assert not pattern(lines).fullmatch("a b d\nz\n") and not pattern(["a"]).fullmatch("a\nb\n")


def test_the_environment_page_names_every_variable_the_code_reads() -> None:
    page = (REPO / "docs" / "environment.md").read_text("utf-8")
    code = "\n".join(path.read_text("utf-8") for path in (REPO / "jobforge_dagster").rglob("*.py"))
    read = set(re.findall(r'"((?:JOBFORGE|OPENLINEAGE|AWS)_[A-Z_]+)"', code)) - {
        "OPENLINEAGE__TRANSPORT__TRANSPORTS__DEFAULT_HTTP"
    }
    assert read and {name for name in read if f"`{name}" not in page and name not in page} == set()
