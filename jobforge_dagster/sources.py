"""The source folder: the one walker over it, and the file that feeds a table."""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.layers import SOURCE

if TYPE_CHECKING:
    from jobforge_dagster.registry import TableSpec

#: Source formats read into the staged layer, by file suffix.
FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}


@dataclass(frozen=True)
class SourceFile:
    """A file under the source folder, with the stat taken when it was listed."""

    relative: str
    path: Path
    size: int
    mtime_ns: int
    ctime_ns: int

    @property
    def signature(self) -> tuple[int, int, int]:
        return (self.size, self.mtime_ns, self.ctime_ns)

    @property
    def display(self) -> str:
        """The name written into data: `source/<relative path>`."""
        return f"{SOURCE}/{self.relative}"


def scan_source(source_dir: Path) -> Iterator[SourceFile]:
    """Every file with a source suffix under `source_dir` (hidden names skipped), with its stat, in no order."""
    stack = [(Path(source_dir), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            relative = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                stack.append((Path(entry.path), f"{relative}/"))
            elif Path(entry.name).suffix.lower() in FORMATS:
                try:
                    status = entry.stat()
                except OSError:  # a dangling link: the run refuses it with the reason
                    status = entry.stat(follow_symlinks=False)
                yield SourceFile(relative, Path(entry.path), status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def list_source_files(source_dir: Path) -> list[str]:
    """Regular source files (or links to them) under `source_dir`, as sorted POSIX paths relative to it."""
    return sorted(file.relative for file in scan_source(source_dir) if file.path.is_file())


def find_source_file(spec: "TableSpec", source_dir: Path) -> Path | None:
    """The one source file a table's pattern matches, None if there is none; several is an error."""
    matches = [name for name in list_source_files(source_dir) if spec.matches(name)]
    if len(matches) > 1:
        raise ValueError(
            f"table {spec.name!r}: pattern {spec.pattern!r} matches {len(matches)} files in {source_dir}: "
            f"{matches[:5]}; a table takes one source file"
        )
    if not matches:
        return None
    path = Path(source_dir) / matches[0]
    if not path.resolve().is_relative_to(Path(source_dir).resolve()):
        raise SourceDataError(
            f"refused: a symbolic link to {path.resolve()}, outside the source folder {source_dir}",
            file=f"{SOURCE}/{matches[0]}",
        )
    return path
