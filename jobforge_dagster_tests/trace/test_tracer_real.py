"""`jobforge trace` on the 32 real files: physical lines after multi-line records, repairs shown before and after,
and the reverse trace of a source line. Expected values are read from the CSVs here with the csv module."""

from pathlib import Path

import polars as pl

from jobforge_dagster.layers import Layer
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.trace.tracer import Tracer
from jobforge_dagster_tests.end_to_end.test_real_data import NOC2021, RealRun, newline_starts, read_csv, real  # noqa: F401 (fixture)


def trace(run: RealRun, table: str, where: str, limit: int | None = 10) -> list[dict]:
    with GoldQueryEngine(run.config) as engine:
        return Tracer(run.config, engine, NOC2021).trace(table, where, limit)


def changes(found: dict, layer: str) -> list[tuple]:
    (layer_trace,) = [entry for entry in found["layers"] if entry["layer"] == layer]
    return [(change["column"], change["before"], change["after"]) for change in layer_trace["changes"]]


def raw_lines(path: Path, start: int, count: int) -> str:
    """Physical lines start .. start+count-1 of a file, split at "\\n" only, without the last line break."""
    lines = path.read_bytes().decode("utf-8").split("\n")
    return "\n".join(lines[start - 1 : start - 1 + count])


def test_a_dim_noc_row_leads_to_its_record(real: RealRun) -> None:
    (found,) = trace(real, "dim_noc", "noc_code = '21232'")
    header, records = read_csv(real.source / "noc_structure_en.csv")
    (index,) = [i for i, record in enumerate(records) if record[2] == "21232"]
    source = found["source"]
    assert (source["record"], source["line"]) == (
        index + 1,
        newline_starts(real.source / "noc_structure_en.csv")[index],
    )
    assert source["cells"] == dict(zip(header, records[index], strict=True))
    assert source["raw"] == raw_lines(real.source / "noc_structure_en.csv", source["line"], 1)
    assert source["current"] is True and source["sha256"] == real.sums_before["noc_structure_en.csv"]
    assert all(check["passed"] for check in found["checks"]) and len(found["checks"]) == 2


def test_records_after_multi_line_records_get_their_physical_line(real: RealRun) -> None:
    path = real.source / "job_architecture.csv"
    header, records = read_csv(path)
    starts = newline_starts(path)
    shifted = [index for index, start in enumerate(starts) if start != index + 2]
    spanning = [index for index, record in enumerate(records) if any("\n" in cell for cell in record)]
    picked = [shifted[0], shifted[len(shifted) // 2], shifted[-1], spanning[0]]
    for index in picked:
        jt_id = records[index][header.index("JT_ID")]
        (found,) = trace(real, "job_architecture", f"jt_id = '{jt_id}'")
        source = found["source"]
        assert source["line"] == starts[index] and source["record"] == index + 1
        assert source["cells"] == dict(zip(header, records[index], strict=True)), "every cell, '' included"
        line_count = 1 + sum(cell.count("\n") for cell in records[index])
        assert source["raw"] == raw_lines(path, starts[index], line_count)


def test_a_repaired_oasis_code_shows_before_and_after(real: RealRun) -> None:
    staged = pl.read_parquet(real.config.table_path(Layer.STAGED, "oasis_work_activities"))
    code = staged.columns[0]
    shortened = staged.filter(pl.col(code) == "10010")
    assert shortened.height == 1
    rows = trace(real, "oasis_work_activities", "oasis_code = '10010.00'", limit=None)
    assert rows and all(changes(row, "silver") == [("oasis_code", "10010", "10010.00")] for row in rows)
    assert {row["source"]["cells"]["OaSIS Code - Final"] for row in rows} == {"10010"}
    header, _ = read_csv(real.source / "workactivities_oasis_2023_v1.0.csv")
    assert {row["source"]["column"] for row in rows} == set(header[2:]), "each rating names the header it came from"


def test_other_repairs_show_before_and_after(real: RealRun) -> None:
    (crosswalk,) = trace(real, "noc_onet_crosswalk", "noc_code = '00010'", limit=1)
    assert changes(crosswalk, "silver") == [("noc_code", "10", "00010")]
    (summary,) = trace(real, "cops_summary", "noc_code = '00000'")
    bronze = changes(summary, "bronze")
    assert ("job_seekers_chercheurs_emploi", "8,238,800", 8238800) in bronze
    assert ("recent_labour_market_conditions", "N/A", None) in bronze
    (growth,) = trace(real, "cops_employment_growth", "noc_code = '00000' AND year = 2024")
    assert growth["source"]["column"] == "2024" and growth["source"]["cells"]["2024"] == str(growth["row"]["value"])


def test_reverse_trace_of_a_line_inside_a_multi_line_record(real: RealRun) -> None:
    path = real.source / "job_architecture.csv"
    header, records = read_csv(path)
    starts = newline_starts(path)
    index = next(i for i, record in enumerate(records) if any("\n" in cell for cell in record))
    with GoldQueryEngine(real.config) as engine:
        first = Tracer(real.config, engine, NOC2021).trace_source("source/job_architecture.csv", starts[index])
        inside = Tracer(real.config, engine, NOC2021).trace_source("source/job_architecture.csv", starts[index] + 1)
    assert [row["source"]["record"] for row in first] == [index + 1]
    assert [row["row"]["jt_id"] for row in inside] == [records[index][header.index("JT_ID")]]
