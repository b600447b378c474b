"""OpenLineage export: the events of a sample run, their facets, failures, the gold checks, and HTTP delivery."""

import hashlib
import http.server
import json
import logging
import os
import re
import socket
import threading
import uuid
from collections.abc import Iterator

import polars as pl
import pytest

from jobforge_dagster.build.output import LayerOutput, write_layer
from jobforge_dagster.catalog.models import CatalogEntry, TransitionFacts
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import PROVENANCE_COLUMNS, Layer
from jobforge_dagster.lineage import emitter as emitter_module
from jobforge_dagster.lineage.exporter import LineageExporter
from jobforge_dagster.quality.rules import table_rule_groups
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.transforms import gold
from jobforge_dagster_tests.openlineage_events import (
    events_dir,
    field_origins,
    parse_event,
    read_events,
    transitions,
)

SAMPLE = "noc_unit_groups"
SAMPLE_FILE = "source/noc_unit_groups_sample.csv"


@pytest.fixture(autouse=True)
def clean_environment() -> Iterator[None]:
    """No OpenLineage settings from outside; the variables the client sets itself are removed afterwards."""
    saved = dict(os.environ)
    for name in [name for name in os.environ if name.startswith("OPENLINEAGE")]:
        del os.environ[name]
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_sample_run_events_parse_and_pair_per_transition(config, run) -> None:
    result = run(config)
    events = read_events(config)
    assert events and all(parse_event(event) for event in events)
    logs = CatalogManager(config).get_lineage_logs()
    by_run = transitions(events)
    assert set(by_run) == {str(uuid.UUID(hex=log.transition_id)) for log in logs}
    assert len(by_run) == 8  # two tables, four layers each
    for pair in by_run.values():
        start, complete = pair["START"], pair["COMPLETE"]
        assert start["eventTime"] <= complete["eventTime"]
        assert (start["job"]["namespace"], start["job"]["name"]) == (
            complete["job"]["namespace"],
            complete["job"]["name"],
        )
        assert start["inputs"] and start["outputs"]
        assert [d["name"] for d in start["inputs"]] == [d["name"] for d in complete["inputs"]]
        output = complete["outputs"][0]
        assert output["name"] == start["outputs"][0]["name"]
        assert output["facets"]["schema"]["fields"] and output["facets"]["columnLineage"]["fields"]
        assert complete["run"]["facets"]["jobforge_transition"]["dagsterRunId"] == result.run_id
        assert complete["job"]["facets"]["jobType"]["processingType"] == "BATCH"
        assert complete["job"]["facets"]["sourceCodeLocation"]["url"].startswith("file://")
    gold_table = CatalogManager(config).load_table_metadata(SAMPLE, "gold")
    gold_complete = next(p["COMPLETE"] for p in by_run.values() if p["COMPLETE"]["job"]["name"] == f"{SAMPLE}.gold")
    schema = gold_complete["outputs"][0]["facets"]["schema"]["fields"]
    assert [(f["name"], f["type"]) for f in schema] == [(c.name, c.data_type) for c in gold_table.columns]
    assert gold_complete["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 12


def test_source_input_carries_its_sha256_and_bronze_renames_are_direct(config, run) -> None:
    run(config)
    by_job = {p["COMPLETE"]["job"]["name"]: p["COMPLETE"] for p in transitions(read_events(config)).values()}
    staged = by_job[f"{SAMPLE}.staged"]
    source = staged["inputs"][0]
    expected = hashlib.sha256((config.root / SAMPLE_FILE).read_bytes()).hexdigest()
    assert source["name"] == SAMPLE_FILE and source["namespace"] == config.root.resolve().as_uri()
    assert source["facets"]["version"]["datasetVersion"] == expected  # the spec's key for DatasetVersionDatasetFacet
    assert source["facets"]["jobforge_batch"]["sourceSha256"] == expected
    [renamed] = field_origins(by_job[f"{SAMPLE}.bronze"], "noc_code")
    assert (renamed["name"], renamed["field"]) == (f"staged/{SAMPLE}.parquet", "Code - NOC 2021 V1.0")
    assert [(t["type"], t["subtype"]) for t in renamed["transformations"]] == [("DIRECT", "IDENTITY")]
    [cast] = field_origins(by_job[f"{SAMPLE}.bronze"], "teer")
    assert (cast["transformations"][0]["subtype"], "cast to Int8" in cast["transformations"][0]["description"]) == (
        "TRANSFORMATION",
        True,
    )
    silver = by_job[f"{SAMPLE}.silver"]["outputs"][0]["facets"]["columnLineage"]
    filters = {
        (f["field"], f["transformations"][0]["type"], f["transformations"][0]["subtype"]) for f in silver["dataset"]
    }
    assert ("noc_code", "INDIRECT", "FILTER") in filters


def test_gold_outputs_carry_the_dictionary_in_documentation_and_schema_facets(config, run) -> None:
    """A declared gold table: the `documentation` facet (purpose, publisher, licence, edition) and each schema
    field's description in English and French; an undeclared one: no documentation, headers and guessed roles."""
    run(config)
    by_job = {p["COMPLETE"]["job"]["name"]: p["COMPLETE"] for p in transitions(read_events(config)).values()}
    output = by_job[f"{SAMPLE}.gold"]["outputs"][0]["facets"]
    documentation = output["documentation"]
    assert documentation["contentType"] == "text/markdown"
    assert documentation["description"].startswith("Small sample of NOC 2021 unit groups with English and French")
    assert "Licence: Part of the JobForge repository · Edition: Bundled sample" in documentation["description"]
    fields = {field["name"]: field["description"] for field in output["schema"]["fields"]}
    english, french = fields["title_fr"].split("\n\n")
    assert (english, french) == (
        "Title of the NOC 2021 group. In French.",
        "Titre du groupe de la CNP 2021. En français.",
    )
    undeclared = by_job["oasis_skills_sample.gold"]["outputs"][0]["facets"]
    assert "documentation" not in undeclared
    described = {field["name"]: field["description"] for field in undeclared["schema"]["fields"]}
    assert described["reading_comprehension"].startswith('Column "Reading Comprehension" of a source file')
    assert "documentation" not in by_job[f"{SAMPLE}.silver"]["outputs"][0]["facets"]


#: A silver table's data columns for each gold transform (provenance added in the test).
SILVER_COLUMNS = {
    "identity": ["code", "x"],
    "dim_noc": ["noc_code", "level", "level_name", "title", "definition"],
    "cops_long": ["noc_code", "occupation_name_en", "col_2024", "col_2025"],
    "cops_flagged": ["noc_code", "x"],
    "oasis_long": ["oasis_code", "oasis_label", "writing", "reading"],
    "with_noc_code": ["oasis_code", "x"],
}


@pytest.mark.parametrize("name", sorted(gold.GOLD_TRANSFORMS))
def test_gold_lineage_names_the_columns_each_transform_reads_and_writes(name: str) -> None:
    assert set(gold.GOLD_LINEAGE) == set(gold.GOLD_TRANSFORMS) == set(SILVER_COLUMNS)
    row = {"noc_code": "00010", "level": "5", "oasis_code": "00010.00", "col_2024": "7", "col_2025": "8"}
    silver = pl.LazyFrame([{column: row.get(column, "a") for column in [*SILVER_COLUMNS[name], *PROVENANCE_COLUMNS]}])
    written = gold.gold_transform(name)(silver).collect_schema().names()
    lineage = gold.gold_lineage(name, silver.collect_schema().names())
    assert set(lineage.fields) <= set(written)
    assert set(written) - set(lineage.fields) == {"_layer"}  # stamped by each layer, from no input
    origins = [origin for origins in lineage.fields.values() for origin in origins] + lineage.dataset
    assert {origin.column for origin in origins} <= set(silver.collect_schema().names())


def test_unpivot_value_comes_from_every_year_column() -> None:
    columns = ["noc_code", "occupation_name_en", "col_2024", "col_2025", *PROVENANCE_COLUMNS]
    lineage = gold.gold_lineage("cops_long", columns)
    assert [(o.column, o.type, o.subtype) for o in lineage.fields["value"]] == [
        ("col_2024", "DIRECT", "TRANSFORMATION"),
        ("col_2025", "DIRECT", "TRANSFORMATION"),
    ]
    assert [o.column for o in lineage.fields["year"]] == ["col_2024", "col_2025"]
    assert [(o.column, o.subtype) for o in lineage.fields["is_aggregate"]] == [("noc_code", "TRANSFORMATION")]
    assert [(o.column, o.subtype) for o in gold.gold_lineage("dim_noc", columns).fields["parent_code"]] == [
        ("noc_code", "TRANSFORMATION")
    ]
    assert [
        o.column for o in gold.gold_lineage("oasis_long", ["oasis_code", "oasis_label", "a", "b"]).fields["rating"]
    ] == [
        "a",
        "b",
    ]


def test_failed_build_emits_fail_after_start(config, run) -> None:
    sample = config.root / SAMPLE_FILE
    lines = sample.read_text("utf-8-sig").splitlines()
    header = lines[0].split(",")
    bad = lines[1].split(",")
    bad[header.index("TEER")] = "high"  # not a valid Int8: bronze stops
    sample.write_text("\n".join([lines[0], ",".join(bad), *lines[2:]]) + "\n", encoding="utf-8")
    result = run(config, raise_on_error=False)
    assert not result.success
    bronze = next(
        p for p in transitions(read_events(config)).values() if p["START"]["job"]["name"] == f"{SAMPLE}.bronze"
    )
    assert set(bronze) == {"START", "FAIL"}
    fail = parse_event(bronze["FAIL"])
    assert "not a valid Int8" in fail.run.facets["errorMessage"].message
    assert bronze["FAIL"]["run"]["facets"]["jobforge_transition"]["status"] == "failed"
    assert bronze["FAIL"]["outputs"][0]["name"] == f"bronze/{SAMPLE}.parquet"


def test_failed_write_emits_fail(config) -> None:
    facts = TransitionFacts(
        table="codes",
        target_layer="gold",
        batch_id="codes-000000000000",
        source_sha256="0" * 64,
        source_layer="silver",
        source_files=["silver/codes.parquet"],
    )

    def refuse(rows: int) -> None:
        raise ValueError(f"refused {rows} rows")

    output = LayerOutput(pl.DataFrame({"code": ["1"]}), facts, CatalogEntry(), guard=refuse)
    with LineageExporter(config.root, config.openlineage_dir()) as exporter, pytest.raises(Exception, match="refused"):
        write_layer(CatalogManager(config, exporter), Layer.GOLD, "codes", output, "dagster-run")
    [fail] = read_events(config)
    assert fail["eventType"] == "FAIL" and fail["run"]["runId"] == str(uuid.UUID(hex=facts.transition_id))
    assert "refused 1 rows" in parse_event(fail).run.facets["errorMessage"].message


def test_gold_checks_become_data_quality_assertions(config, run) -> None:
    sample = config.root / SAMPLE_FILE
    lines = sample.read_text("utf-8-sig").splitlines()
    sample.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")  # a repeated key: quarantined, a WARN
    run(config, raise_on_error=False)
    checks = [e for e in read_events(config) if e["job"]["name"] == f"{SAMPLE}.gold.checks"]
    assert [e["eventType"] for e in checks] == ["START", "COMPLETE"]
    assert checks[0]["run"]["runId"] == checks[1]["run"]["runId"]
    [tested] = checks[1]["inputs"]
    assert tested["name"] == f"gold/{SAMPLE}.parquet"
    assertions = {a["name"]: a for a in tested["inputFacets"]["dataQualityAssertions"]["assertions"]}
    spec = SourceRegistry.load().by_name[SAMPLE]
    assert list(assertions) == [rule.name for group in table_rule_groups(spec) for rule in group.rules]
    assert (assertions["key_unique"]["success"], assertions["key_unique"]["severity"]) == (False, "warn")
    assert assertions["code_format_noc_code"] == {
        **assertions["code_format_noc_code"],
        "success": True,
        "column": "noc_code",
    }
    assert parse_event(checks[1])


class Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append({"path": self.path, "event": json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    """An OpenLineage HTTP endpoint on 127.0.0.1 (a free port), collecting what it receives."""
    Receiver.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_receiver_gets_the_same_events_as_the_files(config, run, receiver: str) -> None:
    os.environ["OPENLINEAGE_URL"] = receiver
    run(config)  # the run's exporter sends what is waiting when the run ends
    files = read_events(config)
    assert {r["path"] for r in Receiver.received} == {"/api/v1/lineage"}
    received = [r["event"] for r in Receiver.received]
    assert len(received) == len(files) == 20  # 8 transitions, START and COMPLETE; 2 check runs, START and COMPLETE
    key = lambda event: (event["eventTime"], event["run"]["runId"], event["eventType"])  # noqa: E731
    assert sorted(received, key=key) == sorted(files, key=key)


def test_unreachable_server_or_unwritable_folder_never_fails_the_run(config, run, caplog) -> None:
    # nothing listens on the discard port; configured through the client's own variables, no retries
    os.environ |= {
        "OPENLINEAGE__TRANSPORT__TYPE": "http",
        "OPENLINEAGE__TRANSPORT__URL": "http://127.0.0.1:9",
        "OPENLINEAGE__TRANSPORT__RETRY": '{"total": 0}',
    }
    events_dir(config).parent.mkdir(parents=True)
    events_dir(config).write_text("a file where the events folder should be")
    result = run(config)
    assert result.success
    assert "OpenLineage: could not emit" in caplog.text  # the folder
    assert "openlineage-client could not send an event" in caplog.text  # the server


def test_disabled_emits_nothing(config, run) -> None:
    os.environ["OPENLINEAGE_DISABLED"] = "true"
    assert run(config).success
    assert not events_dir(config).exists()


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [("OPENLINEAGE_URL", "http://[::1", "Invalid IPv6 URL"), ("OPENLINEAGE__TRANSPORT__TYPE", "bogus", "bogus")],
)
def test_a_mistyped_transport_is_one_warning_and_the_event_files_are_still_written(
    config, run, caplog, variable: str, value: str, reason: str
) -> None:
    """Before: the client could not be built, and that failed the run (ValueError, ImportError)."""
    os.environ[variable] = value
    with caplog.at_level(logging.WARNING, logger=emitter_module.__name__):
        assert run(config).success
    assert len(read_events(config)) == 20
    warnings = [record.getMessage() for record in caplog.records if "cannot be used" in record.getMessage()]
    assert warnings and set(warnings) == {warnings[0]}  # one per exporter, when it is created; none per event
    (warning,) = set(warnings)
    assert variable in warning and reason in warning and "catalog/openlineage/ only" in warning
    assert value not in warning.split(":", 2)[1]  # the variables are named, not their values


def test_a_server_that_never_answers_is_reported_with_the_events_not_delivered(config, run, caplog) -> None:
    """Before (the old layout): none of the events arrived and nothing was logged."""
    silent = socket.create_server(("127.0.0.1", 0), backlog=64)  # the kernel accepts; nobody ever answers
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    os.environ["OPENLINEAGE_URL"] = url
    try:
        with caplog.at_level(logging.WARNING, logger=emitter_module.__name__):
            assert run(config).success
    finally:
        silent.close()
    assert len(read_events(config)) == 20
    said = re.findall(rf"OpenLineage: (\d+) of (\d+) events were not delivered to {re.escape(url)}\n", caplog.text)
    assert said and [sum(int(lost) for lost, _ in said), sum(int(handed) for _, handed in said)] == [20, 20]
