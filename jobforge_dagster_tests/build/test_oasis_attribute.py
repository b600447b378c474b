"""`gold/dim_oasis_attribute` joined with the OaSIS guide's gold table: each attribute gets its descriptor's
definition and scale, an attribute without one is reported by the check, and a new guide rebuilds the dimension."""

from pathlib import Path

import polars as pl

from jobforge_dagster.layers import Layer
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.names import OASIS_ATTRIBUTE, OASIS_GUIDE
from jobforge_dagster.registry.spec import TableChecks
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.conftest import run_job

RATINGS = "OaSIS Code - Final,OaSIS Label - Final,Writing  ,Juggling\n00010.00,Legislators,3,1\n00011.00,Senior,4,2\n"
SCALE = "This descriptor is measured by"
WRITING = f"F01b02,Writing,Descriptor,Skills,Writes well. {SCALE} proficiency level on a scale of 1-5."
JUGGLING = f"F09z99,Juggling,Descriptor,Skills,Keeps three balls up. {SCALE} frequency on a scale of 1-5."
GUIDE_HEADER = "Code,Name,Structure type,Category,Description"


def registry() -> SourceRegistry:
    """The real entries of the skills ratings (without their checks of other tables) and of the guide."""
    specs = {spec.name: spec for spec in SourceRegistry.load("noc2021").tables}
    skills = specs["oasis_skills"].model_copy(update={"checks": TableChecks()})
    return SourceRegistry(tables=[skills, specs[OASIS_GUIDE]])


def write_sources(root: Path, *guide: str) -> None:
    source = root / "source"
    source.mkdir(parents=True, exist_ok=True)
    (source / "skills_oasis_2023_v1.0.csv").write_text(RATINGS, encoding="utf-8")
    (source / "guide_oasis_2023_v1.0.csv").write_text("\n".join([GUIDE_HEADER, *guide]) + "\n", encoding="utf-8")


def conformance(result) -> tuple[bool, str]:
    (check,) = [
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_key.to_user_string() == f"gold/{OASIS_ATTRIBUTE}" and e.check_name == "conformance"
    ]
    return check.passed, check.description or ""


def materialized(result) -> list[str]:
    """The gold assets a run wrote (not the ones it found current and reported as published)."""
    events = result.get_asset_materialization_events()
    built = [event for event in events if "jobforge/status" not in event.materialization.metadata]
    return sorted({key for event in built if (key := event.asset_key.to_user_string()).startswith("gold/")})


def test_the_dimension_carries_the_guide_and_a_new_guide_rebuilds_it(tmp_path: Path) -> None:
    config = DataRoot(data_root=str(tmp_path / "data"))
    write_sources(tmp_path / "data", WRITING)
    first = run_job(config, registry(), raise_on_error=False)
    dimension = pl.read_parquet(config.table_path(Layer.GOLD, OASIS_ATTRIBUTE)).sort("position")
    assert dimension.select("attribute", "guide_code", "definition_en", "scale", "scale_max").rows() == [
        ("writing", "F01b02", "Writes well.", "proficiency level on a scale of 1-5", 5),
        ("juggling", None, None, None, None),
    ]
    assert conformance(first) == (
        False,
        "guide_entries: 1 of 2 attributes have no OaSIS guide entry: skills.juggling",
    )
    again = run_job(config, registry(), raise_on_error=False)
    assert materialized(again) == []  # nothing changed: the dimension is current
    write_sources(tmp_path / "data", WRITING, JUGGLING)  # a new guide; the rating file is unchanged
    second = run_job(config, registry(), raise_on_error=False)
    assert materialized(second) == ["gold/dim_oasis_attribute", "gold/oasis_guide"]
    dimension = pl.read_parquet(config.table_path(Layer.GOLD, OASIS_ATTRIBUTE)).sort("position")
    assert dimension["guide_code"].to_list() == ["F01b02", "F09z99"]
    assert conformance(second) == (True, "all 3 rules pass: key_unique, guide_entries, documented")
