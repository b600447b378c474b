"""Layer parquet files: the `_layer` stamp and the atomic zstd write every layer (and quarantine) goes through.

Free of Dagster, so the IO manager, the builds and the benchmark's same-work reference share one write.
"""

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from jobforge_dagster.layers import LAYER, PROVENANCE_COLUMNS, Layer
from jobforge_dagster.storage.atomic import atomic_path
from jobforge_dagster.storage.object_store import is_remote


def stamp_layer(frame: pl.LazyFrame, layer: Layer) -> pl.LazyFrame:
    """Set `_layer` and keep the provenance columns last, in their standard order."""
    stamped = frame.with_columns(pl.lit(layer.value, dtype=pl.String).alias(LAYER))
    names = stamped.collect_schema().names()
    data = [name for name in names if name not in PROVENANCE_COLUMNS]
    return stamped.select(*data, *[name for name in PROVENANCE_COLUMNS if name in names])


def sink_parquet(frame: pl.LazyFrame | pl.DataFrame, path: Path, metadata: dict[str, str]) -> pq.FileMetaData:
    """Stream a frame to zstd parquet at `path` (a temporary: the caller renames it) and return its footer."""
    frame.lazy().sink_parquet(path, compression="zstd", statistics=True, metadata=metadata or None)
    return pq.read_metadata(path)


def sink_parquet_atomic(
    frame: pl.LazyFrame | pl.DataFrame,
    path: Path | Any,
    metadata: dict[str, str],
    keep_empty: bool = True,
    before_commit: Callable[[int], None] | None = None,
) -> pq.FileMetaData | None:
    """Stream a frame to zstd parquet through a hidden temporary file renamed into place; return its footer.

    With `keep_empty=False` a frame with no rows writes nothing (and an existing file at `path` is removed).
    `before_commit(rows)` may raise to abandon the write, leaving any previous file in place.
    """
    with atomic_path(path) as temporary:
        footer = sink_parquet(frame, temporary, metadata)
        if before_commit is not None:
            before_commit(footer.num_rows)
        if footer.num_rows or keep_empty:
            return footer
        temporary.unlink()
    if is_remote(path):  # object storage has no folders to remove
        path.unlink(missing_ok=True)
        return None
    Path(path).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        Path(path).parent.rmdir()
    return None
