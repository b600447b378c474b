"""What the catalog says a column means and how it was made: transforms and source headers followed back through
the layers' column lineage, and the data dictionary's entries on gold."""

import json

from jobforge_dagster.catalog.documentation import (
    MAX_SHOWN,
    merged,
    previous_layer_table,
    with_dictionary,
    with_lineage,
)
from jobforge_dagster.catalog.models import ColumnMetadata, TableMetadata
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.layers import PROVENANCE_COLUMNS, Layer
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.transforms.lineage import ColumnLineage, identity, indirect, transformed


def column(name: str, **given: object) -> ColumnMetadata:
    return ColumnMetadata(name=name, data_type="String", nullable=True, **given)


def table(name: str, layer: str, columns: list[ColumnMetadata]) -> TableMetadata:
    return TableMetadata(
        table_name=name,
        layer=layer,
        domain="noc",
        file_path=f"{layer}/{name}.parquet",
        row_count=1,
        column_count=len(columns),
        file_size_bytes=1,
        columns=columns,
    )


def test_a_column_carries_the_transforms_and_headers_of_the_columns_it_comes_from() -> None:
    bronze = table(
        "cops",
        "bronze",
        [
            column("col_2023", source_headers=["2023"], transforms=["bronze: renamed from '2023'"]),
            column("col_2024", source_headers=["2024"], transforms=["bronze: renamed from '2024'"]),
            column("code", source_headers=["Code"], transforms=["bronze: renamed from 'Code'"]),
        ],
    )
    lineage = ColumnLineage(
        fields={
            "value": [transformed("col_2023", "unpivot: the cell"), transformed("col_2024", "unpivot: the cell")],
            "code": [identity("code")],
            "joined": [transformed("title", "looked up", "gold/other.parquet")],
        },
        dataset=[indirect("code", "FILTER", "rows without a code dropped")],
    )
    value, code, joined = with_lineage([column("value"), column("code"), column("joined")], "gold", lineage, bronze)
    assert value.transforms == ["bronze: renamed from '2023'", "bronze: renamed from '2024'", "gold: unpivot: the cell"]
    assert value.source_headers == ["2023", "2024"]
    assert (code.transforms, code.source_headers) == (["bronze: renamed from 'Code'"], ["Code"])
    assert (joined.transforms, joined.source_headers) == (["gold: looked up"], [])


def test_a_staged_column_is_its_source_header() -> None:
    lineage = ColumnLineage(fields={"Class title ": [identity("Class title ", "the exact string in the file")]})
    title, row = with_lineage([column("Class title "), column("_source_row")], "staged", lineage, None)
    assert (title.source_headers, title.transforms) == (["Class title "], ["staged: the exact string in the file"])
    assert (row.source_headers, row.transforms) == ([], [])


def test_many_alike_origins_are_summed_up_per_layer() -> None:
    lines = [f"bronze: renamed from '{year}'" for year in range(2023, 2034)] + ["gold: unpivot: the cell"]
    assert len(set(lines)) > MAX_SHOWN
    assert merged(lines) == [
        "bronze: renamed from '2023'; likewise for 10 other source columns",
        "gold: unpivot: the cell",
    ]
    assert merged(["silver: trimmed", "silver: trimmed"]) == ["silver: trimmed"]


def test_a_declared_gold_table_gets_its_dictionary_entries() -> None:
    gold = table("dim_noc", "gold", [column("noc_code", source_headers=["from lineage"]), column("_batch_id")])
    documented = with_dictionary(gold)
    noc_code, batch = documented.columns
    assert noc_code.description_en.startswith("Code of a group of the National Occupational Classification")
    assert noc_code.description_fr.startswith("Code d'un groupe de la Classification nationale des professions")
    assert (noc_code.role, noc_code.source_headers) == ("key", ["Code - NOC 2021 V1.0"])
    assert noc_code.unit is not None and noc_code.unit.en.startswith("NOC 2021 code, 1 to 5 digits as text")
    assert (batch.role, bool(batch.description_fr)) == ("provenance", True)
    assert documented.publisher is not None and documented.publisher.en == "Statistics Canada"
    assert documented.licence is not None and documented.licence.en == "Open Government Licence - Canada"
    assert documented.edition is not None and documented.edition.en == "NOC 2021 Version 1.0"
    assert documented.owner == "team:workforce-data"
    assert documented.source_url == "https://www150.statcan.gc.ca/n1/en/catalogue/12-583-X"
    assert documented.purpose is not None and documented.business_purpose == documented.purpose.en


def test_a_column_the_dictionary_lacks_stays_undescribed_and_other_layers_are_left_alone() -> None:
    gold = with_dictionary(table("dim_noc", "gold", [column("median_salary")]))
    assert (gold.columns[0].description_en, gold.columns[0].description_fr) == ("", "")
    silver = table("dim_noc", "silver", [column("noc_code")])
    assert with_dictionary(silver) == silver


def test_an_undeclared_gold_column_says_only_what_is_known() -> None:
    gold = with_dictionary(table("salaries", "gold", [column("site_code", source_headers=["Site code"])]))
    site = gold.columns[0]
    assert (site.role, site.role_guessed, site.source_headers) == ("key", True, ["Site code"])
    assert site.description_en.startswith('Column "Site code" of a source file that is not declared')
    assert gold.publisher is None and gold.owner is None


def test_the_entry_a_transition_read_from() -> None:
    assert previous_layer_table("silver", ["silver/cops.parquet"]) == ("silver", "cops")
    assert previous_layer_table("bronze", ["bronze/cops/batch=cops-abc.parquet"]) == ("bronze", "cops")
    assert previous_layer_table("source", ["source/cops.csv"]) is None
    assert previous_layer_table("staged", ["staged/a.parquet", "staged/b.parquet"]) is None


def test_a_pipeline_run_records_every_gold_column_with_both_languages_and_its_transforms(
    config: DataRoot, run
) -> None:
    """The bundled sample: the declared table from the dictionary, the undeclared one from what can be known."""
    run(config)
    catalog = CatalogManager(config)
    gold = catalog.load_table_metadata("noc_unit_groups", Layer.GOLD.value)
    assert gold is not None and len(gold.columns) == 5 + len(PROVENANCE_COLUMNS)
    assert [c.name for c in gold.columns if not (c.description_en and c.description_fr)] == []
    code = next(c for c in gold.columns if c.name == "noc_code")
    assert code.transforms == [
        "staged: the exact string in the file",
        "bronze: renamed from 'Code - NOC 2021 V1.0'",
        "silver: trimmed, blank to null",
    ]
    assert gold.edition is not None and gold.edition.en == "Bundled sample"
    saved = json.loads(catalog.table_file("gold", "oasis_skills_sample").read_text("utf-8"))
    reading = next(c for c in saved["columns"] if c["name"] == "reading_comprehension")
    assert (reading["role"], reading["role_guessed"], reading["source_headers"]) == (
        "measure",
        True,
        ["Reading Comprehension"],
    )
    assert saved["purpose"] is None
