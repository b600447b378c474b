"""A proposed registry entry for a new file, as YAML text with a comment per choice, and its safe addition to a
registry file: the other entries' text and comments are kept byte for byte, the whole file validated first."""

import json
import os
import tempfile
from pathlib import Path

import yaml

from jobforge_dagster.intake.dialect import Dialect
from jobforge_dagster.intake.profile import CodeColumn, ColumnProfile, Profile
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.numbers import MARK_NAMES, PLAIN
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.dialect import SEPARATOR_NAMES, registry_separator
from jobforge_dagster.sources.tables import default_table_name, literal_pattern

#: Indentation of a `tables:` item as proposed (the dash), before it is aligned with the registry's items.
ITEM_INDENT = 2
#: The gold table and column NOC codes resolve against.
NOC_TABLE = "dim_noc.noc_code"
KIND_NAMES = {"noc": "NOC 2021", "oasis": "OaSIS profile"}


def scalar(value: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes; invisible spaces written as escapes so they can be seen)."""
    return json.dumps(value, ensure_ascii=False).replace("\u00a0", "\\u00a0").replace("\u202f", "\\u202f")


def flow_list(values: list[str]) -> str:
    return "[" + ", ".join(scalar(value) for value in values) + "]"


def propose_entry(relative: str, dialect: Dialect, profile: Profile, name: str | None = None) -> str:
    """A registry entry for the file at `relative` (under source/) as YAML text: one `tables:` item with a comment
    per choice. Codes (leading zeros, NOC and OaSIS codes) and key columns stay text."""
    name = name or default_table_name(relative)
    lines = [
        f"# {relative}: {len(profile.columns)} columns, {profile.records} records (proposed by jobforge add-source)",
        f"- name: {name}",
        f"  pattern: {scalar(literal_pattern(relative))}  # this file exactly",
        '  description: ""  # what one record is',
        '  business_purpose: ""  # what the table is for',
        *dialect_lines(dialect),
        *key_lines(profile),
        *number_lines(profile),
        *repair_lines(profile),
        *reference_lines(profile),
        *text_lines(profile),
    ]
    return "".join(" " * ITEM_INDENT + line + "\n" for line in lines)


def dialect_lines(dialect: Dialect) -> list[str]:
    """`separator:` and `encoding:` when they are not the defaults, with how they were found."""
    lines = []
    if dialect.separator != ",":
        found = f"{SEPARATOR_NAMES[dialect.separator]}, {dialect.separator_found}"
        lines.append(f"  {registry_separator(dialect.separator)}  # {found}")
    if dialect.encoding not in ("utf-8", "utf-8-sig"):
        lines.append(f"  encoding: {dialect.encoding}  # not UTF-8; check its accents in the preview")
    return lines


def key_lines(profile: Profile) -> list[str]:
    """`key_columns:` with the first candidate key, or a comment saying none was found."""
    if not profile.keys:
        return [
            f"  # no key: no column, nor combination of up to 3, is unique and never empty in {profile.records} records"
        ]
    others = "; also unique: " + ", ".join(flow_list(key) for key in profile.keys[1:]) if len(profile.keys) > 1 else ""
    why = f"unique and never empty in all {profile.records} records"
    return [f"  key_columns: {flow_list(profile.keys[0])}  # {why}{others}"]


def code_like(column: ColumnProfile) -> bool:
    return column.leading_zeros or column.codes is not None


def typed_columns(profile: Profile) -> dict[str, str]:
    """Bronze name -> type of the columns that are numbers under the file's convention (codes and keys excluded)."""
    keys = {name for key in profile.keys[:1] for name in key}
    numbers = profile.numbers(profile.number_format)
    return {
        column.name: numbers[column.name]
        for column in profile.columns
        if column.name in numbers and column.name not in keys and not code_like(column)
    }


def number_lines(profile: Profile) -> list[str]:
    """The number convention (when not the default) and `types:` for the numeric columns."""
    typed = typed_columns(profile)
    if not typed:
        return []
    fmt, lines = profile.number_format, []
    if fmt != PLAIN:
        lines.append(f"  decimal_mark: {scalar(fmt.decimal_mark)}  # {len(typed)} numeric columns read as {fmt.label}")
        if fmt.thousands_separators:
            marks = ", ".join(MARK_NAMES[mark] for mark in fmt.thousands_separators)
            lines.append(f"  thousands_separators: {flow_list(list(fmt.thousands_separators))}  # {marks}")
    lines.append("  types:  # every value is a number that writes back exactly as written")
    lines += [f"    {column}: {dtype}" for column, dtype in typed.items()]
    return lines


def repair_lines(profile: Profile) -> list[str]:
    """`pad_codes` / `decimal_codes` for code columns some of whose codes a spreadsheet shortened."""
    lines = []
    for column in profile.columns:
        codes = column.codes
        if codes is None or not codes.shortened:
            continue
        if codes.kind == "noc":
            lines.append(
                f"  pad_codes: {{{column.name}: 5}}  # {codes.shortened} NOC codes lost leading zeros (10 for 00010)"
            )
        else:
            why = f"{codes.shortened} OaSIS codes shortened (10010 for 10010.00)"
            lines.append(f'  decimal_codes: {{{column.name}: "5.2"}}  # {why}')
    return lines


def reference_lines(profile: Profile) -> list[str]:
    """`references:` for NOC code columns whose every code resolves (unless the column is the code list itself);
    a comment for the other code columns."""
    lines, referenced = [], []
    for column in profile.columns:
        codes = column.codes
        if codes is None:
            continue
        whole = codes.resolved == codes.distinct and codes.kind == "noc" and not codes.others
        if whole and not codes.every_known:
            referenced.append(column.name)
            continue
        lines.append(f"  # {column.name}: {code_comment(codes, profile.known_codes)}")
    if referenced:
        lines.insert(
            0, f"  references:  # every code resolves in {NOC_TABLE}: rows whose code does not go to quarantine"
        )
        lines[1:1] = [f"    - {{column: {name}}}" for name in referenced]
    return lines


def code_comment(codes: CodeColumn, known: int) -> str:
    """What a code column's comment says: how many of its codes resolve, or that none could be resolved."""
    others = f"; others: {', '.join(codes.others)}" if codes.others else ""
    if not known:
        found = f"{KIND_NAMES[codes.kind]} codes ({codes.distinct} distinct), not resolved: {NOC_TABLE} has no gold yet"
        return f"{found}{others}"
    missing = f"; not: {', '.join(codes.unresolved)}" if codes.unresolved else ""
    found = f"{KIND_NAMES[codes.kind]} codes, {codes.resolved} of {codes.distinct} distinct resolve in {NOC_TABLE}"
    return f"{found}{missing}{others}"


def text_lines(profile: Profile) -> list[str]:
    """A comment naming the code columns kept as text."""
    kept = [column.name for column in profile.columns if column.leading_zeros]
    return [f"  # kept as text: {', '.join(kept)} (codes with leading zeros)"] if kept else []


def proposed_spec(entry: str) -> TableSpec:
    """The table an entry proposes, validated."""
    items = yaml.safe_load(entry)
    if not isinstance(items, list) or len(items) != 1:
        raise ValueError("a registry entry is one `tables:` item")
    return TableSpec.model_validate(items[0])


def appended_text(text: str, entry: str) -> str:
    """`text` with `entry` (as `propose_entry` writes it) added as the last item of its top-level `tables:` list,
    aligned with the items before it; the text before it is not changed."""
    root = yaml.compose(text)
    if root is None:
        return text + ("\n" if text and not text.endswith("\n") else "") + "tables:\n" + entry
    if not isinstance(root, yaml.MappingNode):
        raise ValueError("the registry is not a mapping with a `tables:` list")
    keys = [key.value for key, _ in root.value]
    if "tables" not in keys:
        return text + ("" if text.endswith("\n") else "\n") + "tables:\n" + entry
    tables = root.value[keys.index("tables")][1]
    if keys[-1] != "tables" or not isinstance(tables, yaml.SequenceNode) or tables.flow_style:
        raise ValueError("an entry is appended only to a block `tables:` list that is the registry's last key")
    shift = (tables.start_mark.column if tables.value else ITEM_INDENT) - ITEM_INDENT
    aligned = "".join(shifted(line, shift) for line in entry.splitlines(keepends=True))
    return text + ("" if text.endswith("\n") else "\n") + "\n" + aligned


def shifted(line: str, shift: int) -> str:
    """`line` indented `shift` more spaces (fewer when negative, never below its text)."""
    if shift >= 0 or not line.strip():
        return " " * shift + line if line.strip() else line
    return line[min(-shift, len(line) - len(line.lstrip(" "))) :]


def append_entry(registry_path: Path, entry: str) -> SourceRegistry:
    """Add `entry` to the registry file at `registry_path`, other entries' text and comments untouched. The new
    file is loaded as the code location loads it, must hold the earlier tables unchanged plus the new one, and
    replaces the old one atomically; otherwise a ValueError says why and the file is left as it was."""
    text = registry_path.read_text(encoding="utf-8") if registry_path.exists() else ""
    new_text = appended_text(text, entry)
    before = SourceRegistry.load(registry_path) if text.strip() else SourceRegistry()
    new_table = proposed_spec(entry)
    handle, temporary = tempfile.mkstemp(dir=registry_path.parent, prefix=f".{registry_path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(new_text)
            stream.flush()
            os.fsync(stream.fileno())
        after = SourceRegistry.load(Path(temporary), registry_path.name)
        if refused := [problem for problem in after.problems if problem not in before.problems]:
            raise ValueError(f"the entry is refused, nothing written: {'; '.join(map(str, refused))}")
        if after.tables != [*before.tables, new_table]:
            raise ValueError(f"{registry_path}: appending the entry would change other tables; nothing written")
        if registry_path.exists():
            os.chmod(temporary, registry_path.stat().st_mode & 0o7777)
        os.replace(temporary, registry_path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return after
