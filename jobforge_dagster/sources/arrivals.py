"""Files that arrived in source/ after the code location loaded and match none of its tables.

Each gets a default table (as a reload would give it) and is loaded as a partition of the `new_files`
asset family, keyed by that table's name; or it is refused alone, with the reason, when the name is taken
(by a loaded table, a gold name, a model, the family itself, or another such file) or is not safe.
"""

from dataclasses import dataclass, field
from pathlib import Path

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.layers import SOURCE
from jobforge_dagster.registry.names import NEW_FILES
from jobforge_dagster.registry.spec import TableSpec, safe_table_name
from jobforge_dagster.sources.scan import SourceFile, scan_source
from jobforge_dagster.sources.tables import SourceTables, default_table_name, literal_pattern


@dataclass
class Arrivals:
    """The files of one source folder that no loaded table matches, grouped by default table name.

    The folder is listed once, when a name is first asked about (a sensor tick with no new file lists nothing).
    """

    sources: SourceTables
    source_dir: Path
    _by_name: dict[str, list[SourceFile]] | None = field(default=None, repr=False)
    _refused: dict[str, list[SourceFile]] = field(default_factory=dict, repr=False)

    def named(self, name: str) -> list[SourceFile]:
        """The files no loaded table matches whose default table name is `name`, by path; files refused before
        any read (a FIFO, a link out of the folder) take no name, as when the tables were collected."""
        if self._by_name is None:
            self._by_name = {}
            for file in sorted(scan_source(self.source_dir), key=lambda file: file.key):
                if self.sources.spec_for(file.relative) is None:
                    group = self._by_name if file.problem is None else self._refused
                    group.setdefault(default_table_name(file.key), []).append(file)
        return self._by_name.get(name, [])

    def refused(self, name: str) -> list[SourceFile]:
        """The files of default table name `name` refused before any read (each with its `problem`)."""
        self.named(name)
        return self._refused.get(name, [])

    def table_for(self, file: SourceFile) -> TableSpec | str:
        """The default table of a file no loaded table matches, or why it gets none (`refused: ...`)."""
        if reason := self.sources.refusal(file):
            return reason
        name = default_table_name(file.relative)
        if others := [other.display for other in self.named(name) if other.key != file.key]:
            return f"refused: its default table name {name!r} is also that of {', '.join(others)}; rename one"
        return TableSpec(name=name, pattern=literal_pattern(file.relative), declared=False)


def partition_table(key: str, sources: SourceTables, source_dir: Path) -> TableSpec:
    """The default table of the `new_files` partition `key`, built at run time.

    A run loads the code location anew, so the file usually has its default table there already (as after a
    reload): that one is used. Otherwise it is built from the one file in source/ whose default table name is
    `key`. A SourceDataError says why there is none: an unsafe key, a name a declared table, gold name or model
    holds, a file of that name refused before any read (a link out of the folder, a FIFO), no such file, or
    several.
    """
    where = f"{SOURCE}/ (partition {key!r} of {NEW_FILES})"
    try:
        safe_table_name(key)
    except ValueError as error:
        raise SourceDataError(f"not a table name: {error}", file=where) from None
    loaded = next((table for table in sources.tables if table.name == key), None)
    if loaded is not None and not loaded.declared:
        return loaded
    if key in sources.taken:
        raise SourceDataError(f"the name {key!r} is {sources.taken[key]}; materialize that table instead", file=where)
    arrivals = Arrivals(sources, source_dir)
    if not (files := arrivals.named(key)) and (refused := arrivals.refused(key)):
        raise SourceDataError(str(refused[0].problem), file=refused[0].display)
    if not files:
        raise SourceDataError(f"no file has the default table name {key!r} (moved or deleted?)", file=where)
    table = arrivals.table_for(files[0])
    if isinstance(table, str):
        raise SourceDataError(table, file=files[0].display)
    return table
