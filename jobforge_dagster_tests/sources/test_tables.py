"""The tables a code location has: default tables for undeclared files, refused files, a table's one file."""

import logging
import os
from pathlib import Path

import pytest

from jobforge_dagster.errors import SourceDataError
from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.scan import scan_source
from jobforge_dagster.sources.tables import collect_tables, find_source_file, list_source_files
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.conftest import both_registries


def test_unregistered_files_get_default_tables(tmp_path: Path) -> None:
    (tmp_path / "noc_unit_groups_sample.csv").write_text("a\n1\n")
    (tmp_path / "My File (v2).csv").write_text("a\n1\n")
    (tmp_path / ".hidden.csv").write_text("a\n1\n")
    (tmp_path / "notes.md").write_text("not a source")
    registry = SourceRegistry(tables=[TableSpec(name="noc_unit_groups", pattern="noc_unit_groups*.csv")])
    tables = collect_tables(registry, tmp_path).tables
    assert [(t.name, t.pattern, t.declared) for t in tables] == [
        ("noc_unit_groups", "noc_unit_groups*.csv", True),
        ("my_file_v2", "My File (v2).csv", False),
    ]
    assert list_source_files(tmp_path) == ["My File (v2).csv", "noc_unit_groups_sample.csv"]


def test_files_sharing_a_default_name_are_both_refused(tmp_path: Path) -> None:
    """Which one is meant cannot be told; before, neither the others nor the code location loaded."""
    for name in ("noc-a.csv", "noc a.csv", "other.csv"):
        (tmp_path / name).write_text("a\n1\n")
    collected = collect_tables(SourceRegistry(), tmp_path)
    assert [table.name for table in collected.tables] == ["other"]
    assert collected.refused == {
        "source/noc a.csv": "refused: its default table name 'noc_a' is also that of source/noc-a.csv; rename one",
        "source/noc-a.csv": "refused: its default table name 'noc_a' is also that of source/noc a.csv; rename one",
    }


def test_pattern_matching_several_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "cops_1.csv").write_text("a\n1\n")
    (tmp_path / "cops_2.csv").write_text("a\n1\n")
    with pytest.raises(ValueError, match="matches 2 files"):
        find_source_file(TableSpec(name="cops", pattern="cops_*.csv"), tmp_path)
    assert find_source_file(TableSpec(name="none", pattern="none*.csv"), tmp_path) is None


def test_a_stray_file_is_refused_alone_and_everything_else_loads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: "Duplicate asset key" (naming no file) and no code location at all."""
    config = DataRoot(data_root=str(tmp_path / "data"))
    source = config.source_dir()
    for name in [*STRAYS, "sub/data.csv", "sub2/data.csv", "noc_unit_groups_sample.csv"]:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("a\n1\n")
    with caplog.at_level(logging.WARNING):
        defs = build_definitions(config, both_registries())
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert {"gold/noc_unit_groups", "gold/dim_noc", "gold/sub_data", "gold/sub2_data"} <= keys
    assert not {"staged/dim_noc", "staged/dim_oasis_attribute", "staged/a_b"} & keys
    for name, collides_with in STRAYS.items():
        assert [m for m in caplog.messages if m.startswith(f"source/{name}: refused") and collides_with in m], name
    assert defs.resolve_job_def("medallion_pipeline") is not None
    assert defs.resolve_sensor_def("new_source_files") is not None


def test_default_name_of_a_file_in_a_folder_includes_the_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "My Data.csv").write_text("a\n1\n")
    (tmp_path / "odd[1].csv").write_text("a\n1\n")
    tables = collect_tables(SourceRegistry(), tmp_path).tables
    assert [table.name for table in tables] == ["odd_1", "sub_my_data"]
    assert tables[0].matches("odd[1].csv") and not tables[0].matches("odd1.csv")
    assert tables[1].matches("sub/My Data.csv")


#: A stray file in source/ -> what its message must name as the name it collides with.
STRAYS = {
    "dim_noc.csv": "the gold name of table 'noc_structure'",
    "dim_oasis_attribute.csv": "'dim_oasis_attribute'",
    "noc_structure.txt": "table 'noc_structure'",
    "a-b.csv": "source/a_b.csv",
    "a_b.csv": "source/a-b.csv",
}


def test_a_literal_pattern_finds_its_file_as_the_walker_would(tmp_path: Path) -> None:
    """A pattern without wildcards is looked up alone (no listing): the same answers as a listed match."""
    (tmp_path / "odd[1].csv").write_text("a\n1\n")
    (tmp_path / "notes.md").write_text("not a source")
    (tmp_path / ".hidden.csv").write_text("a\n1\n")
    (tmp_path / "folder.csv").mkdir()
    os.mkfifo(tmp_path / "pipe.csv")
    (tmp_path / "out.csv").symlink_to("/etc/hostname")
    assert find_source_file(TableSpec(name="odd", pattern="odd[[]1].csv"), tmp_path) == tmp_path / "odd[1].csv"
    for pattern in ("notes.md", ".hidden.csv", "folder.csv", "missing.csv"):
        assert find_source_file(TableSpec(name="t", pattern=pattern), tmp_path) is None, pattern
    with pytest.raises(SourceDataError, match=r"source/pipe\.csv.*not a regular file \(a FIFO\)"):
        find_source_file(TableSpec(name="t", pattern="pipe.csv"), tmp_path)
    with pytest.raises(SourceDataError, match="a symbolic link to /etc/hostname, outside the source folder"):
        find_source_file(TableSpec(name="t", pattern="out.csv"), tmp_path)


def test_a_wildcard_pattern_looks_only_where_its_literal_start_leads(tmp_path: Path) -> None:
    for name in ("cops_1.csv", "sub/cops_2.csv", "subway/cops_3.csv", "other.csv"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("a\n1\n")
    found = [file.relative for file in scan_source(tmp_path, "sub/")]
    assert found == ["sub/cops_2.csv"]
    assert sorted(file.relative for file in scan_source(tmp_path, "sub")) == ["sub/cops_2.csv", "subway/cops_3.csv"]
    assert find_source_file(TableSpec(name="t", pattern="sub/cops_*.csv"), tmp_path) == tmp_path / "sub/cops_2.csv"
    assert find_source_file(TableSpec(name="t", pattern="*/cops_3.csv"), tmp_path) == tmp_path / "subway/cops_3.csv"


def test_the_tables_of_a_file_are_found_in_registry_order(tmp_path: Path) -> None:
    (tmp_path / "cops_2024.csv").write_text("a\n1\n")
    declared = [
        TableSpec(name="any", pattern="*.csv"),
        TableSpec(name="cops", pattern="cops_*.csv"),
        TableSpec(name="cops_2024", pattern="cops_2024.csv"),
    ]
    collected = collect_tables(SourceRegistry(tables=declared), tmp_path)
    assert [table.name for table in collected.index.matching("cops_2024.csv")] == ["any", "cops", "cops_2024"]
    assert collected.spec_for("cops_2024.csv").name == "any"
    reordered = collect_tables(SourceRegistry(tables=declared[::-1]), tmp_path)
    assert reordered.spec_for("cops_2024.csv").name == "cops_2024"
    assert reordered.spec_for("other.csv").name == "any" and reordered.spec_for("x.parquet") is None
