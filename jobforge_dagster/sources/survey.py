"""What a run finds before it reads anything: whether the data root and the source folder exist, and which of
its tables have a source file. A run that finds nothing says where it looked and which variables choose it."""

from dataclasses import dataclass

from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.tables import list_source_files
from jobforge_dagster.storage.data_root import DataRoot


@dataclass(frozen=True)
class Survey:
    """The tables of a run with and without a source file, and where they were looked for."""

    looked_in: str
    root_exists: bool
    found: list[str]
    missing: dict[str, str]  # table -> its file pattern

    @property
    def nothing(self) -> bool:
        """Nothing to load: no table has a file (a source folder inside a data root that does not exist holds
        none; a data root of its own that does not exist yet is made by the first run)."""
        return not self.found

    def message(self) -> str:
        """What was found, and where."""
        if not self.found and not self.root_exists:
            return f"the data root does not exist and no table has a source file: {self.looked_in}"
        if not self.found:
            return f"no source file for any of the {len(self.missing)} tables: {self.looked_in}"
        if self.missing:
            shown = ", ".join(f"{table} ({pattern})" for table, pattern in list(self.missing.items())[:10])
            more = f" and {len(self.missing) - 10} more" if len(self.missing) > 10 else ""
            return f"{len(self.missing)} of {self.total} tables have no source file: {shown}{more}; {self.looked_in}"
        return f"every one of the {self.total} tables has a source file in {self.looked_in.split(';')[0]}"

    @property
    def total(self) -> int:
        return len(self.found) + len(self.missing)


def survey(root: DataRoot, tables: list[TableSpec]) -> Survey:
    """Which of `tables` have a file in the source folder; nothing is created or read."""
    root_exists = root.root.exists()
    names = list_source_files(root.source_dir()) if root.source_dir().exists() else []
    found = [spec.name for spec in tables if any(spec.matches(name) for name in names)]
    missing = {spec.name: spec.pattern for spec in tables if spec.name not in found}
    return Survey(root.looked_in(), root_exists, found, missing)
