"""Checks that gold says what it means: every column of a declared table described in English and French, every
OaSIS rating attribute matched to a descriptor of the published guide. Pure functions returning `CheckOutcome`;
a failure is a WARN (the data is published, the gap reported)."""

import polars as pl

from jobforge_dagster.dictionary.model import DataDictionary, default_dictionary
from jobforge_dagster.dictionary.oasis_guide import guide_gaps
from jobforge_dagster.quality.outcome import CheckOutcome, Severity

#: How many undocumented columns or unmatched attributes a failed check names.
EXAMPLES = 10


def description_check(table: str, columns: list[str], dictionary: DataDictionary | None = None) -> CheckOutcome:
    """Every column of a declared gold table has a description in English and in French (data dictionary)."""
    missing = (dictionary or default_dictionary()).missing_descriptions(table, columns)
    figures = {
        "columns": len(columns),
        "undescribed": {item.column: item.languages for item in missing[:EXAMPLES]},
        "undescribed_count": len(missing),
    }
    if not missing:
        return CheckOutcome(True, f"all {len(columns)} columns described in English and French", figures)
    named = ", ".join(f"{item.column} ({'/'.join(item.languages)})" for item in missing[:EXAMPLES])
    description = f"{len(missing)} of {len(columns)} columns have no description in the data dictionary: {named}"
    return CheckOutcome(False, description, figures, Severity.WARN)


def guide_check(enriched: pl.LazyFrame) -> CheckOutcome:
    """Every attribute of `dim_oasis_attribute` has an OaSIS guide entry; attributes whose descriptor states no
    scale are listed (the guide does not publish one), without failing."""
    gaps = guide_gaps(enriched).collect()
    rows = enriched.select(pl.len()).collect().item()
    unmatched = gaps.filter(pl.col("gap") == "no guide entry")
    no_scale = gaps.filter(pl.col("gap") == "no published scale")
    figures = {
        "attributes": rows,
        "no_guide_entry": unmatched.height,
        "no_published_scale": [
            f"{row['category']}.{row['attribute']} ({row['guide_code']})" for row in no_scale.iter_rows(named=True)
        ],
    }
    if unmatched.height == 0:
        return CheckOutcome(True, f"all {rows} attributes have an OaSIS guide entry", figures)
    named = ", ".join(f"{c}.{a}" for c, a in unmatched.select("category", "attribute").head(EXAMPLES).iter_rows())
    description = f"{unmatched.height} of {rows} attributes have no OaSIS guide entry: {named}"
    return CheckOutcome(False, description, figures | {"unmatched": named}, Severity.WARN)
