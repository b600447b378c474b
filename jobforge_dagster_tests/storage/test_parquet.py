"""The parquet write every layer goes through: a failed query leaves no file behind."""

import time
from pathlib import Path

import polars as pl
import pytest

from jobforge_dagster.storage.parquet import sink_parquet_atomic


def test_a_query_that_fails_while_streaming_leaves_no_temporary(tmp_path: Path) -> None:
    """polars raises before its writer has created a file it was given by name; repeated, that race shows."""
    final = tmp_path / "codes.parquet"
    final.write_bytes(b"previous")
    failing = pl.LazyFrame({"code": ["x"]}).select(pl.col("code").cast(pl.Int64, strict=True))
    for _ in range(300):
        with pytest.raises(pl.exceptions.InvalidOperationError):
            sink_parquet_atomic(failing, final, {})
    time.sleep(0.5)  # a writer that outlived its error would have created its file by now
    assert [path.name for path in tmp_path.iterdir()] == ["codes.parquet"]
    assert final.read_bytes() == b"previous"
