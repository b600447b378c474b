"""Gold says what it means: a gold column of a declared table without a description fails the `documented` rule,
an OaSIS attribute without a guide entry fails `guide_entries` (both WARN: the data is still published)."""

import polars as pl

from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import PROVENANCE_COLUMNS, Layer
from jobforge_dagster.quality.documentation import description_check, guide_check
from jobforge_dagster.quality.outcome import Severity
from jobforge_dagster.storage.data_root import DataRoot

NOC_UNIT_GROUPS = ["noc_code", "title_en", "title_fr", "teer", "broad_category", *PROVENANCE_COLUMNS]


def test_every_column_described_passes() -> None:
    outcome = description_check("noc_unit_groups", NOC_UNIT_GROUPS)
    assert outcome.passed and outcome.description == "all 11 columns described in English and French"


def test_a_column_without_a_description_fails_naming_it() -> None:
    outcome = description_check("noc_unit_groups", [*NOC_UNIT_GROUPS, "median_salary"])
    assert (outcome.passed, outcome.severity) == (False, Severity.WARN)
    assert outcome.description == (
        "1 of 12 columns have no description in the data dictionary: median_salary (en/fr)"
    )
    assert outcome.figures["undescribed"] == {"median_salary": ["en", "fr"]}


def attributes(*rows: tuple[str, str, str | None, str | None]) -> pl.LazyFrame:
    """(category, attribute, guide_code, scale) rows of an enriched dimension."""
    frame = pl.LazyFrame(rows, schema=["category", "attribute", "guide_code", "scale"], orient="row")
    return frame.with_columns(attribute_name=pl.col("attribute"))


def test_an_attribute_without_a_guide_entry_fails_and_a_missing_scale_is_only_listed() -> None:
    matched = attributes(("skills", "writing", "S1", "level 1-5"), ("work_context", "hazards", "J02a05", None))
    outcome = guide_check(matched)
    assert outcome.passed and outcome.description == "all 2 attributes have an OaSIS guide entry"
    assert outcome.figures["no_published_scale"] == ["work_context.hazards (J02a05)"]
    unmatched = guide_check(attributes(("skills", "writing", "S1", "level 1-5"), ("skills", "juggling", None, None)))
    assert (unmatched.passed, unmatched.severity) == (False, Severity.WARN)
    assert unmatched.description == "1 of 2 attributes have no OaSIS guide entry: skills.juggling"


def test_a_new_source_column_fails_the_check_and_gold_is_still_published(config: DataRoot, run) -> None:
    sample = config.source_dir() / "noc_unit_groups_sample.csv"
    lines = sample.read_text("utf-8").splitlines()
    sample.write_text("\n".join([f"{lines[0]},Median salary"] + [f"{line},1" for line in lines[1:]]) + "\n", "utf-8")
    result = run(config, raise_on_error=False)
    (conformance,) = [
        evaluation
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.asset_key.to_user_string() == "gold/noc_unit_groups" and evaluation.check_name == "conformance"
    ]
    assert (conformance.passed, conformance.severity.value) == (False, "WARN")
    assert "documented: 1 of 12 columns have no description in the data dictionary: median_salary (en/fr)" in (
        conformance.description or ""
    )
    gold = CatalogManager(config).load_table_metadata("noc_unit_groups", Layer.GOLD.value)
    assert gold is not None and "median_salary" in [column.name for column in gold.columns]
