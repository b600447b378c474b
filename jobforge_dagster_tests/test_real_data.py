"""All 32 real NOC 2021 / OaSIS / COPS / job architecture files, source to gold, every value unchanged."""

import csv
import hashlib
import io
from pathlib import Path

import polars as pl
import pytest

from jobforge_dagster.catalog import CatalogManager
from jobforge_dagster.config import JobForgeConfig
from jobforge_dagster.layers import PROVENANCE_COLUMNS, SOURCE_ROW, Layer
from jobforge_dagster.registry import SourceRegistry, list_source_files
from jobforge_dagster_tests.conftest import require_real_data, run_job


def read_csv_independently(path: Path) -> tuple[list[str], list[list[str]]]:
    """The file as Python's csv module sees it: header and data records, as strings."""
    text = path.read_bytes().decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(text, newline="")))
    return records[0], records[1:]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[JobForgeConfig, Path, dict[str, str]]:
    real = require_real_data()
    sums_before = {name: sha256(real / name) for name in list_source_files(real)}
    config = JobForgeConfig(data_root=str(tmp_path_factory.mktemp("real") / "data"), source_root=str(real))
    result = run_job(config)
    assert result.success
    return config, real, sums_before


def test_every_real_file_reaches_gold(real_run) -> None:
    config, real, _ = real_run
    files = list_source_files(real)
    assert len(files) == 32
    registry = SourceRegistry.load()
    tables = registry.with_unregistered(real)
    fed = {spec.name for spec in tables if any(spec.matches(name) for name in files)}
    assert len(fed) == 32
    for table in fed:
        assert config.table_path(Layer.GOLD, table).exists(), table


def test_gold_reconciles_with_source_and_quarantine(real_run) -> None:
    config, real, _ = real_run
    catalog = CatalogManager(config)
    for spec in SourceRegistry.load().with_unregistered(real):
        gold_path = config.table_path(Layer.GOLD, spec.name)
        if not gold_path.exists():
            continue
        gold = pl.read_parquet(gold_path)
        source = real / gold["_source_file"][0].removeprefix("source/")
        _, records = read_csv_independently(source)
        quarantined = 0
        batch_id = gold["_batch_id"][0]
        quarantine = config.quarantine_path(spec.name, batch_id)
        if quarantine.exists():
            quarantined = pl.read_parquet(quarantine).height
        assert gold.height + quarantined == len(records), spec.name
        silver_logs = [log for log in catalog.get_lineage_logs(batch_id=batch_id) if log.target_layer == "silver"]
        assert silver_logs[-1].quarantined_rows == quarantined


def test_staged_keeps_every_value_exactly(real_run) -> None:
    config, real, _ = real_run
    for spec in SourceRegistry.load().with_unregistered(real):
        staged_path = config.table_path(Layer.STAGED, spec.name)
        if not staged_path.exists():
            continue
        staged = pl.read_parquet(staged_path)
        source = real / staged["_source_file"][0].removeprefix("source/")
        header, records = read_csv_independently(source)
        data = staged.drop(PROVENANCE_COLUMNS)
        assert data.columns == header, spec.name
        expected = pl.DataFrame(
            [[cell if cell != "" else None for cell in record] for record in records],
            schema=[(f"c{i}", pl.String) for i in range(len(header))],
            orient="row",
        )
        actual = data.rename(dict(zip(data.columns, expected.columns, strict=True)))
        # polars reads an unquoted empty field as null, a quoted one as ""; both are "no value"
        actual = actual.with_columns(pl.all().replace("", None))
        assert actual.equals(expected), spec.name
        assert staged[SOURCE_ROW].to_list() == list(range(1, len(records) + 1))


def test_codes_keep_exact_strings_in_gold(real_run) -> None:
    config, _, _ = real_run
    frames = {path.stem: pl.read_parquet(path) for path in config.layer_dir(Layer.GOLD).glob("*.parquet")}
    structure = next(frame for frame in frames.values() if frame["_source_file"][0].endswith("noc_structure_en.csv"))
    code_column = next(column for column in structure.columns if "code" in column)
    assert "00010" in structure[code_column].to_list()
    jobs = next(frame for frame in frames.values() if frame["_source_file"][0].endswith("job_architecture.csv"))
    noc_2016 = next(column for column in jobs.columns if "2016" in column and "uid" in column)
    assert "0012" in jobs[noc_2016].to_list()
    skills = next(frame for frame in frames.values() if frame["_source_file"][0].endswith("skills_oasis_2023_v1.0.csv"))
    assert skills[skills.columns[0]][0] == "00010.00"


def test_source_files_unchanged(real_run) -> None:
    _, real, before = real_run
    published = dict(
        reversed(line.split(maxsplit=1)) for line in (real / "SHA256SUMS").read_text().splitlines() if line.strip()
    )
    for name, digest in before.items():
        assert sha256(real / name) == digest
        assert published[name.strip()] == digest if name in published else True
