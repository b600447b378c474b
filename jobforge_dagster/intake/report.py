"""What `jobforge add-source` prints: what was found in a file, and its layers as a preview builds them."""

import json

import polars as pl

from jobforge_dagster.intake.preview import Preview, quarantine_lines
from jobforge_dagster.intake.profile import Profile
from jobforge_dagster.intake.proposal import KIND_NAMES, NOC_TABLE
from jobforge_dagster.intake.understand import Intake
from jobforge_dagster.layers import INGESTED_AT, Layer
from jobforge_dagster.registry.numbers import NumberFormat
from jobforge_dagster.sources.dialect import SEPARATOR_NAMES

#: Shown of a long header before it is cut.
HEADER_SHOWN = 12


def found_lines(intake: Intake) -> list[str]:
    """The file's dialect: encoding, BOM, line endings, separator, header, records."""
    dialect, profile = intake.dialect, intake.profile
    encoding = dialect.encoding + (", with a byte order mark" if dialect.bom else "")
    if intake.not_utf8 is not None:
        encoding = f"{dialect.encoding}, the most likely: it is not UTF-8 ({intake.not_utf8})"
    header = ", ".join(dialect.header[:HEADER_SHOWN]) + (" ..." if len(dialect.header) > HEADER_SHOWN else "")
    separator = f"{json.dumps(dialect.separator)} ({SEPARATOR_NAMES.get(dialect.separator, 'separator')})"
    return [
        f"  encoding       {encoding}",
        f"  line endings   {dialect.line_ending}",
        f"  separator      {separator}, {dialect.separator_found}",
        f"  header         {len(dialect.header)} columns: {header}",
        f"  records        {profile.records} ({dialect.lines} lines, {dialect.multiline_records} records spanning "
        f"several lines, {dialect.blank_lines} blank lines)",
    ]


def column_lines(intake: Intake) -> list[str]:
    """Codes with leading zeros, candidate keys, numbers under each convention, NOC code columns."""
    profile = intake.profile
    zeros = [column.name for column in profile.columns if column.leading_zeros]
    keys = "; ".join("[" + ", ".join(key) + "]" for key in profile.keys) or "none (no column or pair is unique)"
    return [
        f"  leading zeros  {', '.join(zeros) or 'none'}" + (" (codes, kept as text)" if zeros else ""),
        f"  candidate keys {keys}",
        *number_lines(profile),
        *code_lines(intake),
    ]


def number_lines(profile: Profile) -> list[str]:
    """Columns that are numbers, grouped by the conventions under which they are the same numbers."""
    formats = {fit.format for column in profile.columns for fit in column.numbers}
    groups: dict[str, list[NumberFormat]] = {}
    for fmt in sorted(formats, key=lambda fmt: fmt.label):
        found = profile.numbers(fmt)
        groups.setdefault(", ".join(f"{name} {dtype}" for name, dtype in found.items()), []).append(fmt)
    if not groups:
        return ["  numbers        none: every column stays text"]
    lines = ["  numbers        (columns that are numbers writing back exactly as written, by convention)"]
    for columns, fmts in groups.items():
        lines.append(f"    {' | '.join(fmt.label for fmt in fmts)}: {columns}")
    return lines


def code_lines(intake: Intake) -> list[str]:
    """Columns of NOC or OaSIS codes, and how many resolve against dim_noc."""
    coded = [column for column in intake.profile.columns if column.codes is not None]
    if not coded:
        return ["  NOC codes      none"]
    lines = ["  NOC codes" + ("" if intake.known_codes else "      (dim_noc has no gold yet: codes not resolved)")]
    for column in coded:
        codes = column.codes
        found = f"    {column.name}: {KIND_NAMES[codes.kind]} codes, {codes.distinct} distinct"
        if intake.known_codes:
            missing = f"; not: {', '.join(codes.unresolved)}" if codes.unresolved else ""
            found += f", {codes.resolved} resolve in {NOC_TABLE}{missing}"
        lines.append(found)
    return lines


def render_report(intake: Intake, declared: str | None) -> str:
    """The report on a file, then its proposed registry entry."""
    place = f"source/{intake.relative}"
    already = f"\n  already declared: table {declared!r}; the preview uses that entry" if declared else ""
    return "\n".join(
        [
            f"{place}{already}",
            *found_lines(intake),
            *column_lines(intake),
            "",
            "Proposed registry entry (jobforge add-source --write adds it):",
            intake.entry.rstrip("\n"),
        ]
    )


def render_preview(preview: Preview) -> str:
    """Each layer's first rows, the rows silver sets aside and why, and what would stop a run."""
    lines = [f"note: {note}" for note in preview.notes]
    with pl.Config(tbl_rows=-1, tbl_cols=12, fmt_str_lengths=40, tbl_width_chars=160):
        for layer in Layer:
            if layer in preview.layers:
                shown = preview.layers[layer].drop(INGESTED_AT)
                lines += [f"\n{layer.value}: {preview.rows[layer]} rows, the first {shown.height}", str(shown)]
    if preview.quarantined_rows:
        lines.append(f"\nquarantined by silver: {preview.quarantined_rows} rows; the first:")
        lines += [f"  {line}" for line in quarantine_lines(preview)]
    if preview.error:
        lines.append(f"\nthe run would fail at {preview.error}")
    return "\n".join(lines)
