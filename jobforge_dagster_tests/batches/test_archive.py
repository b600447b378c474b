"""The raw archive: each batch's exact bytes kept under the data root, content-addressed."""

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from jobforge_dagster.batches.archive import ARCHIVE_ENV, archive_source
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.errors import SourceChangedError
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.files import fingerprint
from jobforge_dagster_tests.conftest import SAMPLE_SOURCES, run_job

SAMPLE = "noc_unit_groups_sample.csv"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("mode", ["link", "copy"])
def test_each_batch_is_archived_and_recorded(tmp_path: Path, monkeypatch, mode: str) -> None:
    monkeypatch.setenv(ARCHIVE_ENV, mode)
    sources = tmp_path / "elsewhere"  # the source folder lies outside the data root
    shutil.copytree(SAMPLE_SOURCES, sources)
    root = DataRoot(data_root=str(tmp_path / "data"), source_root=str(sources))
    assert run_job(root).success
    (batch,) = CatalogManager(root).list_batches("noc_unit_groups")
    archived = root.root / batch.archive_file
    assert batch.archive_file == f"raw/noc_unit_groups/{batch.sha256}.csv"
    assert archived.read_bytes() == (sources / SAMPLE).read_bytes()
    assert batch.source_path == str(sources / SAMPLE)
    same_inode = archived.stat().st_ino == (sources / SAMPLE).stat().st_ino
    assert same_inode is (mode == "link")
    os.remove(sources / SAMPLE)  # the source goes away; the archive keeps its bytes
    assert sha256(archived) == batch.sha256


def test_archiving_can_be_turned_off(tmp_path: Path, monkeypatch, config: DataRoot) -> None:
    monkeypatch.setenv(ARCHIVE_ENV, "off")
    assert run_job(config).success
    assert all(batch.archive_file is None for batch in CatalogManager(config).list_batches())
    assert not (config.root / "raw").exists()


def test_an_unknown_mode_is_refused(monkeypatch, config: DataRoot) -> None:
    monkeypatch.setenv(ARCHIVE_ENV, "sometimes")
    result = run_job(config, raise_on_error=False)
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert "JOBFORGE_RAW_ARCHIVE='sometimes'" in str(error)


@pytest.mark.parametrize("mode", ["link", "copy"])
def test_a_source_replaced_after_hashing_is_not_archived_under_the_old_hash(tmp_path: Path, mode: str) -> None:
    root = DataRoot(data_root=str(tmp_path / "data"))
    source = tmp_path / "data" / "source" / "t.csv"
    source.parent.mkdir(parents=True)
    source.write_text("a\n1\n")
    before, digest = fingerprint(source), sha256(source)
    replacement = source.with_name(".new")
    replacement.write_text("a\n2\n")
    os.replace(replacement, source)
    with pytest.raises(SourceChangedError):
        archive_source(root, "t", source, digest, before, mode)
    assert not list((root.root / "raw").rglob("*.csv"))


def test_an_archive_holding_other_bytes_is_replaced(empty_root: DataRoot) -> None:
    """Before: A, then B written in place (the archive is a hard link to the source), then A again as a new
    file: raw/t/<sha256 of A>.csv kept B's bytes, since the archive step returned early when the name existed."""
    source = empty_root.source_dir() / "t.csv"
    version_a, version_b = b"a\n1\n", b"a\n2\n"
    source.write_bytes(version_a)
    assert run_job(empty_root).success
    with open(source, "r+b") as handle:  # in place: the archive of A shares this inode
        handle.write(version_b)
    assert run_job(empty_root).success
    replacement = source.with_name(".t.csv.new")
    replacement.write_bytes(version_a)
    os.replace(replacement, source)
    assert run_job(empty_root).success
    raw = empty_root.root / "raw" / "t"
    assert (raw / f"{hashlib.sha256(version_a).hexdigest()}.csv").read_bytes() == version_a
    assert (raw / f"{hashlib.sha256(version_b).hexdigest()}.csv").read_bytes() == version_b
