"""`jobforge trace` and `GoldQueryEngine.trace`: a gold row back to its source record, a source line to gold."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobforge_dagster import cli
from jobforge_dagster.batches.archive import ARCHIVE_ENV
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.errors import QueryError, TraceError
from jobforge_dagster.layers import Layer
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.trace import record as record_module
from jobforge_dagster.trace import tracer as tracer_module
from jobforge_dagster.trace.tracer import Tracer
from jobforge_dagster_tests.conftest import SAMPLE_SOURCES, run_job

SAMPLE = "noc_unit_groups_sample.csv"
SKILLS = "oasis_skills_sample.csv"
#: Line 4 of the bundled sample, as it is in the file.
LINE_4 = (
    '00012,"Senior managers - financial, communications and other business services","Cadres supérieurs/cadres '
    'supérieures - services financiers, communications et autres services aux entreprises",0,'
    "Legislative and senior management occupations"
)


#: The bundled sample's table, and the skills sample declared as an OaSIS rating table (long form in gold).
REGISTRY = SourceRegistry(
    tables=[
        SourceRegistry.load().by_name["noc_unit_groups"],
        TableSpec(
            name="oasis_skills_sample",
            pattern=SKILLS,
            key_columns=["oasis_code"],
            renames={"oasis_code_final": "oasis_code", "oasis_label_final": "oasis_label"},
            types={
                "reading_comprehension": "int8",
                "writing": "int8",
                "numeracy": "int8",
                "digital_literacy": "int8",
                "active_learning": "int8",
            },
            gold_transform="oasis_long",
            gold_key=["oasis_code", "attribute"],
        ),
    ]
)


@pytest.fixture
def built(tmp_path: Path) -> DataRoot:
    """The bundled samples run to gold, with the sources read from a folder outside the data root."""
    sources = tmp_path / "incoming"
    shutil.copytree(SAMPLE_SOURCES, sources)
    root = DataRoot(data_root=str(tmp_path / "data"), source_root=str(sources))
    assert run_job(root, REGISTRY).success
    return root


def trace(root: DataRoot, table: str, where: str, limit: int | None = 10) -> list[dict]:
    with GoldQueryEngine(root) as engine:
        return Tracer(root, engine, REGISTRY).trace(table, where, limit)


def trace_source(root: DataRoot, source: str, line: int) -> list[dict]:
    with GoldQueryEngine(root) as engine:
        return Tracer(root, engine, REGISTRY).trace_source(source, line)


def test_a_gold_row_leads_to_its_source_record(built: DataRoot) -> None:
    (found,) = trace(built, "noc_unit_groups", "noc_code = '00012'")
    assert found["table"] == "noc_unit_groups" and found["row"]["title_en"].startswith("Senior managers - financial")
    source = found["source"]
    assert source["file"] == f"source/{SAMPLE}" and source["path"] == str(Path(built.source_root) / SAMPLE)
    assert source["record"] == 3 and source["line"] == 4
    assert source["raw"] == LINE_4
    assert source["cells"]["Code - NOC 2021 V1.0"] == "00012"
    assert source["cells"]["Class title "] == "Senior managers - financial, communications and other business services"
    assert source["current"] is True and source["read_from"] == source["archive"]
    assert [layer["layer"] for layer in found["layers"]] == ["staged", "bronze", "silver", "gold"]
    bronze = found["layers"][1]
    assert bronze["file"] == "bronze/noc_unit_groups.parquet" and "cast teer to Int8" in bronze["transforms"]
    assert found["run_id"] and all(layer["run_id"] == found["run_id"] for layer in found["layers"])
    assert found["batch_id"] == found["row"]["_batch_id"]
    assert [check["name"] for check in found["checks"]] == ["integrity", "conformance"]
    assert all(check["passed"] for check in found["checks"])
    assert found["quarantine"] == {"quarantined": False, "file": None, "reasons": []}


def test_changed_cells_are_shown_before_and_after(tmp_path: Path) -> None:
    root = DataRoot(data_root=str(tmp_path / "data"))
    (root.source_dir()).mkdir(parents=True)
    (root.source_dir() / "codes.csv").write_text("Code,Label,Count\n10,  Legislators ,\n")
    assert run_job(root).success
    (found,) = trace(root, "codes", "code = '10'")
    silver = found["layers"][2]["changes"]
    assert {(change["column"], change["before"], change["after"]) for change in silver} == {
        ("label", "  Legislators ", "Legislators"),
        ("count", "", None),
    }
    assert found["layers"][1]["changes"] == []  # bronze renamed the columns and changed no value


def test_long_form_rows_name_the_source_column(built: DataRoot) -> None:
    rows = trace(built, "oasis_skills_sample", "oasis_code = '00011.00'", limit=None)
    assert {row["source"]["column"] for row in rows} == {
        "Reading Comprehension",
        "Writing  ",
        "Numeracy ",
        "\xa0Digital Literacy",  # the file's headers keep their no-break spaces
        "\xa0Active Learning",
    }
    assert {row["source"]["line"] for row in rows} == {3}


def test_the_trace_survives_the_source_being_deleted(built: DataRoot) -> None:
    (Path(built.source_root) / SAMPLE).unlink()
    (found,) = trace(built, "noc_unit_groups", "noc_code = '00012'")
    assert found["source"]["current"] is False
    assert found["source"]["raw"] == LINE_4  # read from the raw archive


def test_without_archive_a_replaced_source_gives_no_raw_text(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(ARCHIVE_ENV, "off")
    root = DataRoot(data_root=str(tmp_path / "data"))
    shutil.copytree(SAMPLE_SOURCES, root.source_dir())
    assert run_job(root).success
    source = root.source_dir() / SAMPLE
    source.write_text(source.read_text(encoding="utf-8-sig").replace("Legislators", "Lawmakers"), encoding="utf-8")
    (found,) = trace(root, "noc_unit_groups", "noc_code = '00010'")
    assert found["source"]["current"] is False and found["source"]["raw"] is None
    assert "no longer available" in found["source"]["read_from"]


def test_reverse_trace_finds_the_gold_rows_of_a_source_line(built: DataRoot) -> None:
    rows = trace_source(built, f"source/{SAMPLE}", 4)
    header = trace_source(built, SKILLS, 1)
    skills = trace_source(built, f"source/{SKILLS}", 3)
    assert [(row["table"], row["row"]["noc_code"]) for row in rows] == [("noc_unit_groups", "00012")]
    assert {row["table"] for row in header} == {"dim_oasis_attribute"} and len(header) == 5
    assert {row["source"]["column"] for row in header} >= {"Writing  ", "\xa0Active Learning"}
    assert all(row["source"]["record"] == 0 and row["source"]["line"] == 1 for row in header)
    assert {row["table"] for row in skills} == {"oasis_skills_sample"} and len(skills) == 5


def test_reverse_trace_refuses_a_line_outside_the_file(built: DataRoot) -> None:
    with pytest.raises(TraceError, match=r"line 99 is outside source/noc_unit_groups_sample.csv, which has 13"):
        trace_source(built, f"source/{SAMPLE}", 99)
    with pytest.raises(TraceError, match="lines count from 1"):
        trace_source(built, f"source/{SAMPLE}", 0)
    with pytest.raises(TraceError, match="feeds no staged table"):
        trace_source(built, "source/nothing.csv", 2)


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("1=1) UNION ALL SELECT * FROM noc_unit_groups WHERE (1=1", "not a predicate over noc_unit_groups"),
        ("1=1); DROP VIEW noc_unit_groups; SELECT (1", "exactly one statement"),
        ("noc_code IN (SELECT column0 FROM read_csv('/etc/passwd'))", "query failed"),
        ("1=1) GROUP BY ALL HAVING (1=1", "not a predicate over noc_unit_groups"),
        ("noc_code = ", "cannot parse query"),
    ],
)
def test_the_predicate_cannot_get_around_the_sandbox(built: DataRoot, where: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        trace(built, "noc_unit_groups", where)


def test_an_unknown_table_is_refused(built: DataRoot) -> None:
    with pytest.raises(QueryError, match="no gold table 'nope'"):
        trace(built, "nope", "1=1")


def run_cli(root: DataRoot, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"JOBFORGE_DATA_ROOT": root.data_root, "JOBFORGE_SOURCE_ROOT": root.source_root or ""}
    jobforge = Path(sys.executable).with_name("jobforge")
    return subprocess.run([str(jobforge), "trace", *args], env=env, capture_output=True, text=True, timeout=120)


def test_the_console_script(built: DataRoot) -> None:
    as_json = run_cli(built, "noc_unit_groups", "--where", "noc_code = '00012'", "--json")
    assert as_json.returncode == 0, as_json.stderr
    (found,) = json.loads(as_json.stdout)
    assert {"table", "row", "source", "batch_id", "run_id", "layers", "checks"} <= found.keys()
    assert {"file", "sha256", "current", "record", "line", "raw", "cells"} <= found["source"].keys()
    assert {"layer", "file", "transforms"} <= found["layers"][0].keys()
    text = run_cli(built, "noc_unit_groups", "--where", "noc_code = '00012'")
    assert (
        "record 3, line 4" in text.stdout and "raw: 00012," in text.stdout and "check integrity: passed" in text.stdout
    )
    reverse = run_cli(built, "--source", f"source/{SAMPLE}", "--line", "4", "--json")
    assert [row["row"]["noc_code"] for row in json.loads(reverse.stdout)] == ["00012"]
    refused = run_cli(built, "noc_unit_groups", "--where", "1=1; DROP VIEW x")
    assert refused.returncode == 2 and refused.stderr.startswith("jobforge trace: ")
    incomplete = run_cli(built, "--source", f"source/{SAMPLE}")
    assert incomplete.returncode == 2 and "--source and --line" in incomplete.stderr


def test_dim_oasis_attribute_cleans_what_a_killed_run_left(built: DataRoot) -> None:
    leftover = built.layer_dir(Layer.GOLD) / ".dim_oasis_attribute.parquet.0123abcd.tmp"
    leftover.write_bytes(b"half a file")
    assert run_job(built, REGISTRY).success
    assert not leftover.exists()


@pytest.mark.parametrize("field", ["archive_file", "source_file"])
def test_a_batch_record_leading_outside_the_data_root_is_refused(built: DataRoot, field: str) -> None:
    """Before: `archive_file: ../../../../../../etc/passwd` with that file's sha256 made the trace print it."""
    (batch,) = CatalogManager(built).list_batches("noc_unit_groups")
    escape = "../" * 12 + "etc/passwd"
    forged = batch.model_copy(
        update={field: escape if field == "archive_file" else f"source/{escape}", "sha256": sha256_of("/etc/passwd")}
    )
    (built.catalog_batches_dir() / f"{batch.batch_id}.json").write_text(forged.model_dump_json())
    refused = rf"catalog/batches/{batch.batch_id}\.json: {field} '.*etc/passwd' leads outside"
    with pytest.raises(TraceError, match=refused):
        trace(built, "noc_unit_groups", "noc_code = '00012'")


def test_a_gold_row_whose_batch_id_is_not_one_is_refused(built: DataRoot) -> None:
    with GoldQueryEngine(built) as engine, pytest.raises(TraceError, match="'../x' is not a batch id"):
        Tracer(built, engine, REGISTRY).batch("../x", "source/x.csv")


def sha256_of(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def counting(function, calls: list[str]):
    """`function`, noting each call (the real one runs)."""

    def counted(*args, **kwargs):
        calls.append(function.__name__)
        return function(*args, **kwargs)

    return counted


def test_many_rows_cost_one_pass_per_layer(built: DataRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: every row scanned each layer file and read every lineage log again (0.2 s a row on real data)."""
    calls: list[str] = []
    monkeypatch.setattr(record_module, "scan_parquet", counting(record_module.scan_parquet, calls))
    monkeypatch.setattr(CatalogManager, "get_lineage_logs", counting(CatalogManager.get_lineage_logs, calls))
    rows = trace(built, "oasis_skills_sample", "true", limit=None)
    assert len(rows) == 30 and len({row["batch_id"] for row in rows}) == 1
    assert calls.count("get_lineage_logs") == 1
    assert calls.count("scan_parquet") <= 4  # staged, bronze, silver and the quarantine, once each
    assert {row["layers"][2]["file"] for row in rows} == {"silver/oasis_skills_sample.parquet"}
    assert all(row["source"]["raw"].startswith(row["row"]["oasis_code"] + ",") for row in rows)


def test_the_rows_traced_are_capped_and_the_cap_is_said(
    built: DataRoot, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: no cap on --limit (`--limit 1000000` on oasis_work_context: about 3 hours)."""
    monkeypatch.setattr(tracer_module, "MAX_TRACE_ROWS", 5)
    assert len(trace(built, "oasis_skills_sample", "true", limit=1_000_000)) == 5
    monkeypatch.setenv("JOBFORGE_DATA_ROOT", built.data_root)
    monkeypatch.setenv("JOBFORGE_SOURCE_ROOT", built.source_root or "")
    assert cli.main(["trace", "noc_unit_groups", "--where", "true", "--limit", "1000000", "--json"]) == 0
    printed = capsys.readouterr()
    assert len(json.loads(printed.out)) == 5
    assert "more rows match; the first 5 are traced (a trace follows at most 5 rows)" in printed.err


def test_the_console_script_honours_its_timeout(built: DataRoot) -> None:
    """Before: the CLI's engine kept its fixed 300 s; a predicate that is a CPU bomb ran that long."""
    bomb = "noc_code IN (SELECT CAST(count(*) AS VARCHAR) FROM range(100000000000) a, range(100000) b)"
    started = time.monotonic()
    result = run_cli(built, "noc_unit_groups", "--where", bomb, "--timeout", "2")
    assert result.returncode == 2 and "cancelled after 2" in result.stderr, result.stderr[-500:]
    assert time.monotonic() - started < 30


def test_the_reverse_trace_honours_its_limit(built: DataRoot) -> None:
    """The skills sample's header (line 1) feeds its five rows of dim_oasis_attribute: a limit keeps the first."""
    with GoldQueryEngine(built) as engine:
        tracer = Tracer(built, engine, REGISTRY)
        every = tracer.trace_source(f"source/{SKILLS}", 1)
        assert (len(every), tracer.more) == (5, False)
        first = tracer.trace_source(f"source/{SKILLS}", 1, limit=2)
    assert [row["row"]["attribute"] for row in first] == ["reading_comprehension", "writing"] and tracer.more


def test_a_limit_below_one_and_an_empty_predicate_are_refused(built: DataRoot) -> None:
    with pytest.raises(TraceError, match="limit 0: give at least 1 row to trace"):
        trace(built, "noc_unit_groups", "1 = 1", limit=0)
    with pytest.raises(TraceError, match="the predicate is empty"):
        trace(built, "noc_unit_groups", " ")
