"""The data dictionary (jobforge_dagster.dictionary.model): every gold column built from the 32 real files has an
English and a French description, the missing-description function names a column without one, and the files
are checked against each other. No Dagster.

`REAL_GOLD` is the inventory of a run of `medallion_pipeline` on the real files (data columns; every table also
has the six provenance columns; `dim_oasis_attribute` with the columns its OaSIS guide join adds).
`test_inventory_is_what_the_transforms_make_of_the_real_headers` derives it
again from the real headers through the registry and the gold transforms (schema only, no data), so a new source
column or a changed transform shows up here.
"""

import csv
import io
from pathlib import Path

import polars as pl
import pytest

from jobforge_dagster.dictionary import (
    DictionaryError,
    MissingDescription,
    column_doc,
    default_dictionary,
    load_dictionary,
    missing_descriptions,
    table_doc,
    undeclared_column_doc,
)
from jobforge_dagster.dictionary.model import GLOSSARY_FILE, TABLES_FILE
from jobforge_dagster.dictionary.oasis_guide import GUIDE_COLUMNS
from jobforge_dagster.layers import (
    BATCH_ID,
    INGESTED_AT,
    LAYER,
    PROVENANCE_COLUMNS,
    SOURCE_FILE,
    SOURCE_LINE,
    SOURCE_ROW,
)
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.transforms.bronze import plan_for
from jobforge_dagster.transforms.gold import gold_transform
from jobforge_dagster.transforms.source_csv import read_header
from jobforge_dagster_tests.conftest import SAMPLE_SOURCES, both_registries, require_real_data

COPS_LONG = ["noc_code", "is_aggregate", "year", "value"]
OASIS_LONG = ["oasis_code", "noc_code", "attribute", "rating"]
PROFILE = ["oasis_code", "noc_code"]
COPS_NAMES = ["noc_code", "is_aggregate", "occupation_name_en", "occupation_name_fr"]
REAL_GOLD: dict[str, list[str]] = {
    **{
        f"cops_{measure}": COPS_LONG
        for measure in (
            "employment",
            "employment_growth",
            "immigration",
            "job_openings",
            "job_seekers",
            "other_replacement",
            "other_seekers",
            "retirement_rates",
            "retirements",
            "school_leavers",
        )
    },
    "cops_future_labour_market": [
        *COPS_NAMES,
        "future_labour_market_conditions",
        "conditions_futures_sur_le_marche_du_travail",
    ],
    "cops_recent_labour_market": [
        *COPS_NAMES,
        "recent_labour_market_conditions",
        "conditions_recentes_sur_le_marche_du_travail",
    ],
    "cops_summary": [
        *COPS_NAMES,
        "employment_emploi_2023",
        "employment_growth_croissance_emploi",
        "retirements_retraites",
        "other_replacement_autre_remplacement",
        "total_job_openings_perspective_d_emploi",
        "school_leavers_sortants_scolaires",
        "immigration",
        "other_seekers_autres_chercheurs",
        "job_seekers_chercheurs_emploi",
        "recent_labour_market_conditions",
        "conditions_recentes_sur_le_marche_du_travail",
        "future_labour_market_conditions",
        "conditions_futures_sur_le_marche_du_travail",
    ],
    "dim_noc": ["noc_code", "level", "level_name", "title", "definition", "parent_code", "broad_category", "teer"],
    "dim_oasis_attribute": ["category", "attribute", "attribute_name", "source_header", "position", *GUIDE_COLUMNS],
    "job_architecture": [
        "jt_id",
        "job_title",
        "titre_de_poste",
        "job_function",
        "fonction_professionnelle",
        "job_family",
        "famille_d_emplois",
        "managerial_level",
        "niveau_de_gestion",
        "noc_2016_code",
        "noc_2016_title",
        "noc_2016_titre_fr",
        "noc_2021_code",
        "noc_2021_title",
        "noc_2021_titre_fr",
        "match_key",
        "pses_subset_mapping",
        "job_bank_gc",
        "noc_match",
        "change_to_title_noc",
        "geds_adv_search_title_contains_where_jobbank_n",
        "column_22",
        "other_consideration",
        "alternate_option_job_title_consideration",
        "alt_op_jt_secondary",
    ],
    "noc_onet_crosswalk": ["noc_code", "noc_title", "onet_code", "onet_title"],
    **{
        f"oasis_{category}": OASIS_LONG
        for category in ("abilities", "knowledges", "personal_attributes", "skills", "work_activities", "work_context")
    },
    "oasis_additional_information": [*PROFILE, "additional_information_en"],
    "oasis_employment_requirements": [*PROFILE, "employment_requirement"],
    "oasis_example_titles": [*PROFILE, "concordance_number", "job_title_type", "job_title_text"],
    "oasis_exclusions": [*PROFILE, "excluded_code", "job_title"],
    "oasis_guide": ["code", "name", "structure_type", "category", "description"],
    "oasis_interests": [*PROFILE, "oasis_label", "holland_codes_1", "holland_codes_2", "holland_codes_3"],
    "oasis_labels": [*PROFILE, "label"],
    "oasis_lead_statements": [*PROFILE, "lead_statement"],
    "oasis_main_duties": [*PROFILE, "main_duties"],
    "oasis_workplaces_employers": [*PROFILE, "workplace_employer_name", "profile_name"],
}
#: Built by build/oasis_attribute.py from the rating headers, not by a registry entry's gold transform.
DIMENSION = "dim_oasis_attribute"
SAMPLE = "noc_unit_groups"
PROVENANCE_TYPES = {
    SOURCE_FILE: pl.String,
    SOURCE_ROW: pl.Int64,
    SOURCE_LINE: pl.Int64,
    INGESTED_AT: pl.Datetime("us", "UTC"),
    BATCH_ID: pl.String,
    LAYER: pl.String,
}


def gold_name(spec: TableSpec) -> str:
    return spec.gold_name or spec.name


def source_file(spec: TableSpec, folder: Path) -> Path | None:
    """The file of `folder` the entry's pattern matches, if any."""
    return next(iter(sorted(folder.glob(spec.pattern))), None)


def header_of(path: Path) -> list[str]:
    """The header as Python's csv module reads it."""
    return next(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def gold_columns(spec: TableSpec, path: Path) -> list[str]:
    """The gold columns the registry entry and its gold transform make of the file's header (no data read)."""
    plan = plan_for(spec, read_header(path, spec.separator, path.name))
    schema = {name: plan.types.get(name, pl.String()) for name in plan.mapping.values()} | PROVENANCE_TYPES
    return gold_transform(spec.gold_transform)(pl.LazyFrame(schema=schema)).collect_schema().names()


def declared_files(folder: Path) -> dict[str, tuple[TableSpec, Path]]:
    """Gold name -> (registry entry, its file in `folder`), for the entries with a file there."""
    found = {gold_name(spec): (spec, source_file(spec, folder)) for spec in both_registries().tables}
    return {name: (spec, path) for name, (spec, path) in found.items() if path is not None}


def test_inventory_figures() -> None:
    columns = [column for names in REAL_GOLD.values() for column in names]
    assert (len(REAL_GOLD), len(columns), len(set(columns))) == (33, 181, 87)


def test_inventory_is_what_the_transforms_make_of_the_real_headers() -> None:
    files = declared_files(require_real_data())
    derived = {name: gold_columns(spec, path) for name, (spec, path) in files.items()}
    assert {name: columns[: -len(PROVENANCE_COLUMNS)] for name, columns in derived.items()} == {
        name: columns for name, columns in REAL_GOLD.items() if name != DIMENSION
    }
    assert {tuple(columns[-len(PROVENANCE_COLUMNS) :]) for columns in derived.values()} == {PROVENANCE_COLUMNS}


def test_every_gold_column_of_the_real_run_has_both_descriptions() -> None:
    undescribed = [
        missing
        for table, columns in REAL_GOLD.items()
        for missing in missing_descriptions(table, [*columns, *PROVENANCE_COLUMNS])
    ]
    assert undescribed == []
    doc = column_doc("oasis_work_context", "rating")
    assert doc.description_en.startswith("Rating of the descriptor") and doc.description_fr.startswith("Cote du")


def test_the_bundled_sample_is_documented() -> None:
    spec, path = declared_files(SAMPLE_SOURCES)[SAMPLE]
    assert missing_descriptions(SAMPLE, gold_columns(spec, path)) == []


def test_documented_tables_are_the_registry_tables_and_the_dimension() -> None:
    registry = {gold_name(spec) for spec in both_registries().tables}
    assert set(default_dictionary().tables.tables) == registry | {DIMENSION}
    assert set(REAL_GOLD) == registry - {SAMPLE} | {DIMENSION}


def test_no_documented_column_is_missing_from_gold() -> None:
    """A column documented in tables.yaml that gold does not have is a stale entry."""
    documented = {table: list(entry.columns) for table, entry in default_dictionary().tables.tables.items()}
    assert {table: sorted(columns) for table, columns in documented.items() if table != SAMPLE} == {
        table: sorted(columns) for table, columns in REAL_GOLD.items()
    }


def test_source_headers_are_spelled_as_in_the_files() -> None:
    files = declared_files(require_real_data()) | declared_files(SAMPLE_SOURCES)
    misspelled = []
    for table, (_, path) in files.items():
        header = header_of(path)
        for column, entry in default_dictionary().tables.tables[table].columns.items():
            misspelled += [f"{table}.{column}: {name!r}" for name in entry.source_headers if name not in header]
    assert misspelled == []


def test_every_concept_is_used() -> None:
    dictionary = default_dictionary()
    used = {entry.concept for table in dictionary.tables.tables.values() for entry in table.columns.values()}
    unused = set(dictionary.glossary.concepts) - used - set(PROVENANCE_COLUMNS)
    assert unused == set()


def test_missing_descriptions_names_a_column_without_an_entry() -> None:
    columns = [*REAL_GOLD["dim_noc"], *PROVENANCE_COLUMNS]
    assert missing_descriptions("dim_noc", columns) == []
    assert missing_descriptions("dim_noc", [*columns, "median_salary"]) == [
        MissingDescription(table="dim_noc", column="median_salary", languages=["en", "fr"])
    ]


def test_missing_descriptions_refuses_an_undeclared_table() -> None:
    with pytest.raises(DictionaryError, match="table 'oasis_skills_sample' is not in tables.yaml"):
        missing_descriptions("oasis_skills_sample", ["reading_comprehension"])


def test_a_column_resolves_its_concept_note_language_and_overrides() -> None:
    rates = column_doc("cops_retirement_rates", "value")
    assert rates.description_en == (
        "Value of the table's COPS measure for the occupation or aggregate in the year. Measure: retirement rate, "
        "the year's retirements as a percentage of the occupation's employment."
    )
    assert (rates.unit.en, column_doc("cops_retirements", "value").unit.en) == (
        "% of employment, one decimal",
        "persons",
    )
    assert rates.null_meaning.fr == "Non publié (la cellule source contient N/A)."
    french = column_doc("cops_summary", "occupation_name_fr")
    assert (french.description_fr, french.source_headers) == (
        "Nom de la profession ou de l'agrégat tel que publié par le SPPC. En français.",
        ["Nom_de_la_profession"],
    )
    assert column_doc("oasis_skills", "noc_code").references == ["dim_noc.noc_code"]
    assert column_doc("dim_oasis_attribute", "attribute").references == []


def test_provenance_columns_come_from_the_glossary_in_every_table() -> None:
    doc = column_doc("oasis_guide", "_source_row")
    assert (doc.role, doc.concept, doc.unit.fr) == ("provenance", "_source_row", "entier")


def test_table_doc() -> None:
    doc = table_doc("dim_noc")
    assert (doc.publisher.fr, doc.licence.en, doc.edition.fr, doc.owner) == (
        "Statistique Canada",
        "Open Government Licence - Canada",
        "CNP 2021 version 1.0",
        "team:workforce-data",
    )
    assert [column.column for column in doc.columns] == REAL_GOLD["dim_noc"]
    assert table_doc("noc_onet_crosswalk").source_url is None


def test_an_undeclared_column_says_only_what_is_known() -> None:
    doc = undeclared_column_doc("Median Salary ", "int64", table="salaries")
    assert (doc.column, doc.source_headers, doc.role, doc.role_guessed, doc.concept) == (
        "median_salary",
        ["Median Salary "],
        "measure",
        True,
        None,
    )
    assert doc.description_en == (
        'Column "Median Salary " of a source file that is not declared in the registry; inferred type int64; role '
        "guessed from its name and type: measure. Its meaning is not documented."
    )
    assert undeclared_column_doc("Site code", "int64").role == "key"
    assert undeclared_column_doc("Region", "string").role == "attribute"
    batch = undeclared_column_doc("_batch_id", "string")
    assert (batch.role, batch.role_guessed) == ("provenance", False)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_an_unknown_concept_is_refused_naming_the_table_and_column(tmp_path: Path) -> None:
    tables = TABLES_FILE.read_text(encoding="utf-8").replace(
        "label: {concept: oasis_profile_title, source_headers: [Label]}",
        "label: {concept: oasis_profile_label, source_headers: [Label]}",
    )
    with pytest.raises(
        DictionaryError, match="table oasis_labels, column label: unknown concept 'oasis_profile_label'"
    ):
        load_dictionary(GLOSSARY_FILE, write(tmp_path / "tables.yaml", tables))


def test_an_empty_french_description_is_refused_naming_the_file(tmp_path: Path) -> None:
    glossary = GLOSSARY_FILE.read_text(encoding="utf-8").replace(
        "    fr: Titre du groupe de la CNP 2021.\n", '    fr: " "\n'
    )
    with pytest.raises(DictionaryError, match=r"glossary.yaml: .*\nconcepts.noc_title.fr"):
        load_dictionary(write(tmp_path / "glossary.yaml", glossary), TABLES_FILE)


def test_a_reference_to_an_undocumented_column_is_refused(tmp_path: Path) -> None:
    glossary = GLOSSARY_FILE.read_text(encoding="utf-8").replace(
        "references: [oasis_guide.code]", "references: [oasis_guide.guide_code]"
    )
    with pytest.raises(DictionaryError, match="concept guide_code: reference 'oasis_guide.guide_code' names no"):
        load_dictionary(write(tmp_path / "glossary.yaml", glossary), TABLES_FILE)
