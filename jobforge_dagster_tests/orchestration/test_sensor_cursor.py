"""The sensor's cursor, without Dagster: files requested and not yet loaded, and the run key of an arrival."""

from pathlib import Path

from jobforge_dagster.orchestration.sensor_cursor import (
    SourceCursor,
    already_requested,
    arrival_key,
    noting,
    plan_tick,
)
from jobforge_dagster.sources.scan import SourceFile


def sighting(ctime_ns: int, size: int = 10) -> SourceFile:
    return SourceFile("a.csv", Path("/nowhere/a.csv"), size, 1_000, ctime_ns, inode=7)


def test_a_cursor_saved_before_unsettled_existed_still_loads() -> None:
    """A daemon's stored cursor from the previous version: no `unsettled`, none assumed."""
    cursor = SourceCursor.model_validate_json('{"watermark_ns": 5, "pending": {}, "folders": {}, "at_watermark": {}}')
    assert cursor.watermark_ns == 5 and cursor.unsettled == {}


def test_the_same_bytes_under_the_same_version_are_requested_once() -> None:
    cursor = SourceCursor()
    assert not already_requested(cursor, sighting(1), "a" * 64, "v1")
    assert already_requested(cursor, sighting(2), "a" * 64, "v1")  # a chmod: another change time, same bytes
    assert cursor.unsettled["a.csv"].signature == sighting(2).signature  # the file as seen last
    assert not already_requested(cursor, sighting(3), "b" * 64, "v1")  # other bytes
    assert not already_requested(cursor, sighting(4), "a" * 64, "v1")  # A again after B: a run of its own
    assert not already_requested(cursor, sighting(4), "a" * 64, "v2")  # a new table version


def test_the_run_key_names_the_arrival() -> None:
    assert arrival_key("t", "a" * 64, sighting(123), "v1") == f"t:{'a' * 64}:123:v1"
    assert arrival_key("t", "a" * 64, sighting(123), "v1") != arrival_key("t", "a" * 64, sighting(124), "v1")


def test_noting_lists_only_the_files_asked_about_and_passes_every_file_on() -> None:
    files = [SourceFile(name, Path(name), 1, 1, 1) for name in ("a.csv", "b.csv")]
    listed: dict[str, SourceFile] = {}
    cursor = SourceCursor()
    already_requested(cursor, sighting(1), "a" * 64, "v1")
    assert list(noting(iter(files), cursor.unsettled, listed)) == files
    assert list(listed) == ["a.csv"]


def test_a_file_last_written_before_the_settle_point_is_ready_on_first_sight() -> None:
    old = SourceFile("old.csv", Path("/nowhere/old.csv"), 10, mtime_ns=4_000, ctime_ns=5_000)
    touched = SourceFile("touched.csv", Path("/nowhere/touched.csv"), 10, mtime_ns=4_000, ctime_ns=7_000)
    modified = SourceFile("modified.csv", Path("/nowhere/modified.csv"), 10, mtime_ns=7_000, ctime_ns=5_000)
    ready, cursor = plan_tick(iter([old, touched, modified]), SourceCursor(), settled_ns=6_000)
    assert ready == [old]
    assert set(cursor.pending) == {"touched.csv", "modified.csv"}
    ready, cursor = plan_tick(iter([old, touched, modified]), cursor, settled_ns=6_000)
    assert ready == [old, modified, touched]  # unchanged over two ticks: the clock may disagree with the file's
