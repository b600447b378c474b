"""The parquet write every layer goes through (a failed query leaves no file behind), and footer reads."""

import io
import os
import time
from pathlib import Path

import polars as pl
import pytest

from jobforge_dagster.storage import storage_of
from jobforge_dagster.storage.parquet import read_key_value_metadata, sink_parquet_atomic


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


def test_key_value_metadata_comes_from_the_footer_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "codes.parquet"
    rows = 200_000
    frame = pl.DataFrame({"code": [f"{index:05d}" for index in range(rows)], "n": range(rows)})
    frame.write_parquet(path, metadata={"jobforge.batch_id": "codes-0123456789ab", "note": "Métier"})
    read: list[int] = []
    local = storage_of(path)
    opened = local.open_regular

    def counting(target: Path) -> io.BufferedReader:
        handle = opened(target)
        original = handle.read
        handle.read = lambda size=-1: read.append(len(chunk := original(size))) or chunk  # type: ignore[method-assign]
        return handle

    monkeypatch.setattr(local, "open_regular", counting)
    found = read_key_value_metadata(path)
    assert found["jobforge.batch_id"] == "codes-0123456789ab"
    assert found == pl.read_parquet_metadata(str(path))  # polars reading the whole file by its name agrees
    footer_length = int.from_bytes(path.read_bytes()[-8:-4], "little")
    assert sum(read) == footer_length + 8 < path.stat().st_size // 10


def test_key_value_metadata_of_what_is_not_parquet_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "codes.parquet"
    text.write_text("code\n00010\n")
    with pytest.raises(ValueError, match="codes.parquet is not a parquet file"):
        read_key_value_metadata(text)
    fifo = tmp_path / "pipe.parquet"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        read_key_value_metadata(fifo)
