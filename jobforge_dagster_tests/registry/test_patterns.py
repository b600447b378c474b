"""Glob patterns of the registry: the one path a literal pattern names, and the index that finds a file's tables."""

import pytest

from jobforge_dagster.registry.patterns import PatternIndex, literal_path
from jobforge_dagster.registry.spec import TableSpec


@pytest.mark.parametrize(
    ("pattern", "path"),
    [("odd[[]1].csv", "odd[1].csv"), ("a[*]b[?].csv", "a*b?.csv"), ("sub/My Data.csv", "sub/My Data.csv")],
)
def test_a_pattern_without_wildcards_names_one_path(pattern: str, path: str) -> None:
    assert literal_path(pattern) == path
    assert TableSpec(name="t", pattern=pattern).matches(path)


@pytest.mark.parametrize("pattern", ["cops_*.csv", "a?.csv", "a[12].csv", "a[!x].csv", "odd[[]1]*.csv"])
def test_a_pattern_with_a_wildcard_names_no_one_path(pattern: str) -> None:
    assert literal_path(pattern) is None


def test_the_pattern_index_finds_what_trying_every_pattern_finds() -> None:
    patterns = ["*.csv", "cops_*.csv", "cops_2024.csv", "c?ps_2024.csv", "sub/*", "[cx]ops_*.csv", "cops_2024.csv.gz"]
    tables = [TableSpec(name=f"t{number}", pattern=pattern) for number, pattern in enumerate(patterns)]
    index = PatternIndex(tables)
    paths = ["cops_2024.csv", "xops_1.csv", "sub/a.csv", "sub", "c", "", "cops_2024.csv.gz", "other.txt"]
    for path in paths:
        assert index.matching(path) == [table for table in tables if table.matches(path)], path
    assert index.first("cops_2024.csv") == tables[0] and index.first("other.txt") is None
