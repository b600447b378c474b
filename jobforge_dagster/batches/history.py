"""Batch history: each batch of a staged, bronze or silver table kept beside its current file."""

import re
from pathlib import Path
from typing import TYPE_CHECKING

from jobforge_dagster.layers import Layer
from jobforge_dagster.storage.atomic import link_atomic
from jobforge_dagster.storage.data_root import DataRoot

if TYPE_CHECKING:
    pass


def kept_batch(root: DataRoot, layer: Layer, table: str, batch_id: str) -> Path:
    """The kept file of one batch of a staged, bronze or silver table; a clear error listing the kept ones."""
    folder = root.batches_dir(layer, table)
    path = folder / f"batch={batch_id}.parquet"
    well_formed = re.fullmatch(rf"{re.escape(table)}-[0-9a-f]{{12}}", batch_id) is not None
    if well_formed and path.exists():
        return path
    kept = sorted(p.stem.removeprefix("batch=") for p in folder.glob("batch=*.parquet"))
    if not well_formed:
        raise FileNotFoundError(f"{batch_id!r} is not a batch id of {table} ({table}-<12 hex digits>); kept: {kept}")
    raise FileNotFoundError(f"no kept {layer.value} batch {batch_id!r} for {table}; kept: {kept}")


def keep_batch(root: DataRoot, layer: Layer, table: str, batch_id: str, retention: int | None) -> Path:
    """Keep the file just written as `<layer>/<table>/batch=<id>.parquet` (a hard link: no copy; on object
    storage a server-side copy) and drop the oldest batch files beyond `retention` (None: keep all)."""
    kept = root.batch_path(layer, table, batch_id)
    link_atomic(root.table_path(layer, table), kept)
    if retention:
        history = sorted(kept.parent.glob("batch=*.parquet"), key=lambda path: path.stat().st_mtime_ns)
        for old in history[: max(len(history) - retention, 0)]:
            if old != kept:
                old.unlink(missing_ok=True)
    return kept
