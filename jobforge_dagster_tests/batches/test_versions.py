"""Change-aware runs: unchanged sources do no work; a source, registry or code change, `force` and backfills do."""

import os
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow.parquet as pq
import pytest
from dagster._core.definitions.observe import observe

from jobforge_dagster.batches import versions
from jobforge_dagster.batches.stamps import layer_stamp
from jobforge_dagster.batches.versions import table_version
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import Layer
from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.orchestration.keys import source_key
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.spec import Reference
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.conftest import SAMPLE_SOURCES, run_job
from jobforge_dagster_tests.trace.test_tracer import REGISTRY as RATINGS_REGISTRY

SAMPLE = "noc_unit_groups"
UNDECLARED = "oasis_skills_sample"


def file_states(root: Path) -> dict[str, tuple[int, int, int]]:
    """(inode, size, mtime) of every file under the data root except the source files and the table locks."""
    return {
        path.relative_to(root).as_posix(): (path.stat().st_ino, path.stat().st_size, path.stat().st_mtime_ns)
        for path in root.rglob("*")
        if path.is_file() and path.relative_to(root).parts[0] not in {"source", ".locks"}
    }


def reported(result: dg.ExecuteInProcessResult, current: bool) -> set[str]:
    """Layer assets a run materialized: rebuilt, or (`current`) reported as published with `jobforge/status`."""
    return {
        event.asset_key.to_user_string()
        for event in result.get_asset_materialization_events()
        if (event.materialization.metadata.get("jobforge/status") == dg.MetadataValue.text("current")) == current
    }


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    """Layer assets a run rebuilt."""
    return reported(result, current=False)


def current_tables(result: dg.ExecuteInProcessResult) -> set[str]:
    """Layer assets a run reported current: materialized as published, nothing rewritten."""
    return reported(result, current=True)


def test_a_second_run_over_the_same_bytes_rewrites_nothing(config: DataRoot, run) -> None:
    assert run(config).success
    before = file_states(config.root)
    assert any(name.startswith("gold/") for name in before)

    again = run(config)
    assert again.success
    assert materialized(again) == set()
    assert f"gold/{SAMPLE}" in current_tables(again) and f"staged/{UNDECLARED}" in current_tables(again)
    assert file_states(config.root) == before  # no file written, replaced or added: catalog, batches, layers


def test_a_changed_source_rebuilds_only_its_table(config: DataRoot, run) -> None:
    assert run(config).success
    source = config.source_dir() / "oasis_skills_sample.csv"
    text = source.read_bytes()
    ending = b"\r\n" if text.endswith(b"\r\n") else b"\n"
    source.write_bytes(text + b"99999.00,Someone new,1,2,3,4,5" + ending)

    again = run(config)
    assert again.success
    assert materialized(again) == {f"{layer.value}/{UNDECLARED}" for layer in Layer}
    assert f"gold/{SAMPLE}" in current_tables(again)


def test_a_source_touched_but_not_changed_is_current(config: DataRoot, run) -> None:
    assert run(config).success
    source = config.source_dir() / "noc_unit_groups_sample.csv"
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 10**9))
    assert materialized(run(config)) == set()


def tamper(path: Path, column: str) -> None:
    """Rewrite a layer file in place with one cell of `column` changed, its footer stamp copied back and its
    modification time put back."""
    status = path.stat()
    stamp = {key: value for key, value in pq.read_metadata(path).metadata.items() if key.startswith(b"jobforge.")}
    table = pq.read_table(path)
    frame = pl.from_arrow(table).with_columns(pl.col(column).cast(pl.String).str.replace(r"^.", "X"))
    pq.write_table(frame.to_arrow().cast(table.schema).replace_schema_metadata(stamp), path)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))


@pytest.mark.parametrize("layer", list(Layer))
def test_a_layer_file_edited_by_hand_is_rebuilt(config: DataRoot, run, layer: Layer) -> None:
    """Before: an edited layer file whose footer stamp was copied back stayed current for good."""
    assert run(config).success
    path = config.table_path(layer, SAMPLE)
    written = pl.read_parquet(path)
    tamper(path, "title_en" if layer is not Layer.STAGED else "Class title ")
    assert not pl.read_parquet(path).equals(written) and layer_stamp(path) is not None
    again = run(config)
    assert again.success
    assert materialized(again) == {f"{each.value}/{SAMPLE}" for each in Layer}
    assert pl.read_parquet(path).drop("_ingested_at").equals(written.drop("_ingested_at"))
    assert materialized(run(config)) == set()


def test_an_edited_dim_oasis_attribute_is_rebuilt(tmp_path: Path) -> None:
    root = DataRoot(data_root=str(tmp_path / "data"))
    shutil.copytree(SAMPLE_SOURCES, root.source_dir())
    assert run_job(root, RATINGS_REGISTRY).success
    tamper(root.table_path(Layer.GOLD, "dim_oasis_attribute"), "attribute_name")
    assert "gold/dim_oasis_attribute" in materialized(run_job(root, RATINGS_REGISTRY))


def test_a_deleted_catalog_entry_is_written_again(config: DataRoot, run) -> None:
    """Before: with its parquet kept, a table stayed current and its deleted entries were never written again."""
    assert run(config).success
    catalog = CatalogManager(config)
    deleted = [catalog.table_file(layer, SAMPLE) for layer in ("silver", "gold")]
    for path in deleted:
        path.unlink()
    again = run(config)
    assert again.success
    assert [path.exists() for path in deleted] == [True, True]
    assert f"gold/{SAMPLE}" in materialized(again) and f"gold/{UNDECLARED}" in current_tables(again)
    assert materialized(run(config)) == set()


def test_a_copied_data_root_hashes_its_sources_once(
    config: DataRoot, run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: in a copied (or moved) data root every no-change run hashed every source again, for good."""
    assert run(config).success
    copy = DataRoot(data_root=str(tmp_path / "copied"))
    shutil.copytree(config.root, copy.root)  # other inodes, times and paths; the same bytes
    hashed: list[Path] = []
    real = versions.hash_of
    monkeypatch.setattr(versions, "hash_of", lambda path: hashed.append(path) or real(path))
    assert materialized(run(copy)) == set()
    assert sorted(path.name for path in hashed) == ["noc_unit_groups_sample.csv", "oasis_skills_sample.csv"]
    assert materialized(run(copy)) == set()
    assert len(hashed) == 2  # not again


def test_a_registry_change_rebuilds_the_table(config: DataRoot, run) -> None:
    assert run(config).success
    registry = SourceRegistry.load()
    edited = [
        spec.model_copy(update={"description": spec.description + " (edited)"}) if spec.name == SAMPLE else spec
        for spec in registry.tables
    ]
    again = run(config, registry=registry.model_copy(update={"tables": edited}))
    assert again.success
    assert materialized(again) == {f"{layer.value}/{SAMPLE}" for layer in Layer}
    assert f"gold/{UNDECLARED}" in current_tables(again)


def test_a_code_change_rebuilds_every_table(config: DataRoot, run, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(config).success
    monkeypatch.setattr(versions, "output_code_version", lambda: "another version of the transforms")
    again = run(config)
    assert again.success
    assert {f"gold/{SAMPLE}", f"gold/{UNDECLARED}"} <= materialized(again)
    stamp = layer_stamp(config.table_path(Layer.GOLD, SAMPLE))
    assert stamp is not None and stamp.table_version == table_version(SourceRegistry.load().by_name[SAMPLE])


def test_force_and_backfill_rebuild_current_layers(config: DataRoot, run) -> None:
    assert run(config).success
    assert materialized(run(config, force=True)) >= {f"{layer.value}/{SAMPLE}" for layer in Layer}

    defs = build_definitions(config)
    job = defs.resolve_job_def("medallion_pipeline")
    batch = layer_stamp(config.table_path(Layer.STAGED, SAMPLE))
    assert batch is not None
    config_json = {"ops": {f"{SAMPLE}_medallion": {"config": {"batch_id": batch.batch_id}}}}
    keys = [dg.AssetKey([layer.value, SAMPLE]) for layer in Layer]
    backfill = job.execute_in_process(
        run_config=config_json, instance=dg.DagsterInstance.ephemeral(), asset_selection=keys
    )
    assert materialized(backfill) == {key.to_user_string() for key in keys}


def test_the_run_records_the_source_version_it_read(config: DataRoot, run) -> None:
    result = run(config)
    observations = {
        event.asset_key: event.event_specific_data.asset_observation for event in result.get_asset_observation_events()
    }
    spec = SourceRegistry.load().by_name[SAMPLE]
    stamp = layer_stamp(config.table_path(Layer.STAGED, SAMPLE))
    assert stamp is not None
    assert observations[source_key(spec)].tags["dagster/data_version"] == stamp.source_sha256


def test_source_assets_observe_the_file_sha256(config: DataRoot) -> None:
    defs = build_definitions(config)
    spec = SourceRegistry.load().by_name[SAMPLE]
    instance = dg.DagsterInstance.ephemeral()
    source = next(asset for asset in defs.assets if getattr(asset, "key", None) == source_key(spec))
    result = observe([source], resources=defs.resources, instance=instance)
    assert result.success
    record = instance.get_latest_data_version_record(source_key(spec))
    assert record is not None
    expected = versions.sha256_file(config.source_dir() / "noc_unit_groups_sample.csv")
    assert record.asset_observation.data_version == expected


def with_foreign_key(table: str) -> SourceRegistry:
    """The registry, with the sample's noc_code required to resolve in gold `table`."""
    registry = SourceRegistry.load()
    tables = []
    for spec in registry.tables:
        if spec.name == SAMPLE:
            checks = spec.checks.model_copy(update={"foreign_keys": [Reference(column="noc_code", table=table)]})
            spec = spec.model_copy(update={"checks": checks})
        tables.append(spec)
    return registry.model_copy(update={"tables": tables})


def conformance(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    return next(
        event
        for event in result.get_asset_check_evaluations()
        if event.asset_key == dg.AssetKey(["gold", SAMPLE]) and event.check_name == "conformance"
    )


def test_a_foreign_key_to_a_table_with_no_gold_warns(config: DataRoot, run) -> None:
    result = run(config, registry=with_foreign_key("dim_noc"))
    assert result.success  # a WARN does not block: gold is published
    check = conformance(result)
    assert not check.passed and check.severity is dg.AssetCheckSeverity.WARN
    assert "gold/dim_noc does not exist yet" in check.description
    assert config.table_path(Layer.GOLD, SAMPLE).exists()


def test_checks_alone_run_on_the_published_gold_and_name_the_referenced_batch(config: DataRoot, run) -> None:
    registry = with_foreign_key(SAMPLE)  # the sample's codes resolve in itself: a reference that exists
    assert run(config, registry=registry).success
    before = file_states(config.root)
    defs = build_definitions(config, registry)
    gold = dg.AssetKey(["gold", SAMPLE])
    result = dg.materialize(
        [asset for asset in defs.assets if isinstance(asset, dg.AssetsDefinition)],
        resources=defs.resources,
        selection=dg.AssetSelection.checks_for_assets(gold),
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    assert materialized(result) == set()
    check = conformance(result)
    stamp = layer_stamp(config.table_path(Layer.GOLD, SAMPLE))
    assert check.passed and stamp is not None
    assert check.metadata["foreign_key_noc_code"].value["compared_with_batch"] == stamp.batch_id
    changed = {name for name, state in file_states(config.root).items() if before.get(name) != state}
    assert changed and all(name.startswith("catalog/checks/") or "openlineage" in name for name in changed)


def test_references_are_lineage_edges_not_step_inputs(tmp_path: Path) -> None:
    defs = build_definitions(DataRoot(data_root=str(tmp_path)), SourceRegistry.load("noc2021"))
    dependent = dg.AssetKey(["gold", "cops_employment"])
    assert dg.AssetKey(["gold", "dim_noc"]) in defs.resolve_asset_graph().get(dependent).parent_keys
    structure = defs.resolve_job_def("table_refresh").graph.dependency_structure
    upstream = {
        output.node_name
        for node in ("cops_employment_medallion", "gold__dim_oasis_attribute")
        for outputs in structure.input_to_upstream_outputs_for_node(node).values()
        for output in outputs
    }
    assert upstream == set()  # a failed noc_structure or rating table cannot skip them


def test_a_changed_referenced_gold_asks_for_the_dependent_checks_alone(config: DataRoot) -> None:
    registry = with_foreign_key(UNDECLARED)
    defs = build_definitions(config, registry)
    instance = dg.DagsterInstance.ephemeral()
    job = defs.resolve_job_def("medallion_pipeline")
    job.execute_in_process(instance=instance, raise_on_error=False)  # the check itself may fail: not the point
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert first.total_requested == 0
    referenced = dg.AssetKey(["gold", UNDECLARED])
    forced = {"jobforge/force": "true"}
    job.execute_in_process(instance=instance, asset_selection=[referenced], tags=forced, raise_on_error=False)
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    requested = {result.key for result in second.results if result.true_subset.size}
    assert requested == {dg.AssetCheckKey(dg.AssetKey(["gold", SAMPLE]), "conformance")}


def test_the_asset_graph_shows_a_table_unsynced_when_its_file_or_entry_changes(config: DataRoot) -> None:
    from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
    from dagster._core.loader import LoadingContextForTest

    instance = dg.DagsterInstance.ephemeral()

    def staged_status(defs: dg.Definitions) -> StaleStatus:
        graph = defs.resolve_asset_graph()
        resolver = CachingStaleStatusResolver(instance, lambda: graph, LoadingContextForTest(instance))
        return resolver.get_status(dg.AssetKey(["staged", UNDECLARED]))

    defs = build_definitions(config)
    defs.resolve_job_def("medallion_pipeline").execute_in_process(instance=instance)
    assert staged_status(defs) is StaleStatus.FRESH  # staged recorded the source version the run read

    source = config.source_dir() / "oasis_skills_sample.csv"
    source.write_bytes(source.read_bytes() + b"99999.00,Someone new,1,2,3,4,5\n")
    observed = next(
        asset for asset in defs.assets if getattr(asset, "key", None) == dg.AssetKey(["source", UNDECLARED])
    )
    observe([observed], resources=defs.resources, instance=instance)
    assert staged_status(defs) is StaleStatus.STALE
