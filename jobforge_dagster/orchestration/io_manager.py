"""The IO manager every layer asset writes through: `<data root>/<layer>/<table>.parquet`, catalogued.

It takes a `LayerOutput` (the frame and the transition's facts, passed on purpose as the output's value) and
reads no definition metadata. The table is the asset key's (`[layer, table]`), or the partition key of a
partitioned asset (the `new_files` family). Inputs load lazily as `pl.LazyFrame` (e.g. `defs.load_asset_value`).
"""

import polars as pl
from dagster import ConfigurableIOManager, InputContext, MetadataValue, OutputContext, ResourceDependency

from jobforge_dagster.build.output import LayerOutput, PublishedLayer, write_layer
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import Layer
from jobforge_dagster.orchestration.keys import layer_and_table
from jobforge_dagster.orchestration.metadata import table_metadata_for_dagster, transition_metadata_for_dagster
from jobforge_dagster.orchestration.resources import DataRootResource, LineageResource
from jobforge_dagster.registry.spec import safe_table_name
from jobforge_dagster.storage.parquet import scan_parquet


class LayerIOManager(ConfigurableIOManager):
    """Writes each layer atomically with `_layer` stamped, keeps its batch, and records catalog and lineage."""

    data_root: ResourceDependency[DataRootResource]
    lineage: ResourceDependency[LineageResource]

    def handle_output(self, context: OutputContext, obj: LayerOutput | PublishedLayer) -> None:
        if isinstance(obj, PublishedLayer):  # current: the file stays as it is, the asset's metadata says so
            return
        if not isinstance(obj, LayerOutput):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected a LayerOutput, got {type(obj).__name__}")
        layer, table = layer_table(context)
        root = self.data_root.get()
        written = write_layer(CatalogManager(root, self.lineage.exporter), layer, table, obj, context.run_id)
        metadata = table_metadata_for_dagster(written.table, uri=written.path.as_uri())
        metadata |= transition_metadata_for_dagster(obj.facts)
        metadata |= {"rows_out": MetadataValue.int(written.table.row_count), "transition_id": written.log.transition_id}
        if written.kept is not None:
            metadata["batch_file"] = MetadataValue.path(root.relative(written.kept))
        context.add_output_metadata(metadata)

    def load_input(self, context: InputContext) -> pl.LazyFrame:
        layer, table = layer_table(context)
        root = self.data_root.get()
        path = root.table_path(layer, table)
        if not path.exists():
            raise FileNotFoundError(f"{root.relative(path)} does not exist: materialize it first")
        return scan_parquet(path)


def layer_table(context: OutputContext | InputContext) -> tuple[Layer, str]:
    """The layer and table an output or input is: the partition key names the table of a partitioned asset."""
    layer, table = layer_and_table(context.asset_key)
    return (layer, safe_table_name(context.asset_partition_key)) if context.has_asset_partitions else (layer, table)
