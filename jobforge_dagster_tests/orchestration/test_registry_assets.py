"""A registry mistake is refused alone and said plainly: in the registry asset's description and check, in the
refused table's own assets and step, in `dagster job execute`'s output and in the sensor's skip reason; every
other table loads. A run that finds no source file says where it looked."""

import shutil
from pathlib import Path

import dagster as dg
import polars as pl

from jobforge_dagster.layers import Layer
from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.registry.file import REGISTRY_FILE, SourceRegistry
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.conftest import SAMPLE_SOURCES, run_job
from jobforge_dagster_tests.dagster_cli import DagsterCli
from jobforge_dagster_tests.orchestration.test_sensors import Sensor

ENTRY = '  - name: noc_unit_groups\n    pattern: "noc_unit_groups*.csv"\n'
TYPO = '    seperator: ","\n'


def registry_with_typo(tmp_path: Path) -> tuple[Path, str]:
    """The bundled registry with `seperator` in noc_unit_groups' entry; and the refusal as it is said."""
    text = REGISTRY_FILE.read_text(encoding="utf-8")
    assert text.count(ENTRY) == 1
    path = tmp_path / "sources.yaml"
    path.write_text(text.replace(ENTRY, ENTRY + TYPO), encoding="utf-8")
    line = text[: text.index(ENTRY) + len(ENTRY)].count("\n") + 1
    said = f"sources.yaml, line {line}, table 'noc_unit_groups', field 'seperator': not a registry field; "
    return path, said + "did you mean 'separator'?"


def test_a_registry_typo_leaves_the_other_tables_loadable_and_materializable(config: DataRoot, tmp_path: Path) -> None:
    path, said = registry_with_typo(tmp_path)
    registry = SourceRegistry.load(path)
    defs = build_definitions(config, registry)
    node = defs.resolve_asset_graph().get(dg.AssetKey(["jobforge", "registry"]))
    assert node.description == f"sources.yaml: 1 entry refused, 0 tables loaded.\n\n- {said}"
    staged = defs.resolve_asset_graph().get(dg.AssetKey(["staged", "noc_unit_groups"]))
    assert staged.description.startswith(f"REFUSED registry entry, nothing is loaded: {said}")
    result = run_job(config, registry, raise_on_error=False)
    assert not result.success
    failures = {
        event.step_key: event.step_failure_data.user_failure_data.description
        for event in result.get_step_failure_events()
    }
    refusal = f"noc_unit_groups: its registry entry is refused, nothing was loaded: {said}"
    assert failures == {"noc_unit_groups_medallion": refusal}
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["entries_valid"].passed and said in checks["entries_valid"].description
    assert checks["files_found"].passed
    gold = pl.read_parquet(config.table_path(Layer.GOLD, "oasis_skills_sample"))  # the other table is loaded
    assert gold.height > 0
    assert not config.table_path(Layer.STAGED, "noc_unit_groups").exists()
    assert not config.table_path(Layer.STAGED, "noc_unit_groups_sample").exists()  # not loaded with defaults


def test_the_sensor_requests_the_refused_tables_file_and_names_the_refusal_when_idle(
    empty_root: DataRoot, tmp_path: Path
) -> None:
    path, said = registry_with_typo(tmp_path)
    sensor = Sensor(empty_root, SourceRegistry.load(path))
    assert sensor.ticks(2) == []
    assert sensor.skip_reason == f"registry entry refused: {said}"
    shutil.copy(SAMPLE_SOURCES / "noc_unit_groups_sample.csv", empty_root.source_dir())
    requests = sensor.ticks(2)  # its run fails, saying why (the stand-in's step)
    assert [request.tags["jobforge/table"] for request in requests] == ["noc_unit_groups"]
    assert sensor.ticks(1) == [] and sensor.skip_reason == f"registry entry refused: {said}"


def test_dagster_job_execute_says_the_refusal(dagster_cli: DagsterCli, tmp_path: Path) -> None:
    path, said = registry_with_typo(tmp_path)
    shutil.copytree(SAMPLE_SOURCES, dagster_cli.data_root / "source")
    definitions = tmp_path / "defs.py"
    definitions.write_text(
        "from pathlib import Path\n"
        "from jobforge_dagster.orchestration.assembly import build_definitions\n"
        "from jobforge_dagster.registry.file import SourceRegistry\n"
        f"defs = build_definitions(registry=SourceRegistry.load(Path({str(path)!r})))\n"
    )
    done = dagster_cli.run("job", "execute", "-f", str(definitions), "-j", "medallion_pipeline")
    output = done.stdout + done.stderr
    assert done.returncode != 0 and "RUN_FAILURE" in output
    assert f"registry entry refused: {said}" in output
    assert f"noc_unit_groups: its registry entry is refused, nothing was loaded: {said}" in output
    assert (dagster_cli.data_root / "gold" / "oasis_skills_sample.parquet").exists()


def test_a_run_from_another_folder_fails_naming_where_it_looked_and_creates_nothing(tmp_path: Path) -> None:
    cli = DagsterCli.fresh(tmp_path / "home", tmp_path / "unused", JOBFORGE_DATA_ROOT="")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = cli.run("job", "execute", "-m", "jobforge_dagster", "-j", "medallion_pipeline", cwd=elsewhere)
    output = done.stdout + done.stderr
    assert done.returncode != 0 and "RUN_FAILURE" in output and "RUN_SUCCESS" not in output
    assert (
        f"the data root does not exist and no table has a source file: data root {elsewhere}/data (does not exist), "
        f"source folder {elsewhere}/data/source (does not exist); JOBFORGE_DATA_ROOT is not set (./data in "
        f"{elsewhere}), JOBFORGE_SOURCE_ROOT is not set (<data root>/source)"
    ) in output
    assert list(elsewhere.iterdir()) == []


def test_a_partial_miss_warns_and_the_run_goes_on(config: DataRoot) -> None:
    defs = build_definitions(config)
    (config.source_dir() / "oasis_skills_sample.csv").unlink()  # gone between loading and the run
    result = defs.resolve_job_def("medallion_pipeline").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert result.success
    found = next(e for e in result.get_asset_check_evaluations() if e.check_name == "files_found")
    assert (found.passed, found.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert found.description.startswith("1 of 2 tables have no source file: oasis_skills_sample (oasis_skills")
    assert config.table_path(Layer.GOLD, "noc_unit_groups").exists()


def test_a_run_of_one_table_whose_file_is_gone_fails_naming_where_it_looked(config: DataRoot) -> None:
    defs = build_definitions(config)
    (config.source_dir() / "oasis_skills_sample.csv").unlink()
    keys = [dg.AssetKey([layer.value, "oasis_skills_sample"]) for layer in Layer]
    result = defs.resolve_job_def("table_refresh").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), asset_selection=keys, raise_on_error=False
    )
    assert not result.success
    description = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert description == (
        f"nothing to load: oasis_skills_sample: no source file matches 'oasis_skills_sample.csv'; {config.looked_in()}"
    )
    assert f"source folder {config.source_dir()};" in description


def test_a_registry_typo_fixed_and_reloaded_gets_the_file_requested_again_untouched(
    empty_root: DataRoot, tmp_path: Path
) -> None:
    """Issue 18's scenario: the typo refuses the entry, the file's run fails saying why; once the typo is fixed
    and the code location reloaded, the sensor requests the same bytes again (the run key names the table version,
    which the fix changed), without the file being touched."""
    path, said = registry_with_typo(tmp_path)
    shutil.copy(SAMPLE_SOURCES / "noc_unit_groups_sample.csv", empty_root.source_dir())
    source = empty_root.source_dir() / "noc_unit_groups_sample.csv"
    before = source.stat()
    sensor = Sensor(empty_root, SourceRegistry.load(path))
    (request,) = sensor.ticks(2)
    failed = sensor.run(request)
    assert not failed.success
    description = failed.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert description == f"noc_unit_groups: its registry entry is refused, nothing was loaded: {said}"
    assert sensor.ticks(3) == [] and sensor.skip_reason == f"registry entry refused: {said}"
    sensor.registry = SourceRegistry.load()  # the typo fixed, the code location reloaded
    (again,) = sensor.tick()
    assert again.run_key != request.run_key
    assert again.tags["jobforge/source_sha256"] == request.tags["jobforge/source_sha256"]
    after = source.stat()
    assert (after.st_mtime_ns, after.st_ctime_ns, after.st_ino) == (
        before.st_mtime_ns,
        before.st_ctime_ns,
        before.st_ino,
    )
    assert sensor.run(again).success
    assert pl.read_parquet(empty_root.table_path(Layer.GOLD, "noc_unit_groups")).height == 12
    assert sensor.ticks(2) == []
