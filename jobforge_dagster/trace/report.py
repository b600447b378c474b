"""A trace as a plain-text report for people reading a terminal, or as JSON."""

import json
from typing import Any

from jobforge_dagster.layers import PROVENANCE_COLUMNS


def report(traces: list[dict[str, Any]]) -> str:
    if not traces:
        return "no gold row matches"
    return "\n\n".join(one(trace, position, len(traces)) for position, trace in enumerate(traces, start=1))


def one(trace: dict[str, Any], position: int, total: int) -> str:
    lines = [f"[{position}/{total}] gold/{trace['table']}: " + row_text(trace["row"])]
    lines += source_lines(trace["source"])
    lines.append(f"  batch {trace['batch_id']}, Dagster run {trace['run_id'] or 'unknown'}")
    for layer in trace["layers"]:
        lines += layer_lines(layer)
    quarantine = trace["quarantine"]
    lines.append(
        "  quarantine: " + ("; ".join(quarantine["reasons"]) if quarantine["quarantined"] else "not quarantined")
    )
    for check in trace["checks"]:
        verdict = "passed" if check["passed"] else f"FAILED ({check['severity']}: {', '.join(check['failed_rules'])})"
        lines.append(f"  check {check['name']}: {verdict}")
    return "\n".join(lines)


def row_text(row: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in row.items() if name not in PROVENANCE_COLUMNS)


def source_lines(source: dict[str, Any]) -> list[str]:
    state = "the file there now has these bytes" if source["current"] else "the file there now differs or is gone"
    lines = [
        f"  from {source['file']} (sha256 {source['sha256'][:12]}…; {state})",
        f"    read from {source['read_from']}; record {source['record']}, line {source['line']}",
    ]
    if source.get("column"):
        lines.append(f"    value from source column {source['column']!r}")
    if source["raw"] is not None:
        lines.append("    raw: " + source["raw"].replace("\n", "\n         "))
    return lines


def transform_lines(transforms: list[str]) -> list[str]:
    """One line per transform; many declared casts are summed up in one line (the JSON keeps them all)."""
    casts = [transform for transform in transforms if transform.startswith("cast ")]
    if len(casts) <= 3:
        return [f"    - {transform}" for transform in transforms]
    others = [f"    - {transform}" for transform in transforms if not transform.startswith("cast ")]
    targets = sorted({cast.rsplit(" to ", 1)[-1] for cast in casts})
    return [*others, f"    - cast {len(casts)} columns to {', '.join(targets)}"]


def layer_lines(layer: dict[str, Any]) -> list[str]:
    lines = [f"  {layer['layer']}: {layer['file'] or '(file not kept)'}"]
    lines += transform_lines(layer["transforms"])
    lines += [
        f"    changed {change['source_column']} -> {change['column']}: {change['before']!r} -> {change['after']!r}"
        for change in layer["changes"]
    ]
    return lines


def render(traces: list[dict[str, Any]], as_json: bool) -> str:
    """The traces as a JSON list, or as a plain-text report."""
    if as_json:
        return json.dumps(traces, indent=2, ensure_ascii=False, default=str)
    return report(traces)
