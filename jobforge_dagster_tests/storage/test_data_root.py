"""The data root: names written into data lead back to files inside it, and nowhere else."""

import os
from pathlib import Path

import pytest

from jobforge_dagster.storage.data_root import DataRoot


@pytest.fixture
def root(tmp_path: Path) -> DataRoot:
    config = DataRoot(data_root=str(tmp_path / "data"))
    (config.root / "raw" / "t").mkdir(parents=True)
    config.source_dir().mkdir()
    return config


def test_locate_finds_names_inside_the_data_root_and_the_source_folder(root: DataRoot) -> None:
    assert root.locate("raw/t/abc.csv") == root.root / "raw" / "t" / "abc.csv"
    assert root.locate("source/sub/x.csv") == root.source_dir() / "sub" / "x.csv"


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "source/../../etc/passwd", "raw/../../x"])
def test_locate_refuses_a_name_leading_outside(root: DataRoot, name: str) -> None:
    with pytest.raises(ValueError, match="leads outside"):
        root.locate(name)


def test_locate_refuses_a_link_out_and_a_loop_of_links(root: DataRoot) -> None:
    """Before (a loop): RuntimeError: Symlink loop, from the trace."""
    raw = root.root / "raw" / "t"
    (raw / "out.csv").symlink_to("/etc/passwd")
    os.symlink(raw / "b.csv", raw / "a.csv")
    os.symlink(raw / "a.csv", raw / "b.csv")
    with pytest.raises(ValueError, match="leads outside the data root .* \\(to /etc/passwd\\)"):
        root.locate("raw/t/out.csv")
    with pytest.raises(ValueError, match="is a symbolic link loop"):
        root.locate("raw/t/a.csv")
