"""`jobforge add-source --preview` and `jobforge check` on the 32 real files: the dialect and header the csv module
reads, keys that are truly unique, codes with leading zeros kept as text, and a preview whose layers are exactly
those the pipeline built (row counts, first rows, quarantine), with nothing written under the data root."""

import re
from pathlib import Path

import polars as pl
import pytest
import yaml

from jobforge_dagster.cli import main
from jobforge_dagster.intake.preview import preview_table
from jobforge_dagster.layers import INGESTED_AT, Layer
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.names import unique_snake_case
from jobforge_dagster_tests.end_to_end.test_real_data import RealRun, read_csv, real  # noqa: F401 (fixture)

LEADING_ZERO = re.compile(r"^0[0-9]")


def files_under(folder: Path) -> dict[str, int]:
    return {str(path.relative_to(folder)): path.stat().st_mtime_ns for path in folder.rglob("*")}


@pytest.fixture
def environment(real: RealRun, monkeypatch: pytest.MonkeyPatch) -> RealRun:
    monkeypatch.setenv("JOBFORGE_DATA_ROOT", real.config.data_root)
    monkeypatch.setenv("JOBFORGE_SOURCE_ROOT", str(real.source))
    monkeypatch.setenv("JOBFORGE_REGISTRY", "noc2021")
    return real


def proposed(output: str) -> dict:
    entry = output.split("Proposed registry entry (jobforge add-source --write adds it):\n", 1)[1].split("\n\n")[0]
    (item,) = yaml.safe_load(entry)
    return item


def unique_and_complete(path: Path, key: list[str], names: list[str]) -> bool:
    """Whether the key's cells, trimmed as silver trims them, are never empty and unique, read by the csv module."""
    header, records = read_csv(path)
    positions = [names.index(column) for column in key]
    values = [tuple(record[position].strip() for position in positions) for record in records]
    return all(all(value) for value in values) and len(set(values)) == len(values)


def test_add_source_on_each_real_file(environment: RealRun, capsys: pytest.CaptureFixture) -> None:
    real, before = environment, files_under(Path(environment.config.data_root))
    names = sorted(path.name for path in real.source.glob("*.csv"))
    assert len(names) == 32
    for name in names:
        path = real.source / name
        assert main(["add-source", str(path), "--preview"]) == 0, name
        output = capsys.readouterr().out
        header, _ = read_csv(path)
        bom = ", with a byte order mark" if path.read_bytes().startswith(b"\xef\xbb\xbf") else ""
        assert f"  encoding       utf-8{bom}\n" in output, name
        assert '  separator      "," (comma), ' in output, name
        assert f"  header         {len(header)} columns: " in output, name
        entry = proposed(output)
        bronze = list(read_bronze_names(real, name))
        if "key_columns" in entry:
            assert unique_and_complete(path, entry["key_columns"], bronze), name
        zeros = {bronze[i] for i, column in enumerate(zip(*read_csv(path)[1], strict=True)) if leading(column)}
        assert not zeros & set(entry.get("types", {})), name
    assert files_under(Path(real.config.data_root)) == before, "add-source wrote under the data root"


def leading(values: tuple[str, ...]) -> bool:
    return any(LEADING_ZERO.match(value.strip()) for value in values)


def read_bronze_names(real: RealRun, name: str) -> list[str]:
    """The file's header as bronze names it, before renames."""
    header, _ = read_csv(real.source / name)
    return unique_snake_case(header)


def test_the_preview_is_the_pipelines_layers(environment: RealRun) -> None:
    real, registry = environment, SourceRegistry.load("noc2021")
    for path in sorted(real.source.glob("*.csv")):
        spec = registry.spec_for(path.name)
        preview = preview_table(path, spec, f"source/{path.name}", real.config)
        assert preview.error is None and preview.notes == [], path.name
        for layer in Layer:
            built = pl.read_parquet(real.config.table_path(layer, spec.layer_table(layer)))
            assert preview.rows[layer] == built.height, (path.name, layer)
            shown = preview.layers[layer]
            assert shown.drop(INGESTED_AT).equals(built.head(shown.height).drop(INGESTED_AT)), (path.name, layer)
        quarantine = real.config.quarantine_path(spec.name, built["_batch_id"][0])
        assert preview.quarantined_rows == (pl.read_parquet(quarantine).height if quarantine.exists() else 0)


def test_check_on_the_real_files(environment: RealRun, capsys: pytest.CaptureFixture) -> None:
    assert main(["check"]) == 0
    output = capsys.readouterr().out
    assert output.startswith("ok: 32 registry entries loaded from ")
    assert "noc2021.yaml; 32 tables checked against their file in " in output and "; 0 without a file" in output
