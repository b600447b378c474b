"""Which tables a file in source/ belongs to: glob patterns, their literal parts, and an index over them."""

import re
from collections.abc import Iterable

from jobforge_dagster.registry.spec import TableSpec


def literal_prefix(pattern: str) -> str:
    """The start of a glob pattern before its first wildcard or bracket: every path it matches starts so."""
    return re.split(r"[*?\[]", pattern, maxsplit=1)[0]


def literal_path(pattern: str) -> str | None:
    """The one path a pattern matches when it has no wildcard (`[*]`, `[?]` and `[[]` stand for the character
    itself, as `literal_pattern` writes them); None for a pattern with a wildcard."""
    text = re.sub(r"\[([*?\[])\]", "", pattern)
    return re.sub(r"\[([*?\[])\]", r"\1", pattern) if not re.search(r"[*?\[]", text) else None


class PatternIndex:
    """Tables by the literal start of their patterns: a path is tried only against the patterns it can match,
    so matching N paths against N tables costs about N, not N squared."""

    def __init__(self, tables: Iterable[TableSpec]) -> None:
        self._by_prefix: dict[str, list[tuple[int, TableSpec]]] = {}
        for position, table in enumerate(tables):
            self._by_prefix.setdefault(literal_prefix(table.pattern), []).append((position, table))
        self._lengths = sorted({len(prefix) for prefix in self._by_prefix})

    def matching(self, relative_path: str) -> list[TableSpec]:
        """Every table whose pattern matches a path relative to source/, in the order given."""
        found = [
            entry
            for length in self._lengths
            if length <= len(relative_path)
            for entry in self._by_prefix.get(relative_path[:length], ())
            if entry[1].matches(relative_path)
        ]
        return [table for _, table in sorted(found, key=lambda entry: entry[0])]

    def first(self, relative_path: str) -> TableSpec | None:
        """The first table (in the order given) whose pattern matches a path relative to source/."""
        found = self.matching(relative_path)
        return found[0] if found else None
