"""Each table's source file as an observable source asset whose data version is the file's sha256.

Dagster compares it with the version the staged layer was built from, so the asset graph shows a table as
unsynced when its file changes, and declarative automation can materialize only those tables.
"""

import warnings

from dagster import (
    AutomationCondition,
    BetaWarning,
    DataVersion,
    ObserveResult,
    SourceAsset,
    observable_source_asset,
)

from jobforge_dagster.batches.stamps import layer_stamp
from jobforge_dagster.batches.versions import source_sha256
from jobforge_dagster.layers import Layer
from jobforge_dagster.orchestration.keys import source_key
from jobforge_dagster.orchestration.resources import DataRootResource
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.tables import TableFiles
from jobforge_dagster.storage.data_root import DataRoot

#: The data version of a table whose file is absent.
NO_FILE = "no-file"


def observe_source(root: DataRoot, spec: TableSpec) -> ObserveResult:
    """The file's sha256 as a data version; hashed only when it differs from the file staged was built from."""
    staged = layer_stamp(root.table_path(Layer.STAGED, spec.name))
    found = source_sha256(root, TableFiles(spec, root.source_dir()), staged.batch_id if staged else None)
    if found is None:
        return ObserveResult(data_version=DataVersion(NO_FILE), metadata={"pattern": spec.pattern})
    path, sha = found
    metadata = {"file": root.relative(path), "size_bytes": path.stat().st_size, "sha256": sha}
    return ObserveResult(data_version=DataVersion(sha), metadata=metadata)


def source_asset(spec: TableSpec, observe_cron: str | None = None) -> SourceAsset:
    """`source/<table>`: observed from the UI, by the `new_source_files` sensor, or on `observe_cron`."""

    def observe(data_root: DataRootResource) -> ObserveResult:
        return observe_source(data_root.get(), spec)

    with warnings.catch_warnings():  # observable source assets are beta in Dagster 1.13
        warnings.simplefilter("ignore", BetaWarning)
        return observable_source_asset(
            key=source_key(spec),
            group_name=spec.domain,
            description=f"Source file of {spec.name} ({spec.pattern} in source/); its data version is its sha256.",
            automation_condition=AutomationCondition.cron_tick_passed(observe_cron) if observe_cron else None,
        )(observe)
