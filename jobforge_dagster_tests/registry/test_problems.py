"""A registry mistake refuses its entry alone, said where it is: the file and line, the table, the field, and the
nearest valid field name for one that does not exist."""

from pathlib import Path

import pytest

from jobforge_dagster.registry.file import SourceRegistry, registry_file

#: The bundled registry of the 32 real files (it shares fields through YAML anchors).
NOC2021 = registry_file("noc2021")
BUNDLED = NOC2021.read_text(encoding="utf-8")
#: A new entry added at the end of the bundled registry, where the mistakes below go.
ENTRY = '  - name: postes\n    pattern: "postes.csv"\n'


def with_mistake(tmp_path: Path, mistake: str, replaces: str = "") -> tuple[Path, int]:
    """The bundled registry plus ENTRY with `mistake` (indented lines) after its pattern and `replaces` removed
    from it; and the line the mistake starts on."""
    entry = ENTRY.replace(replaces, "") if replaces else ENTRY
    text = BUNDLED + "\n" + entry + mistake
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text[: len(BUNDLED) + 1 + len(entry)].count("\n") + 1


@pytest.mark.parametrize(
    ("mistake", "field", "message"),
    [
        ('    seperator: ";"\n', "seperator", "not a registry field; did you mean 'separator'?"),
        ("    key_colums: [noc_code]\n", "key_colums", "not a registry field; did you mean 'key_columns'?"),
        ("    retention_batches: many\n", "retention_batches", "Input should be a valid integer, unable to parse"),
        ("    key_columns: noc_code\n", "key_columns", "Input should be a valid list"),
        (
            "    types: {teer: int88}\n",
            "types",
            "teer: unknown type 'int88' (one of string, int8, int16, int32, int64, float64, boolean, date, or "
            "decimal(P,S))",
        ),
        ("    rules: [{column: noc_code, pattern: '(\\d'}]\n", "rules.0.pattern", "'(\\\\d' is not a valid regular"),
        (
            "    rules: [{column: noc_code, patern: x}]\n",
            "rules.0.patern",
            "not a registry field; did you mean 'pattern'?",
        ),
        (
            "    checks: {code_fromats: {noc_code: x}}\n",
            "checks.code_fromats",
            "not a registry field; did you mean 'code_formats'?",
        ),
    ],
)
def test_a_mistake_refuses_its_entry_alone_naming_file_line_table_and_field(
    tmp_path: Path, mistake: str, field: str, message: str
) -> None:
    path, line = with_mistake(tmp_path, mistake)
    registry = SourceRegistry.load(path)
    bundled = SourceRegistry.load(NOC2021)
    assert registry.tables == bundled.tables
    assert len(registry.problems) == 1
    problem = registry.problems[0]
    assert (problem.file, problem.line, problem.table, problem.field) == ("sources.yaml", line, "postes", field)
    assert str(problem).startswith(f"sources.yaml, line {line}, table 'postes', field '{field}': {message}")
    assert problem.pattern == "postes.csv"  # its file stays its own


def test_a_missing_or_bad_file_pattern_is_refused_and_claims_no_file(tmp_path: Path) -> None:
    path, line = with_mistake(tmp_path, "", replaces='    pattern: "postes.csv"\n')
    problem = SourceRegistry.load(path).problems[0]
    assert (
        str(problem) == f"sources.yaml, line {line - 1}, table 'postes', field 'pattern': missing: every entry needs it"
    )
    assert problem.pattern is None
    path, line = with_mistake(tmp_path, '    pattern: "../elsewhere.csv"\n', replaces='    pattern: "postes.csv"\n')
    assert str(SourceRegistry.load(path).problems[0]) == (
        f"sources.yaml, line {line}, table 'postes', field 'pattern': '../elsewhere.csv' must be a glob "
        "relative to source/ with `/` between folders, not leaving it"
    )


def test_a_mistake_in_a_shared_anchor_names_the_line_of_the_anchor(tmp_path: Path) -> None:
    """Fields merged from an `x-...` anchor (`<<: *cops_common`) are found where they are written."""
    text = BUNDLED.replace('  null_values: ["N/A", "N/D"]\n', '  null_values: "N/A"\n', 1)
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    registry = SourceRegistry.load(path)
    anchor_line = text[: text.index('  null_values: "N/A"\n')].count("\n") + 1
    cops = [table.name for table in SourceRegistry.load(NOC2021).tables if table.domain == "cops"]
    assert {problem.table for problem in registry.problems} == set(cops)
    assert {(problem.line, problem.field) for problem in registry.problems} == {(anchor_line, "null_values")}
    assert len(registry.tables) == len(SourceRegistry.load(NOC2021).tables) - len(cops)


def test_a_name_declared_twice_refuses_the_later_entry(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("tables:\n  - name: a\n    pattern: a.csv\n  - name: a\n    pattern: b.csv\n", encoding="utf-8")
    registry = SourceRegistry.load(path)
    assert [(table.name, table.pattern) for table in registry.tables] == [("a", "a.csv")]
    assert [str(problem) for problem in registry.problems] == [
        "sources.yaml, line 4, table 'a', field 'name': the name 'a' is already taken by table 'a', declared before it"
    ]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("tables:\n  - name: a\n    pattern: [a.csv\n", "sources.yaml, line 4: not valid YAML: expected ',' or ']'"),
        ("tables: 3\n", "sources.yaml, line 1: `tables:` is not a list"),
        ("- name: a\n", "sources.yaml, line 1: a registry is a mapping with `tables:`"),
    ],
)
def test_a_file_that_is_not_a_registry_gives_no_table_and_one_problem(tmp_path: Path, text: str, said: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    registry = SourceRegistry.load(path)
    assert registry.tables == [] and len(registry.problems) == 1
    assert str(registry.problems[0]).startswith(said)


def test_an_unknown_top_level_key_is_named_and_the_tables_load(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("tabels: []\ntables:\n  - name: a\n    pattern: a.csv\n", encoding="utf-8")
    registry = SourceRegistry.load(path)
    assert [table.name for table in registry.tables] == ["a"]
    assert [str(problem) for problem in registry.problems] == [
        "sources.yaml, line 1, field 'tabels': not a registry key (`tables:`)"
    ]


@pytest.mark.parametrize(("name", "tables"), [("sample", 1), ("noc2021", 32)])
def test_the_bundled_registries_have_no_problem(name: str, tables: int) -> None:
    registry = SourceRegistry.load(name)
    assert registry.problems == [] and len(registry.tables) == tables
