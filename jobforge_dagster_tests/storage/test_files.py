"""Reading files safely: stale temporaries found with one listing per folder."""

from pathlib import Path

from jobforge_dagster.storage.files import StaleTemporaries


def test_stale_temporaries_of_a_prefix_are_removed_and_nothing_else(tmp_path: Path) -> None:
    names = [".t.parquet.1.tmp", ".t_other.parquet.2.tmp", "t.parquet", ".t.parquet", ".x-t.staged-START.3.tmp"]
    for name in names:
        (tmp_path / name).write_text("")
    temporaries = StaleTemporaries()
    assert temporaries.remove(tmp_path, "t.parquet") == [tmp_path / ".t.parquet.1.tmp"]
    assert temporaries.remove(tmp_path, "-t.", within=True) == [tmp_path / ".x-t.staged-START.3.tmp"]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(names[1:4])
    assert temporaries.remove(tmp_path / "missing", "t") == []


def test_each_folder_is_listed_once_per_owner(tmp_path: Path) -> None:
    """A temporary written after the first listing (a live writer of this run) is left for the next run."""
    temporaries = StaleTemporaries()
    (tmp_path / ".a.json.1.tmp").write_text("")
    assert temporaries.remove(tmp_path, "a.json") == [tmp_path / ".a.json.1.tmp"]
    (tmp_path / ".b.json.2.tmp").write_text("")
    assert temporaries.remove(tmp_path, "b.json") == []
    assert StaleTemporaries().remove(tmp_path, "b.json") == [tmp_path / ".b.json.2.tmp"]
