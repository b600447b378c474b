"""Every Dagster name JobForge uses: asset and check keys, op and pool names, jobs, run tags, metadata keys."""

from dagster import AssetCheckKey, AssetKey

from jobforge_dagster.layers import LAYERS, Layer
from jobforge_dagster.quality.rules import check_names
from jobforge_dagster.registry.spec import TableSpec

#: The jobs: every table with a source file; one loaded table per run; one file arrived after loading per run.
MAIN_JOB = "medallion_pipeline"
REFRESH_JOB = "table_refresh"
NEW_FILES_JOB = "new_file_refresh"
#: Rebuilds the layers it selects even when they are current (the force tag, preset).
REBUILD_JOB = "rebuild"
#: Run tag that rebuilds current layers (`true`); op tag that orders steps within a run.
FORCE_TAG = "jobforge/force"
PRIORITY_TAG = "dagster/priority"
#: Metadata key of a step's report on a table it found current.
STATUS_KEY = "jobforge/status"
#: The registry file and the source folder as assets, and their checks (what loaded, what a run finds).
REGISTRY_KEY = AssetKey(["jobforge", "registry"])
SOURCE_FOLDER_KEY = AssetKey(["jobforge", "source_folder"])
REGISTRY_CHECK = "entries_valid"
FILES_CHECK = "files_found"


def medallion_op(table: str) -> str:
    """The op (step) that builds one table's four layers (the `new_files` family's, for its partitions)."""
    return f"{table}_medallion"


def table_pool(table: str) -> str:
    """The pool that keeps one step per table at a time."""
    return f"table_{table}"


def step_config(table: str, config: dict[str, object]) -> dict[str, object]:
    """Run config that hands `config` to one table's step."""
    return {"ops": {medallion_op(table): {"config": config}}}


def layer_key(layer: Layer, table: str) -> AssetKey:
    return AssetKey([layer.value, table])


def source_key(spec: TableSpec) -> AssetKey:
    """The observable source asset of a table: its file in source/, versioned by sha256."""
    return AssetKey(["source", spec.name])


def table_keys(spec: TableSpec) -> dict[Layer, AssetKey]:
    """The four layer assets of a table (the gold one under the table's gold name)."""
    return {layer: layer_key(layer, spec.layer_table(layer)) for layer in LAYERS}


def output_name(key: AssetKey) -> str:
    return key.to_python_identifier()


def gold_check_keys(spec: TableSpec) -> list[AssetCheckKey]:
    gold = layer_key(Layer.GOLD, spec.gold_table)
    return [AssetCheckKey(gold, name) for name in check_names(spec)]


def layer_and_table(key: AssetKey) -> tuple[Layer, str]:
    """The inverse of `layer_key`; a clear error for a key of another shape."""
    path = key.path
    if len(path) != 2 or path[0] not in {layer.value for layer in LAYERS}:
        raise ValueError(f"asset key {path} is not [layer, table] with a layer in {[m.value for m in LAYERS]}")
    return Layer(path[0]), path[1]
