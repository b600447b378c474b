"""Names: headers and file names made safe snake_case SQL identifiers, and the names JobForge reserves."""

import re
import unicodedata
from collections.abc import Iterable

_NOT_WORD = re.compile(r"[^0-9a-z]+")


def snake_case(text: str, fallback: str = "column") -> str:
    """`"\\xa0Active Learning "` -> `active_learning`; accents folded, leading digit prefixed with `col_`."""
    folded = unicodedata.normalize("NFKD", text.strip())
    ascii_text = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    name = _NOT_WORD.sub("_", ascii_text).strip("_")
    if not name:
        return fallback
    return f"col_{name}" if name[0].isdigit() else name


def unique_snake_case(headers: Iterable[str]) -> list[str]:
    """snake_case every header; repeats get `_2`, `_3`, ... in order of appearance."""
    result: list[str] = []
    taken: set[str] = set()
    for position, header in enumerate(headers, start=1):
        base = snake_case(header, fallback=f"column_{position}")
        name, suffix = base, 2
        while name in taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(name)
        result.append(name)
    return result


def table_name_for(stem: str) -> str:
    """A safe table name from a file stem: `noc-2021 (v1)` -> `noc_2021_v1`."""
    name = snake_case(stem, fallback="table")
    return name if not name.startswith("col_") else f"t_{name[4:]}"


#: The gold model of every OaSIS rating attribute (built across the OaSIS rating tables).
OASIS_ATTRIBUTE = "dim_oasis_attribute"
#: The OaSIS guide's gold table: the definition and scale of each descriptor, joined into `OASIS_ATTRIBUTE`.
OASIS_GUIDE = "oasis_guide"
#: The gold transform that melts an OaSIS rating table; its attributes go into `OASIS_ATTRIBUTE`.
OASIS_RATINGS = "oasis_long"
#: The asset family of files that arrive after the code location loaded (`staged/new_files` ... `gold/new_files`).
NEW_FILES = "new_files"
#: Names no default table may take, and what holds each.
RESERVED: dict[str, str] = {
    OASIS_ATTRIBUTE: f"the model {OASIS_ATTRIBUTE!r}",
    NEW_FILES: f"the asset family {NEW_FILES!r} (files that arrive after loading)",
}
