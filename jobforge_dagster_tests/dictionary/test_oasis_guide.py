"""The OaSIS guide join (jobforge_dagster.dictionary.oasis_guide): every rated attribute of the six OaSIS rating
files gets its definition and scale from `guide_oasis_2023_v1.0.csv`, except the gaps listed here with their
reason; small frames check each match method. No Dagster.

The guide is read through the project's staged, bronze and silver transforms; the attribute dimension is built
from the staged rating files by `build.oasis_attribute.attribute_rows`, as gold builds it.
"""

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from jobforge_dagster.build.oasis_attribute import attribute_rows
from jobforge_dagster.dictionary import column_doc
from jobforge_dagster.dictionary.oasis_guide import (
    GUIDE_COLUMNS,
    GuideAlias,
    guide_gaps,
    load_aliases,
    unmatched_attributes,
    with_guide,
)
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.transforms.bronze import plan_for, standardise
from jobforge_dagster.transforms.silver import clean
from jobforge_dagster.transforms.staged import add_provenance, read_source
from jobforge_dagster_tests.conftest import require_real_data
from jobforge_dagster_tests.dictionary.test_model import declared_files

#: Attributes matched to a guide descriptor whose description states no scale ("This descriptor is measured
#: by ..." is missing from the guide for J01a03, J02a05 and J02a08).
NO_PUBLISHED_SCALE = {
    ("work_context", "frequency_of_decision_making", "J01a03"),
    ("work_context", "hazardous_equipment_machinery_tools", "J02a05"),
    ("work_context", "cramped_work_space_awkward_positions", "J02a08"),
}
MATCH_COUNTS = {"exact": 220, "normalised": 8, "numbered_repeat": 10, "alias": 7}


def rating_tables(folder: Path) -> list[tuple[TableSpec, Path]]:
    return [(spec, path) for spec, path in declared_files(folder).values() if spec.gold_transform == "oasis_long"]


def staged(spec: TableSpec, path: Path) -> pl.LazyFrame:
    """The file as its staged layer holds it: every value a string, with row provenance."""
    return add_provenance(read_source(path, spec, path.name).frame, f"source/{path.name}", "b1", datetime.now(UTC))


def attribute_dimension(folder: Path) -> pl.LazyFrame:
    """`dim_oasis_attribute` as gold builds it: one row per rating column of each OaSIS rating file."""
    return pl.concat([attribute_rows(spec, staged(spec, path)) for spec, path in rating_tables(folder)]).lazy()


def guide_silver(folder: Path) -> pl.LazyFrame:
    spec, path = declared_files(folder)["oasis_guide"]
    read = read_source(path, spec, path.name)
    return clean(standardise(read.frame, plan_for(spec, read.frame.collect_schema().names())))


@pytest.fixture(scope="module")
def enriched() -> pl.DataFrame:
    folder = require_real_data()
    return with_guide(attribute_dimension(folder), guide_silver(folder)).collect()


def test_every_rated_attribute_has_a_guide_definition(enriched: pl.DataFrame) -> None:
    assert enriched.height == 245
    assert unmatched_attributes(enriched.lazy()).collect().height == 0
    assert enriched.filter(pl.col("definition_en").str.len_chars() == 0).height == 0
    assert dict(enriched.group_by("guide_match").len().iter_rows()) == MATCH_COUNTS


def test_every_attribute_has_a_scale_but_the_known_gaps(enriched: pl.DataFrame) -> None:
    gaps = guide_gaps(enriched.lazy()).collect()
    assert set(gaps["gap"]) == {"no published scale"}
    assert set(gaps.select("category", "attribute", "guide_code").iter_rows()) == NO_PUBLISHED_SCALE


def test_the_guide_has_no_french_definition(enriched: pl.DataFrame) -> None:
    assert enriched["definition_fr"].null_count() == enriched.height


def test_definitions_and_scales_are_split_as_published(enriched: pl.DataFrame) -> None:
    row = enriched.filter(pl.col("attribute") == "getting_information").row(0, named=True)
    assert {key: row[key] for key in ("guide_code", "definition_en", "scale", "scale_min", "scale_max")} == {
        "guide_code": "K01a01",
        "definition_en": "Observing, receiving, or obtaining information from all relevant sources.",
        "scale": "complexity level on a scale of 1-5",
        "scale_min": 1,
        "scale_max": 5,
    }
    repeat = enriched.filter(pl.col("attribute") == "time_pressure2").row(0, named=True)
    assert (repeat["guide_code"], repeat["guide_match"], repeat["scale"]) == (
        "J01c02",
        "numbered_repeat",
        "frequency on a scale of 1-5 and importance on a scale of 1-5",
    )


def test_every_alias_is_needed_and_used(enriched: pl.DataFrame) -> None:
    aliased = enriched.filter(pl.col("guide_match") == "alias")
    declared = {(alias.category, alias.attribute, alias.guide_code) for alias in load_aliases()}
    assert set(aliased.select("category", "attribute", "guide_code").iter_rows()) == declared


def test_ratings_stay_within_the_matched_scale(enriched: pl.DataFrame) -> None:
    """Every rating in the files is between 0 and the published maximum of its matched descriptor's scale."""
    rated = []
    for spec, path in rating_tables(require_real_data()):
        frame = pl.read_csv(path, infer_schema=False)
        rated += [
            (spec.name.removeprefix("oasis_"), header, int(frame[header].cast(pl.Int64).max()))
            for header in frame.columns
            if header.strip() not in ("OaSIS Code - Final", "OaSIS Label - Final")
        ]
    maxima = pl.DataFrame(rated, schema=["category", "source_header", "highest"], orient="row")
    joined = maxima.join(enriched, on=["category", "source_header"], how="left")
    assert joined["guide_code"].null_count() == 0
    assert joined.filter(pl.col("highest") > pl.col("scale_max")).height == 0


def test_the_added_columns_are_documented(enriched: pl.DataFrame) -> None:
    assert enriched.columns[5 : 5 + len(GUIDE_COLUMNS)] == GUIDE_COLUMNS
    assert all(column_doc("dim_oasis_attribute", column).description_fr for column in enriched.columns)


def small_guide(*rows: tuple[str, str, str, str]) -> pl.LazyFrame:
    return pl.LazyFrame(rows, schema=["code", "name", "category", "description"], orient="row").with_columns(
        structure_type=pl.lit("Descriptor")
    )


def small_dimension(*names: tuple[str, str]) -> pl.LazyFrame:
    rows = [{"category": c, "attribute": n.lower().replace(" ", "_"), "attribute_name": n} for c, n in names]
    return pl.LazyFrame(rows)


def matches(dimension: pl.LazyFrame, guide: pl.LazyFrame, aliases: list[GuideAlias]) -> dict[tuple, tuple]:
    """(category, attribute name) -> (guide code, match method)."""
    frame = with_guide(dimension, guide, aliases).collect()
    return {
        (row["category"], row["attribute_name"]): (row["guide_code"], row["guide_match"])
        for row in frame.iter_rows(named=True)
    }


def test_each_match_method_in_order() -> None:
    guide = small_guide(
        ("S1", "Writing", "Skills", "Writes. This descriptor is measured by proficiency level on a scale of 1-5."),
        ("S2", "Setting Up", "Skills", "Sets up."),
        (
            "W1",
            "Time Pressure",
            "Work Context",
            "Pressure. This descriptor is measured by frequency on a scale of 1-5 and importance on a scale of 1-5.",
        ),
        ("W2", "Precision", "Work Context", "Exact. This descriptor is measured by importance on a scale of 1-5."),
        ("W3", "Type of Work Schedules", "Work Context", "Schedule."),
    )
    dimension = small_dimension(
        ("skills", "Writing"),
        ("skills", "Setting up"),
        ("work_context", "Time Pressure2"),
        ("work_context", "Precision2"),
        ("work_context", "Work Schedule"),
        ("knowledges", "Writing"),
    )
    alias = GuideAlias(category="work_context", attribute="work_schedule", guide_code="W3", reason="test")
    assert matches(dimension, guide, [alias]) == {
        ("skills", "Writing"): ("S1", "exact"),
        ("skills", "Setting up"): ("S2", "normalised"),
        ("work_context", "Time Pressure2"): ("W1", "numbered_repeat"),
        ("work_context", "Precision2"): (None, None),  # W2 has one scale: no second rating column
        ("work_context", "Work Schedule"): ("W3", "alias"),
        ("knowledges", "Writing"): (None, None),  # the guide's Writing is a skill, not a knowledge
    }


def test_an_ambiguous_name_and_an_alias_to_a_missing_code_match_nothing() -> None:
    guide = small_guide(
        ("A1", "Monitoring", "Skills", "One."),
        ("A2", "monitoring", "Skills", "Two."),
    )
    dimension = small_dimension(("skills", "MONITORING"), ("skills", "Coordinating"))
    alias = GuideAlias(category="skills", attribute="coordinating", guide_code="Z9", reason="test")
    enriched = with_guide(dimension, guide, [alias])
    assert unmatched_attributes(enriched).collect()["attribute"].to_list() == ["monitoring", "coordinating"]


def test_a_french_description_is_used_when_the_guide_has_one() -> None:
    guide = small_guide(("S1", "Writing", "Skills", "Writes.")).with_columns(
        description_fr=pl.lit("Écrit. This descriptor is measured by proficiency level on a scale of 1-5.")
    )
    frame = with_guide(small_dimension(("skills", "Writing")), guide, []).collect()
    assert frame.select("definition_en", "definition_fr").row(0) == ("Writes.", "Écrit.")
