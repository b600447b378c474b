"""OaSIS descriptors: each rating attribute of `dim_oasis_attribute` with its definition and scale from the
published OaSIS guide (`guide_oasis_2023_v1.0.csv`, gold or silver `oasis_guide`).

An attribute is matched to a guide descriptor of its category by, in order: the exact name, the normalised name
(case, spaces, punctuation, `&` = `and`), a numbered repeat (`Time Pressure2`: the second rating column of a
descriptor the guide measures on two scales), or an alias declared with its reason in `oasis_aliases.yaml`.
A name that matches two descriptors of a category matches none. Pure polars; no Dagster.
"""

from pathlib import Path

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict

from jobforge_dagster.dictionary.model import SAFE_LOADER
from jobforge_dagster.layers import PROVENANCE_COLUMNS

ALIASES_FILE = Path(__file__).with_name("oasis_aliases.yaml")
#: dim_oasis_attribute.category (the rating table without `oasis_`) -> the guide's Category.
GUIDE_CATEGORY = {
    "abilities": "Abilities",
    "knowledges": "Knowledge",
    "personal_attributes": "Personal Attributes",
    "skills": "Skills",
    "work_activities": "Work Activities",
    "work_context": "Work Context",
}
DESCRIPTOR = "Descriptor"
#: The sentence that ends most descriptor descriptions, e.g. "This descriptor is measured by importance on a
#: scale of 1-5." Group 1 is the scale as published.
SCALE_SENTENCE = r"\s*This descriptor is measured by\s+(.+?)\.?\s*$"
SCALE_RANGE = r"scale of (\d+)-(\d+)"
#: A guide column with French descriptions, used when a guide has one (the 2023 V1.0 file does not).
FRENCH_DESCRIPTION = "description_fr"
#: Columns `with_guide` adds to the dimension.
GUIDE_COLUMNS = ["guide_code", "definition_en", "definition_fr", "scale", "scale_min", "scale_max", "guide_match"]
MATCHES = ("exact", "normalised", "numbered_repeat", "alias")


class GuideAlias(BaseModel):
    """An attribute whose header names its guide descriptor differently, and why the descriptor is that one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str
    attribute: str
    guide_code: str
    reason: str


class GuideAliases(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    aliases: list[GuideAlias]


def load_aliases(path: Path = ALIASES_FILE) -> list[GuideAlias]:
    with open(path, encoding="utf-8") as handle:
        return GuideAliases.model_validate(yaml.load(handle, Loader=SAFE_LOADER)).aliases


def normalised(text: pl.Expr) -> pl.Expr:
    """Lowercase letters and digits only, `&` read as `and`."""
    return text.str.to_lowercase().str.replace_all("&", "and", literal=True).str.replace_all(r"[^a-z0-9]", "")


def without_scale(description: pl.Expr) -> pl.Expr:
    return description.str.replace(SCALE_SENTENCE, "").str.strip_chars()


def scale_bound(scale: pl.Expr, group: int) -> pl.Expr:
    """The scale's lower (group 1) or upper (group 2) bound when all its ranges agree; else null."""
    bounds = scale.str.extract_all(SCALE_RANGE).list.eval(pl.element().str.extract(SCALE_RANGE, group))
    return pl.when(bounds.list.n_unique() == 1).then(bounds.list.first().cast(pl.Int8))


def descriptors(guide: pl.LazyFrame) -> pl.LazyFrame:
    """The guide's descriptors: code, category, name keys, definition without the scale sentence, scale."""
    french = pl.col(FRENCH_DESCRIPTION) if FRENCH_DESCRIPTION in guide.collect_schema().names() else pl.lit(None)
    scale = pl.col("description").str.extract(SCALE_SENTENCE, 1)
    return guide.filter(pl.col("structure_type") == DESCRIPTOR).select(
        pl.col("category").alias("guide_category"),
        pl.col("code").alias("guide_code"),
        pl.col("name").alias("key_exact"),
        normalised(pl.col("name")).alias("key_normalised"),
        without_scale(pl.col("description")).alias("definition_en"),
        without_scale(french.cast(pl.String)).alias("definition_fr"),
        scale.alias("scale"),
        scale_bound(scale, 1).alias("scale_min"),
        scale_bound(scale, 2).alias("scale_max"),
        (scale.str.count_matches(SCALE_RANGE) > 1).fill_null(False).alias("two_measures"),
    )


def unique_lookup(descriptors: pl.LazyFrame, key: str, method: str) -> pl.LazyFrame:
    """(guide_category, key) -> guide code, for keys naming exactly one descriptor of their category."""
    counted = descriptors.group_by("guide_category", key).agg(pl.col("guide_code").first(), pl.len().alias("n"))
    return counted.filter(pl.col("n") == 1).select("guide_category", key, pl.col("guide_code").alias(method))


def match_keys(dimension: pl.LazyFrame) -> pl.LazyFrame:
    """The dimension with its guide category and the keys each match method compares."""
    name = pl.col("attribute_name")
    stem = name.str.replace(r"\s*\d+$", "")
    return dimension.with_columns(
        pl.col("category").replace_strict(GUIDE_CATEGORY, default=None, return_dtype=pl.String).alias("guide_category"),
        name.alias("key_exact"),
        normalised(name).alias("key_normalised"),
        pl.when(stem != name).then(normalised(stem)).alias("key_stem"),
    )


def alias_codes(aliases: list[GuideAlias], found: pl.LazyFrame) -> pl.LazyFrame:
    """(category, attribute) -> guide code of each declared alias whose code is a guide descriptor."""
    schema = {"category": pl.String, "attribute": pl.String, "alias": pl.String}
    rows = [{"category": a.category, "attribute": a.attribute, "alias": a.guide_code} for a in aliases]
    known = found.select(pl.col("guide_code").alias("alias"))
    return pl.LazyFrame(rows, schema=schema).join(known, on="alias", how="semi")


def matched_codes(dimension: pl.LazyFrame, found: pl.LazyFrame, aliases: list[GuideAlias]) -> pl.LazyFrame:
    """The dimension with `guide_code` and `guide_match` (the first method that matched), keys dropped."""
    repeats = found.filter(pl.col("two_measures")).rename({"key_normalised": "key_stem"})
    keyed = (
        match_keys(dimension)
        .join(
            unique_lookup(found, "key_exact", "exact"),
            on=["guide_category", "key_exact"],
            how="left",
            maintain_order="left",
        )
        .join(
            unique_lookup(found, "key_normalised", "normalised"),
            on=["guide_category", "key_normalised"],
            how="left",
            maintain_order="left",
        )
        .join(
            unique_lookup(repeats, "key_stem", "numbered_repeat"),
            on=["guide_category", "key_stem"],
            how="left",
            maintain_order="left",
        )
        .join(alias_codes(aliases, found), on=["category", "attribute"], how="left", maintain_order="left")
    )
    method = pl.lit(None, pl.String)
    for name in reversed(MATCHES):
        method = pl.when(pl.col(name).is_not_null()).then(pl.lit(name)).otherwise(method)
    return keyed.with_columns(pl.coalesce(*MATCHES).alias("guide_code"), method.alias("guide_match")).drop(
        "key_exact", "key_normalised", "key_stem", *MATCHES
    )


def with_guide(dimension: pl.LazyFrame, guide: pl.LazyFrame, aliases: list[GuideAlias] | None = None) -> pl.LazyFrame:
    """`dim_oasis_attribute` with `GUIDE_COLUMNS`: the matched descriptor's code, definition (English; French when
    the guide has it), scale as published, its bounds, and how it was matched. Unmatched attributes keep nulls."""
    found = descriptors(guide)
    aliases = load_aliases() if aliases is None else aliases
    details = found.select(
        "guide_category", "guide_code", "definition_en", "definition_fr", "scale", "scale_min", "scale_max"
    )
    enriched = matched_codes(dimension, found, aliases).join(
        details, on=["guide_category", "guide_code"], how="left", maintain_order="left"
    )
    names = dimension.collect_schema().names()
    data = [name for name in names if name not in PROVENANCE_COLUMNS]
    provenance = [name for name in names if name in PROVENANCE_COLUMNS]
    return enriched.select(*data, *GUIDE_COLUMNS, *provenance)


def guide_gaps(enriched: pl.LazyFrame) -> pl.LazyFrame:
    """Attributes of a `with_guide` frame with no guide entry, or whose descriptor has no published scale."""
    gap = (
        pl.when(pl.col("guide_code").is_null())
        .then(pl.lit("no guide entry"))
        .when(pl.col("scale").is_null())
        .then(pl.lit("no published scale"))
    )
    columns = ["category", "attribute", "attribute_name", "guide_code"]
    return enriched.select(*columns, gap.alias("gap")).filter(pl.col("gap").is_not_null())


def unmatched_attributes(enriched: pl.LazyFrame) -> pl.LazyFrame:
    """Attributes of a `with_guide` frame that no guide descriptor matches."""
    return guide_gaps(enriched).filter(pl.col("gap") == "no guide entry").drop("guide_code", "gap")
