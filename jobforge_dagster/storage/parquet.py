"""Layer parquet files: the `_layer` stamp, the atomic zstd write every layer (and quarantine) goes through, and
reading a file or its footer wherever it lives."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from jobforge_dagster.layers import LAYER, PROVENANCE_COLUMNS, Layer
from jobforge_dagster.storage import storage_of
from jobforge_dagster.storage.atomic import atomic_path
from jobforge_dagster.storage.paths import DataPath

if TYPE_CHECKING:  # pyarrow (and numpy with it) loads with the first footer read in full
    import pyarrow.parquet as pq

#: The four bytes that open and close a parquet file.
PARQUET_MAGIC = b"PAR1"


def stamp_layer(frame: pl.LazyFrame, layer: Layer) -> pl.LazyFrame:
    """Set `_layer` and keep the provenance columns last, in their standard order."""
    stamped = frame.with_columns(pl.lit(layer.value, dtype=pl.String).alias(LAYER))
    names = stamped.collect_schema().names()
    data = [name for name in names if name not in PROVENANCE_COLUMNS]
    return stamped.select(*data, *[name for name in PROVENANCE_COLUMNS if name in names])


def sink_parquet(frame: pl.LazyFrame | pl.DataFrame, path: Path, metadata: dict[str, str]) -> "pq.FileMetaData":
    """Stream a frame to zstd parquet at `path` (a temporary: the caller renames it) and return its footer.

    The file is opened here, not by polars: when the query fails, polars raises before its writer has created a
    file it was given by name, which then appears after the caller removed the temporary.
    """
    with open(path, "wb") as handle:
        frame.lazy().sink_parquet(handle, compression="zstd", statistics=True, metadata=metadata or None)
    return read_local_footer(path)


def sink_parquet_atomic(
    frame: pl.LazyFrame | pl.DataFrame,
    path: DataPath,
    metadata: dict[str, str],
    keep_empty: bool = True,
    before_commit: Callable[[int], None] | None = None,
) -> "pq.FileMetaData | None":
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
    storage_of(path).remove(path)
    return None


def scan_parquet(path: DataPath) -> pl.LazyFrame:
    """`pl.scan_parquet` of a layer file where it lives (an object through polars' own object store)."""
    return pl.scan_parquet(str(path), storage_options=storage_of(path).polars_options(path))


def read_local_footer(path: Path) -> "pq.FileMetaData":
    """The parquet footer of a local file this process is writing (row groups, statistics, metadata)."""
    import pyarrow.parquet as pq

    return pq.read_metadata(path)


def read_footer(path: DataPath) -> "pq.FileMetaData":
    """The parquet footer of a file (an object's read by ranged requests); anything but a regular file is an
    OSError, raised without blocking."""
    import pyarrow.parquet as pq

    with storage_of(path).open_regular(path) as handle:
        return pq.read_metadata(handle)


def read_key_value_metadata(path: DataPath) -> dict[str, str]:
    """The key-value metadata of a parquet file, from its footer alone (an object's by two ranged requests);
    anything but a regular file is an OSError, and a file that is not parquet a ValueError.

    The footer reaches polars as a parquet file without data: given an open file, polars reads all of it."""
    with storage_of(path).open_regular(path) as handle:
        handle.seek(-8, os.SEEK_END)
        tail = handle.read(8)
        length = int.from_bytes(tail[:4], "little")
        if tail[4:] != PARQUET_MAGIC or length <= 0:
            raise ValueError(f"{path} is not a parquet file (no footer)")
        handle.seek(-8 - length, os.SEEK_END)
        footer = handle.read(length)
    try:
        return pl.read_parquet_metadata(PARQUET_MAGIC + footer + tail)
    except pl.exceptions.PolarsError as error:
        raise ValueError(f"{path}: unreadable parquet footer ({error})") from error
