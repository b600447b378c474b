"""All 32 real NOC 2021 / OaSIS / COPS / job architecture files, source to gold, checked against the CSVs.

Every expected figure is computed here from the CSV files with Python's csv module, not taken from the pipeline.
"""

import csv
import hashlib
import importlib.util
import io
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType

import dagster as dg
import duckdb
import polars as pl
import pytest

from jobforge_dagster.batches.stamps import read_stamp
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import PROVENANCE_COLUMNS, SOURCE_LINE, SOURCE_ROW, Layer
from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.quality.evaluation import table_gold_facts
from jobforge_dagster.quality.rules import GoldFacts, table_rule_groups
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.sources.tables import collect_tables, list_source_files
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.transforms.gold import LONG_FORMS
from jobforge_dagster_tests.conftest import REPO, require_real_data, run_job
from jobforge_dagster_tests.openlineage_events import field_origins, parse_event, read_events, transitions


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """The file as Python's csv module sees it: header and data records, as strings."""
    records = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
    return records[0], records[1:]


def line_num_starts(path: Path) -> list[int]:
    """Where each data record starts by the csv module's bookkeeping: one past `reader.line_num` after the record
    before it (the csv module also ends a line at a CR alone)."""
    reader = csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline=""))
    next(reader)
    starts, previous = [], reader.line_num
    for _ in reader:
        starts.append(previous + 1)
        previous = reader.line_num
    return starts


def newline_starts(path: Path) -> list[int]:
    """Where each data record starts when only "\\n" ends a line: header lines, then each record's newlines."""
    header, records = read_csv(path)
    line, starts = 2 + sum(name.count("\n") for name in header), []
    for record in records:
        starts.append(line)
        line += 1 + sum(cell.count("\n") for cell in record)
    return starts


def column(path: Path, name: str) -> list[str]:
    header, records = read_csv(path)
    index = header.index(name)
    return [record[index] for record in records]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: The registry of the 32 real files.
NOC2021 = SourceRegistry.load("noc2021")


class RealRun:
    def __init__(self, config: DataRoot, source: Path, result: dg.ExecuteInProcessResult, sums: dict) -> None:
        self.config, self.source, self.result, self.sums_before = config, source, result, sums
        self.registry = NOC2021
        self.tables = collect_tables(self.registry, source).tables

    def gold(self, table: str) -> pl.DataFrame:
        return pl.read_parquet(self.config.table_path(Layer.GOLD, table))

    def fed_tables(self):
        files = list_source_files(self.source)
        return [spec for spec in self.tables if any(spec.matches(name) for name in files)]


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> RealRun:
    source = require_real_data()
    sums_before = {name: sha256(source / name) for name in list_source_files(source)}
    config = DataRoot(data_root=str(tmp_path_factory.mktemp("real") / "data"), source_root=str(source))
    result = run_job(config, NOC2021, raise_on_error=False)
    return RealRun(config, source, result, sums_before)


def test_run_succeeds_and_every_asset_check_passes(real: RealRun) -> None:
    assert real.result.success
    evaluations = real.result.get_asset_check_evaluations()
    checked = {e.asset_key.to_user_string() for e in evaluations if e.check_name == "integrity"}
    assert checked == {f"gold/{spec.gold_table}" for spec in real.fed_tables()} | {"gold/dim_oasis_attribute"}
    rules = sum(len(e.metadata) - 2 for e in evaluations)  # each rule's metadata, besides failed_rules and rules
    assert rules > 150
    failed = [(e.asset_key.to_user_string(), e.check_name, e.description) for e in evaluations if not e.passed]
    assert failed == []


def test_every_real_file_reaches_gold(real: RealRun) -> None:
    assert len(list_source_files(real.source)) == 32
    fed = real.fed_tables()
    assert len(fed) == 32 and all(spec.declared for spec in fed)
    for spec in fed:
        assert real.config.table_path(Layer.GOLD, spec.gold_table).exists(), spec.name


def test_gold_reconciles_with_source_and_quarantine(real: RealRun) -> None:
    for spec in real.fed_tables():
        gold = real.gold(spec.gold_table)
        _, records = read_csv(real.source / gold["_source_file"][0].removeprefix("source/"))
        quarantine = real.config.quarantine_path(spec.name, gold["_batch_id"][0])
        quarantined = pl.read_parquet(quarantine).height if quarantine.exists() else 0
        assert gold[SOURCE_ROW].n_unique() + quarantined == len(records), spec.name
        assert set(PROVENANCE_COLUMNS) <= set(gold.columns), spec.name


def test_staged_keeps_every_value_exactly(real: RealRun) -> None:
    for spec in real.fed_tables():
        staged = pl.read_parquet(real.config.table_path(Layer.STAGED, spec.name))
        header, records = read_csv(real.source / staged["_source_file"][0].removeprefix("source/"))
        data = staged.drop(PROVENANCE_COLUMNS)
        assert data.columns == header, spec.name
        expected = pl.DataFrame(records, schema=[(f"c{i}", pl.String) for i in range(len(header))], orient="row")
        actual = data.rename(dict(zip(data.columns, expected.columns, strict=True)))
        assert actual.equals(expected), spec.name  # strictly: an empty field is "", never null
        assert data.null_count().sum_horizontal().item() == 0, spec.name
        assert staged[SOURCE_ROW].to_list() == list(range(1, len(records) + 1))


def test_staged_empty_fields_become_null_in_silver_and_are_counted(real: RealRun) -> None:
    metadata = {
        event.asset_key.to_user_string(): event.event_specific_data.materialization.metadata
        for event in real.result.get_asset_materialization_events()
    }
    emptied = {"job_architecture": 0, "oasis_exclusions": 0, "oasis_interests": 0, "oasis_guide": 0}
    for spec in real.fed_tables():
        staged = pl.read_parquet(real.config.table_path(Layer.STAGED, spec.name))
        _, records = read_csv(real.source / staged["_source_file"][0].removeprefix("source/"))
        empty = sum(cell == "" for record in records for cell in record)
        assert staged.drop(PROVENANCE_COLUMNS).select(pl.all().eq("").sum()).sum_horizontal().item() == empty
        if spec.name in emptied:
            emptied[spec.name] = empty
        # silver counts the blanks of its text columns (a typed column's blanks became null in bronze's cast)
        bronze = pl.read_parquet(real.config.table_path(Layer.BRONZE, spec.name)).drop(PROVENANCE_COLUMNS)
        texts = [i for i, dtype in enumerate(bronze.dtypes) if dtype == pl.String]
        blanks = sum(record[i].strip() == "" for record in records for i in texts)
        transforms = metadata[f"silver/{spec.name}"]["transforms"].value
        assert f"empty strings to null: {blanks} cells" in transforms, spec.name
    assert emptied == {"job_architecture": 10949, "oasis_exclusions": 2763, "oasis_interests": 180, "oasis_guide": 69}


def test_staged_source_line_is_the_physical_line_where_each_record_starts(real: RealRun) -> None:
    path = real.source / "job_architecture.csv"
    jobs = pl.read_parquet(real.config.table_path(Layer.STAGED, "job_architecture"))
    assert jobs[SOURCE_LINE].to_list() == line_num_starts(path)
    shifted = {}
    for spec in real.fed_tables():
        staged = pl.read_parquet(real.config.table_path(Layer.STAGED, spec.name))
        starts = newline_starts(real.source / staged["_source_file"][0].removeprefix("source/"))
        assert staged[SOURCE_LINE].to_list() == starts, spec.name
        moved = sum(start != row + 1 for row, start in enumerate(starts, start=1))
        if moved:
            shifted[spec.name] = moved
    assert shifted == {"job_architecture": 715, "oasis_additional_information": 594, "oasis_workplaces_employers": 145}
    # example-titles holds a CR alone inside two quoted fields: a line break for the csv module, data for JobForge
    titles = real.source / "example-titles_oasis_2023_v1.0.csv"
    assert line_num_starts(titles) != newline_starts(titles)
    gold = real.gold("job_architecture")
    assert gold[SOURCE_LINE].to_list() == jobs[SOURCE_LINE].to_list()  # carried to gold unchanged


def test_dim_noc_hierarchy(real: RealRun) -> None:
    structure = real.source / "noc_structure_en.csv"
    codes = column(structure, "Code - NOC 2021 V1.0")
    levels = column(structure, "Level")
    dim = real.gold("dim_noc")
    assert dim.height == len(codes) == 822
    assert dim.filter(pl.col("level") == 5).height == levels.count("5") == 516
    assert sorted(dim["noc_code"].to_list()) == sorted(codes)  # exact strings, leading zeros kept
    assert "00010" in codes
    known = set(codes)
    parents = dim.filter(pl.col("parent_code").is_not_null())["parent_code"].to_list()
    assert parents and all(parent in known for parent in parents)
    assert dim.filter(pl.col("parent_code").is_null()).height == levels.count("1")
    legislators = dim.filter(pl.col("noc_code") == "00010").row(0, named=True)
    assert (legislators["teer"], legislators["broad_category"], legislators["parent_code"]) == (0, "0", "0001")


def test_cops_fact_matches_source_cell(real: RealRun) -> None:
    path = real.source / "employment_emploi_2024_2033_noc2021.csv"
    header, records = read_csv(path)
    cell = next(record for record in records if record[0] == "00010")[header.index("2030")]
    facts = real.gold("cops_employment")
    value = facts.filter((pl.col("noc_code") == "00010") & (pl.col("year") == 2030))["value"].to_list()
    assert value == [int(cell)]
    # aggregates are flagged, never mixed silently with unit groups
    aggregates = facts.filter(pl.col("is_aggregate"))["noc_code"].unique().to_list()
    assert "00000" in aggregates and "TEER_0" in aggregates
    assert not [code for code in aggregates if re.fullmatch(r"\d{5}", code) and code != "00000"]
    # N/A and N/D are null in the value and counted in lineage
    growth = real.source / "employment_growth_croissance_emploi_2024_2033_noc2021.csv"
    header, records = read_csv(growth)
    tokens = sum(cell in ("N/A", "N/D") for record in records for cell in record[3:])
    assert real.gold("cops_employment_growth")["value"].null_count() == tokens
    metadata = {
        event.asset_key.to_user_string(): event.event_specific_data.materialization.metadata
        for event in real.result.get_asset_materialization_events()
    }
    assert sum(metadata["bronze/cops_employment_growth"]["null_tokens"].value.values()) == tokens


def test_cops_summary_underscored_headers_reach_gold(real: RealRun) -> None:
    summary = real.gold("cops_summary")
    assert {"noc_code", "occupation_name_en", "occupation_name_fr", "job_seekers_chercheurs_emploi"} <= set(
        summary.columns
    )
    path = real.source / "summary_sommaire_2024_2033_noc2021.csv"
    cell = column(path, "Job_Seekers_Chercheurs_emploi")[0]
    assert cell == "8,238,800"
    assert summary.filter(pl.col("noc_code") == "00000")["job_seekers_chercheurs_emploi"][0] == 8238800


def test_oasis_rating_round_trips(real: RealRun) -> None:
    path = real.source / "skills_oasis_2023_v1.0.csv"
    header, records = read_csv(path)
    record = next(record for record in records if record[0] == "00010.00")
    cell = record[header.index("Writing  ")]
    ratings = real.gold("oasis_skills")
    rating = ratings.filter((pl.col("oasis_code") == "00010.00") & (pl.col("attribute") == "writing"))
    assert rating["rating"].to_list() == [int(cell)] and rating["noc_code"].to_list() == ["00010"]
    assert ratings.height == len(records) * (len(header) - 2)
    attributes = real.gold("dim_oasis_attribute")
    writing = attributes.filter((pl.col("category") == "skills") & (pl.col("attribute") == "writing"))
    assert writing["source_header"].to_list() == ["Writing  "] and writing["attribute_name"].to_list() == ["Writing"]
    personal = real.source / "personal-attributes_oasis_2023_v1.0.csv"
    assert "\xa0Active Learning" in read_csv(personal)[0]
    active = attributes.filter(pl.col("attribute") == "active_learning")
    assert active["source_header"].to_list() == ["\xa0Active Learning"]


def test_oasis_codes_repaired_from_spreadsheet_damage(real: RealRun) -> None:
    source = column(real.source / "main-duties_oasis-2023_v1.0.csv", "OaSIS profile code")
    damaged = [code for code in source if not re.fullmatch(r"\d{5}\.\d{2}", code)]
    assert damaged and "10010" in damaged
    duties = real.gold("oasis_main_duties")
    assert duties.height == len(source)
    assert duties["oasis_code"].str.contains(r"^\d{5}\.\d{2}$").all()
    staged = pl.read_parquet(real.config.table_path(Layer.STAGED, "oasis_main_duties"))
    assert staged["OaSIS profile code"].to_list() == source  # staged keeps the file's value


def test_job_architecture_codes_and_mapping(real: RealRun) -> None:
    path = real.source / "job_architecture.csv"
    noc_2021 = column(path, "2021_NOC_UID")
    noc_2016 = column(path, "2016_NOC_UID")
    jobs = real.gold("job_architecture")
    assert jobs.height == len(noc_2021) == 1987
    assert jobs["noc_2021_code"].to_list() == [code or None for code in noc_2021]
    assert jobs["noc_2016_code"].to_list() == [code or None for code in noc_2016]
    assert jobs["noc_2021_code"].null_count() == noc_2021.count("") == 68
    with GoldQueryEngine(real.config) as engine:
        titles = engine.query(
            "SELECT DISTINCT d.title FROM job_architecture j JOIN dim_noc d ON d.noc_code = j.noc_2021_code "
            "WHERE j.noc_2021_code = '00011'"
        )
    assert titles["title"].to_list() == ["Senior government managers and officials"]
    check = next(
        e
        for e in real.result.get_asset_check_evaluations()
        if e.asset_key.to_user_string() == "gold/job_architecture" and e.check_name == "conformance"
    )
    assert check.passed and check.metadata["foreign_key_noc_2021_code"].value["null_keys"] == 68


def test_crosswalk_leading_zeros_restored(real: RealRun) -> None:
    source = column(real.source / "noc2021_onet26.csv", "noc")
    assert "10" in source
    crosswalk = real.gold("noc_onet_crosswalk")
    assert "00010" in crosswalk["noc_code"].to_list()
    assert crosswalk.height == len(source)
    log = next(
        e.event_specific_data.materialization.metadata
        for e in real.result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "silver/noc_onet_crosswalk"
    )
    restored = sum(1 for code in source if len(code) < 5)
    assert f"pad noc_code with leading zeros to 5 digits: {restored} cells" in log["transforms"].value


def test_documented_gold_queries_run(real: RealRun) -> None:
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    queries = [sql for page in pages for sql in re.findall(r"```sql\n(.*?)```", page.read_text(), flags=re.DOTALL)]
    assert len(queries) >= 4
    with GoldQueryEngine(real.config) as engine:
        for sql in queries:
            assert engine.query(sql).height > 0, sql


def test_source_files_unchanged(real: RealRun) -> None:
    published = {}
    for line in (real.source / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        published[name] = digest
    for name, digest in real.sums_before.items():
        assert sha256(real.source / name) == digest == published[name]


def measure_headers(spec_transform: str, header: list[str]) -> int:
    """The CSV columns a long-form table melts: COPS year headers, OaSIS rating headers (all but code and label)."""
    return (
        sum(bool(re.fullmatch(r"\d{4}", name)) for name in header) if spec_transform == "cops_long" else len(header) - 2
    )


def test_every_long_table_reconciles_cell_for_cell(real: RealRun) -> None:
    integrity = {
        e.asset_key.to_user_string(): e.metadata
        for e in real.result.get_asset_check_evaluations()
        if e.check_name == "integrity"
    }
    long_tables = [spec for spec in real.fed_tables() if spec.gold_transform in LONG_FORMS]
    assert len(long_tables) == 16
    for spec in long_tables:
        cells = integrity[f"gold/{spec.gold_table}"]["cell_reconciliation"].value
        header, records = read_csv(real.source / real.gold(spec.gold_table)["_source_file"][0].removeprefix("source/"))
        assert cells["cells_expected"] == len(records) * measure_headers(spec.gold_transform, header), spec.name
        assert cells["cells_found"] == cells["gold_rows"] == cells["cells_expected"], spec.name
        assert cells["missing"] == cells["duplicated"] == cells["changed"] == cells["unexpected"] == 0, spec.name
    assert "cell_reconciliation" not in integrity["gold/dim_oasis_attribute"]
    assert "cell_reconciliation" not in integrity["gold/cops_summary"]


@pytest.mark.parametrize(
    ("table", "row", "where"), [("cops_employment", 17, "year"), ("oasis_skills", 250, "attribute")]
)
def test_one_cell_deleted_from_real_gold_fails_the_integrity_check(
    real: RealRun, tmp_path: Path, table: str, row: int, where: str
) -> None:
    spec = real.registry.by_name[table]
    facts = table_gold_facts(real.config, spec, lookup=lambda table, column: pl.DataFrame())
    gold = pl.read_parquet(facts.gold_path)
    cell = gold.filter(pl.col(SOURCE_ROW) == row).row(3, named=True)
    broken = tmp_path / f"{table}.parquet"
    gold.filter(((pl.col(SOURCE_ROW) == row) & (pl.col(where) == cell[where])).not_()).write_parquet(broken)
    damaged = GoldFacts(broken, facts.lookup, facts.staged_path, facts.silver_path, facts.quarantine_path)
    outcome = table_rule_groups(spec)[0].evaluate(damaged)
    assert outcome.failed_rules == ["cell_reconciliation"]  # row_reconciliation still passes
    column = f"col_{cell['year']}" if where == "year" else cell["attribute"]
    assert outcome.figures["cell_reconciliation"]["examples"] == {
        "missing": [{SOURCE_ROW: row, "source_column": column}]
    }
    assert f"1 missing, e.g. row {row} {column}" in outcome.description


def test_openlineage_complete_for_every_transition(real: RealRun) -> None:
    events = read_events(real.config)
    completes = {p["COMPLETE"]["job"]["name"]: p["COMPLETE"] for p in transitions(events).values() if "COMPLETE" in p}
    expected = {f"{spec.name}.{layer.value}" for spec in real.fed_tables() for layer in Layer} | {
        "dim_oasis_attribute.gold"
    }
    assert set(completes) == expected and len(expected) == 32 * 4 + 1
    for name, event in completes.items():
        assert event["inputs"] and len(event["outputs"]) == 1, name
        facets = event["outputs"][0]["facets"]
        assert facets["schema"]["fields"] and facets["columnLineage"]["fields"], name
    assert all(parse_event(event) for event in events)
    value = field_origins(completes["cops_employment.gold"], "value")
    assert [o["field"] for o in value] == [f"col_{year}" for year in range(2023, 2034)]
    assert {(t["type"], t["subtype"]) for o in value for t in o["transformations"]} == {("DIRECT", "TRANSFORMATION")}
    [padded] = field_origins(completes["noc_onet_crosswalk.silver"], "noc_code")
    assert "left-padded with zeros to 5" in padded["transformations"][0]["description"]
    joined = completes["noc_onet_crosswalk.silver"]["outputs"][0]["facets"]["columnLineage"]["dataset"]
    assert ("gold/dim_noc.parquet", "noc_code", "JOIN") in {
        (o["name"], o["field"], o["transformations"][0]["subtype"]) for o in joined
    }
    assert "gold/dim_noc.parquet" in {d["name"] for d in completes["noc_onet_crosswalk.silver"]["inputs"]}
    checked = {e["job"]["name"] for e in events if e["job"]["name"].endswith(".gold.checks")}
    assert len(checked) == 33


def test_openlineage_names_sources_where_read_and_start_lists_the_inputs_of_complete(real: RealRun) -> None:
    """Sources read from a separate folder ($JOBFORGE_SOURCE_ROOT) are datasets of that folder, not of the data
    root (where no such file is); a transition's START and COMPLETE name the same inputs (silver's START too
    names the gold table its references are checked in)."""
    pairs = transitions(read_events(real.config))
    assert len(pairs) == 32 * 4 + 1
    for pair in pairs.values():
        start, complete = (
            [(dataset["namespace"], dataset["name"]) for dataset in pair[kind]["inputs"]]
            for kind in ("START", "COMPLETE")
        )
        assert start == complete, pair["COMPLETE"]["job"]["name"]
    by_job = {pair["COMPLETE"]["job"]["name"]: pair for pair in pairs.values()}
    sources = real.source.resolve().as_uri()
    (source,) = by_job["noc_structure.staged"]["START"]["inputs"]
    assert (source["namespace"], source["name"]) == (sources, "noc_structure_en.csv")
    assert (real.source / source["name"]).is_file()
    [origin] = field_origins(by_job["noc_structure.staged"]["COMPLETE"], "Level")
    assert (origin["namespace"], origin["name"]) == (sources, "noc_structure_en.csv")
    inputs = [dataset["name"] for dataset in by_job["noc_onet_crosswalk.silver"]["START"]["inputs"]]
    assert inputs == ["bronze/noc_onet_crosswalk.parquet", "gold/dim_noc.parquet"]
    bronze = by_job["noc_structure.bronze"]["COMPLETE"]["inputs"][0]
    assert (bronze["namespace"], bronze["name"]) == (
        real.config.root.resolve().as_uri(),
        "staged/noc_structure.parquet",
    )


def test_broken_copy_fails_the_matching_checks(tmp_path: Path) -> None:
    source = require_real_data()
    folder = tmp_path / "source"
    folder.mkdir()
    shutil.copy(source / "noc_structure_en.csv", folder)
    header, records = read_csv(source / "job_architecture.csv")
    unknown = list(records[1])
    unknown[header.index("JT_ID")] = "999999"
    unknown[header.index("2021_NOC_UID")] = "99999"
    with open(folder / "job_architecture.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *records, records[0], unknown])
    config = DataRoot(data_root=str(tmp_path / "data"), source_root=str(folder))
    result = run_job(config, NOC2021, raise_on_error=False)
    outcomes = {
        e.check_name: e
        for e in result.get_asset_check_evaluations()
        if e.asset_key.to_user_string() == "gold/job_architecture"
    }
    conformance = outcomes["conformance"]
    assert not conformance.passed and conformance.severity is dg.AssetCheckSeverity.ERROR
    # the repeated JT_ID was quarantined, and the rule says so; the unknown NOC code does not resolve
    assert conformance.metadata["failed_rules"].value == ["key_unique", "foreign_key_noc_2021_code"]
    assert conformance.metadata["key_unique"].value["duplicates_quarantined"] == 1
    assert conformance.metadata["foreign_key_noc_2021_code"].value["examples"] == ["99999"]
    assert "foreign_key_noc_2021_code: noc_2021_code resolves" in conformance.description
    assert outcomes["integrity"].passed
    assert not result.success  # the foreign key check is blocking


def test_benchmark_same_work_reference_writes_what_the_pipeline_writes(real: RealRun, tmp_path: Path) -> None:
    """bench/same_work.py (the transforms with no orchestration) must stay the same work as the pipeline."""
    same_work, bench = bench_module("same_work"), bench_module("run")
    same_work.run(real.source, tmp_path, NOC2021)
    # every layer file compared cell for cell (`_ingested_at` aside), as the benchmark does
    assert bench.same_outputs(tmp_path, real.config.root) == 4 * len(real.fed_tables())


def bench_module(name: str) -> ModuleType:
    """A script of bench/ (not a package) loaded as a module, its folder first on sys.path as when it is run."""
    module_spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(module_spec)
    sys.path.insert(0, str(REPO / "bench"))
    try:
        module_spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(REPO / "bench"))
    return module


def test_a_broken_noc_structure_blocks_no_other_table(tmp_path: Path) -> None:
    """31 tables reach gold beside a broken noc_structure; their foreign keys use the last good dim_noc."""
    source = require_real_data()
    folder = tmp_path / "source"
    folder.mkdir()
    shutil.copy(source / "noc_structure_en.csv", folder)
    config = DataRoot(data_root=str(tmp_path / "data"), source_root=str(folder))
    assert run_job(config, NOC2021).success
    dim_noc = config.table_path(Layer.GOLD, "dim_noc")
    good_batch, good_bytes = read_stamp(dim_noc)[0], dim_noc.read_bytes()

    for name in list_source_files(source):
        shutil.copy(source / name, folder / name)
    text = (source / "noc_structure_en.csv").read_bytes()
    ending = b"\r\n" if text.endswith(b"\r\n") else b"\n"
    (folder / "noc_structure_en.csv").write_bytes(text + b'99999,"never closed' + ending)
    result = run_job(config, NOC2021, raise_on_error=False)

    assert not result.success
    failed = [event.step_key for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
    assert failed == ["noc_structure_medallion"]
    files = list_source_files(folder)
    fed = [(spec, next((name for name in files if spec.matches(name)), None)) for spec in NOC2021.tables]
    others = [(spec, name) for spec, name in fed if name is not None and spec.name != "noc_structure"]
    assert len(others) == 31
    for spec, name in others:  # each gold holds its own file's bytes
        assert read_stamp(config.table_path(Layer.GOLD, spec.gold_table))[1] == sha256(folder / name), spec.name
    assert dim_noc.read_bytes() == good_bytes  # the last good dim_noc stays published
    compared = {
        event.asset_key.to_user_string(): event.metadata[rule].value["compared_with_batch"]
        for event in result.get_asset_check_evaluations()
        for rule in event.metadata
        if rule.startswith("foreign_key_") and event.asset_key.to_user_string() != "gold/dim_noc"
    }
    assert len(compared) >= 20 and set(compared.values()) == {good_batch}
    employment = read_stamp(config.table_path(Layer.GOLD, "cops_employment"))[0]
    saved = CatalogManager(config).get_check_results("cops_employment", employment)
    assert saved is not None  # catalog/checks/ records the batch compared with too
    assert {check.name: check.compared_with for check in saved.checks}["conformance"] == {
        "foreign_key_noc_code": good_batch
    }


def test_every_real_gold_column_is_described_in_both_languages_in_the_catalog_and_the_ui(real: RealRun) -> None:
    """The catalog JSON has both descriptions for each of the 379 gold columns; the Dagster UI shows each
    materialized column with the description of its asset spec (a materialization sends names and types)."""
    gold = CatalogManager(real.config).list_tables("gold")
    columns = [(table.table_name, column) for table in gold for column in table.columns]
    assert (len(gold), len(columns)) == (33, 379)
    assert [(name, c.name) for name, c in columns if not (c.description_en.strip() and c.description_fr.strip())] == []
    specs = {spec.key: spec for spec in build_definitions(real.config, NOC2021).resolve_all_asset_specs()}
    materialized = [
        event for event in real.result.get_asset_materialization_events() if event.asset_key.path[0] == "gold"
    ]
    assert len(materialized) == 33
    for event in materialized:
        described = {
            column.name: column.description
            for column in specs[event.asset_key].metadata["dagster/column_schema"].schema.columns
        }
        for column in event.materialization.metadata["dagster/column_schema"].schema.columns:
            english, french = described[column.name].split("\n\n")
            assert english.strip() and french.strip(), (event.asset_key, column.name)


def test_every_rated_attribute_has_its_guide_definition_and_scale(real: RealRun) -> None:
    """Each (category, attribute) of the six long OaSIS tables is a dim_oasis_attribute row with the guide's
    definition and scale; the guide publishes no scale for three descriptors, which the check lists."""
    ratings = [spec for spec in real.fed_tables() if spec.gold_transform == "oasis_long"]
    used = pl.concat(
        real.gold(spec.gold_table).select(pl.lit(spec.name.removeprefix("oasis_")).alias("category"), "attribute")
        for spec in ratings
    ).unique()
    joined = used.join(real.gold("dim_oasis_attribute"), on=["category", "attribute"], how="left")
    assert (len(ratings), joined.height, joined["guide_code"].null_count()) == (6, 245, 0)
    assert joined.filter(pl.col("definition_en").str.len_chars().fill_null(0) == 0).height == 0
    assert sorted(joined.filter(pl.col("scale").is_null())["guide_code"]) == ["J01a03", "J02a05", "J02a08"]
    writing = joined.filter((pl.col("category") == "skills") & (pl.col("attribute") == "writing")).row(0, named=True)
    assert (writing["definition_en"], writing["scale"], writing["scale_max"]) == (
        "The capability to communicate in writing by using written words, sentences, paragraphs, symbols, and images "
        "and adapted for the needs of the audience.",
        "proficiency level on a scale of 1-5",
        5,
    )
    check = next(
        e
        for e in real.result.get_asset_check_evaluations()
        if e.asset_key.to_user_string() == "gold/dim_oasis_attribute" and e.check_name == "conformance"
    )
    assert check.passed and check.metadata["guide_entries"].value["no_published_scale"] == [
        "work_context.frequency_of_decision_making (J01a03)",
        "work_context.hazardous_equipment_machinery_tools (J02a05)",
        "work_context.cramped_work_space_awkward_positions (J02a08)",
    ]


def test_every_real_gold_column_is_a_duckdb_comment_in_both_languages(real: RealRun, tmp_path: Path) -> None:
    """`GoldQueryEngine(db_path=...)` leaves the data dictionary in the file, as BI tools read it."""
    database = tmp_path / "jobforge.duckdb"
    with GoldQueryEngine(real.config, db_path=database):
        pass
    with duckdb.connect(str(database), read_only=True) as connection:
        columns = connection.execute(
            "SELECT c.table_name, c.column_name, c.comment FROM duckdb_columns() c JOIN duckdb_views() v "
            "ON v.view_name = c.table_name AND v.schema_name = c.schema_name WHERE NOT v.internal"
        ).fetchall()
        views = connection.execute("SELECT count(comment) FROM duckdb_views() WHERE NOT internal").fetchall()
    assert (len(columns), views) == (379, [(33,)])
    undescribed = [(table, name) for table, name, comment in columns if len((comment or "").split("\n")) != 2]
    assert undescribed == []
