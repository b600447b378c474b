"""A file a user brings, understood in one pass: its dialect (an encoding other than UTF-8 told, not guessed
silently), its columns profiled, and the registry entry proposed for it."""

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from jobforge_dagster.intake.dialect import Dialect, detect_dialect
from jobforge_dagster.intake.profile import Profile, profile_frame, read_text
from jobforge_dagster.intake.proposal import propose_entry
from jobforge_dagster.layers import Layer
from jobforge_dagster.sources.dialect import EncodingRefused
from jobforge_dagster.storage.data_root import DataRoot

#: The gold table and column NOC codes are resolved against.
NOC_CODES = ("dim_noc", "noc_code")


@dataclass(frozen=True)
class Intake:
    """What was found in a file, and the registry entry proposed for it."""

    path: Path
    relative: str  # its path under source/ (its name, for a file not there yet)
    dialect: Dialect
    profile: Profile
    entry: str
    not_utf8: EncodingRefused | None  # why it was read in another encoding than UTF-8
    known_codes: int  # NOC codes the columns were resolved against (0: dim_noc has no gold yet)


def understand(path: Path, relative: str, known: Collection[str] = (), name: str | None = None) -> Intake:
    """The dialect, profile and proposed entry of the file at `path`. A file that is not UTF-8 is read in the
    encoding it most likely is (the refusal kept, to be said); one whose encoding cannot be told raises it."""
    display = f"source/{relative}"
    refused = None
    try:
        dialect = detect_dialect(path, display)
    except EncodingRefused as error:
        if error.likely is None:
            raise
        refused, dialect = error, detect_dialect(path, display, encoding=error.likely)
    profile = profile_frame(read_text(path, dialect), known)
    entry = propose_entry(relative, dialect, profile, name)
    return Intake(path, relative, dialect, profile, entry, refused, len(known))


def known_noc_codes(root: DataRoot) -> list[str]:
    """The NOC codes of the data root's gold `dim_noc` (read only), or none when it has not been built."""
    table, column = NOC_CODES
    path = root.table_path(Layer.GOLD, table)
    if not path.exists():
        return []
    return pl.scan_parquet(path).select(column).unique().collect().get_column(column).drop_nulls().to_list()
