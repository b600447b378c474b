"""The declarative source registry: which file feeds which table, and how each layer treats it."""

import codecs
import fnmatch
import logging
import re
from typing import Annotated, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from jobforge_dagster.layers import Layer
from jobforge_dagster.registry.names import table_name_for
from jobforge_dagster.registry.numbers import NumberFormat, ThousandsSeparator

LOG = logging.getLogger(__name__)

#: Longest table name: it is part of file names such as `catalog/checks/<table>--<table>-<12 hex>.json`.
MAX_TABLE_NAME = 64

#: A fixed-point decimal: `decimal(10,2)` keeps `42.50` as written (precision 1 to 38, scale at most the precision).
DECIMAL_TYPE = r"^decimal\(([1-9]|[12][0-9]|3[0-8]),([0-9]|[12][0-9]|3[0-8])\)$"
DecimalType = Annotated[str, StringConstraints(pattern=DECIMAL_TYPE)]
ColumnType = Literal["string", "int8", "int16", "int32", "int64", "float64", "boolean", "date"] | DecimalType

POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "int8": pl.Int8(),
    "int16": pl.Int16(),
    "int32": pl.Int32(),
    "int64": pl.Int64(),
    "float64": pl.Float64(),
    "boolean": pl.Boolean(),
    "date": pl.Date(),
}


def polars_type(name: str) -> pl.DataType:
    """The polars type of a registry type name (`int64`, `decimal(10,2)`)."""
    if name.startswith("decimal("):
        precision, scale = (int(part) for part in name.removeprefix("decimal(").removesuffix(")").split(","))
        return pl.Decimal(precision, scale)
    return POLARS_TYPES[name]


def fits_scale(name: str) -> bool:
    """True when the scale of `decimal(P,S)` is at most its precision."""
    precision, scale = name.removeprefix("decimal(").removesuffix(")").split(",")
    return int(scale) <= int(precision)


def safe_table_name(value: str) -> str:
    """`value` if it is a safe identifier of at most MAX_TABLE_NAME characters; a ValueError saying why not."""
    if table_name_for(value) != value:
        raise ValueError(f"table name {value!r} is not a safe identifier (try {table_name_for(value)!r})")
    if len(value) > MAX_TABLE_NAME:
        raise ValueError(f"table name {value[:20]!r}... is {len(value)} characters long (at most {MAX_TABLE_NAME})")
    return value


def regular_expression(value: str) -> str:
    """`value` if it is a valid regular expression; a ValueError saying why not."""
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"{value!r} is not a valid regular expression: {error}") from None
    return value


class SilverRule(BaseModel):
    """A row-level validation rule on one bronze column; failing rows go to quarantine."""

    model_config = ConfigDict(extra="forbid")

    column: str = Field(description="The bronze column the rule reads.", examples=["teer"])
    not_null: bool = Field(default=False, description="The value must be present.", examples=[True])
    pattern: str | None = Field(
        default=None, description="Regular expression the whole value must match.", examples=["\\d{5}"]
    )
    allowed: list[str] | None = Field(default=None, description="The only values allowed.", examples=[["0", "1"]])
    min: float | None = Field(default=None, description="Smallest value allowed (numeric columns).", examples=[0])
    max: float | None = Field(default=None, description="Largest value allowed (numeric columns).", examples=[5])

    _valid_pattern = field_validator("pattern")(lambda value: value if value is None else regular_expression(value))

    @property
    def name(self) -> str:
        parts = []
        if self.not_null:
            parts.append("not null")
        if self.pattern is not None:
            parts.append(f"matches {self.pattern}")
        if self.allowed is not None:
            parts.append(f"in {self.allowed}")
        if self.min is not None:
            parts.append(f">= {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        return f"{self.column} " + " and ".join(parts)


class Reference(BaseModel):
    """Values of `column` must exist in `<table>.<table_column>` of the gold layer."""

    model_config = ConfigDict(extra="forbid")

    column: str = Field(description="The column whose values must resolve.", examples=["noc_code"])
    table: str = Field(
        default="dim_noc", description="The gold table holding the allowed values.", examples=["dim_noc"]
    )
    table_column: str = Field(default="noc_code", description="Its column holding them.", examples=["noc_code"])

    _safe_table = field_validator("table")(safe_table_name)


class Range(BaseModel):
    """An inclusive published range."""

    model_config = ConfigDict(extra="forbid")

    min: float = Field(description="Smallest value published.", examples=[0])
    max: float = Field(description="Largest value published.", examples=[5])


class TableChecks(BaseModel):
    """Gold asset checks beyond the ones every table gets (provenance, key uniqueness, row reconciliation)."""

    model_config = ConfigDict(extra="forbid")

    code_formats: dict[str, str] = Field(
        default_factory=dict,
        description="Gold column -> regex every non-aggregate, non-null value must match.",
        examples=[{"noc_code": "\\d{5}"}],
    )
    ranges: dict[str, Range] = Field(
        default_factory=dict,
        description="Gold column -> inclusive published range.",
        examples=[{"rating": {"min": 0, "max": 5}}],
    )
    foreign_keys: list[Reference] = Field(
        default_factory=list, description="Gold columns that must resolve.", examples=[[{"column": "noc_code"}]]
    )

    @field_validator("code_formats")
    @classmethod
    def _valid_formats(cls, value: dict[str, str]) -> dict[str, str]:
        for pattern in value.values():
            regular_expression(pattern)
        return value


class TableSpec(BaseModel):
    """One table: the source file it comes from and what each layer does to it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        description="Table name: a safe SQL identifier, unique in the registry.", examples=["noc_structure"]
    )
    pattern: str = Field(
        description="Glob, relative to source/, matching exactly one source file.", examples=["noc_structure_en.csv"]
    )
    domain: str = Field(default="general", description="The asset group the table is shown in.", examples=["noc"])
    description: str = Field(default="", description="What one record is.", examples=["NOC 2021 unit groups."])
    business_purpose: str = Field(
        default="", description="What the table is for.", examples=["The occupation dimension other tables join to."]
    )
    encoding: str = Field(
        default="utf8",
        description="Source text encoding; another than UTF-8 is decoded to UTF-8 in staged.",
        examples=["cp1252"],
    )
    separator: str = Field(default=",", description="The field separator: one ASCII character.", examples=[";"])
    key_columns: list[str] = Field(
        default_factory=list, description="Bronze column names forming the key.", examples=[["noc_code"]]
    )
    renames: dict[str, str] = Field(
        default_factory=dict,
        description="Bronze renames: normalised -> new name.",
        examples=[{"code_noc_2021_v1_0": "noc_code"}],
    )
    types: dict[str, ColumnType] = Field(
        default_factory=dict,
        description="Bronze casts by column name or glob, the first matching entry wins: string, int8, int16, int32, "
        "int64, float64, boolean, date, or decimal(P,S) (a fixed-point decimal, kept as written).",
        examples=[{"teer": "int8", "col_20*": "int64", "salaire": "decimal(10,2)"}],
    )
    null_values: list[str] = Field(
        default_factory=list,
        description="Bronze: cells equal to one of these (trimmed) become null, counted.",
        examples=[["N/A", "N/D"]],
    )
    thousands_separator: str | None = Field(
        default=None, description="Bronze: removed before numeric casts (older spelling).", examples=[","]
    )
    decimal_mark: Literal[".", ","] = Field(
        default=".", description="Bronze: decimal mark of declared numeric columns.", examples=[","]
    )
    thousands_separators: list[ThousandsSeparator] = Field(
        default_factory=list,
        description="Bronze: separators allowed between groups of three digits in declared numeric columns "
        "(comma, point, space, U+00A0, U+202F, apostrophe).",
        examples=[[" ", "\u00a0", "\u202f"]],
    )
    pad_codes: dict[str, int] = Field(
        default_factory=dict,
        description="Silver: all-digit codes left-padded with zeros to this width.",
        examples=[{"noc_code": 5}],
    )
    decimal_codes: dict[str, str] = Field(
        default_factory=dict,
        description="Silver: restore decimal codes a spreadsheet shortened, format `5.2` (`10010` -> `10010.00`).",
        examples=[{"oasis_code": "5.2"}],
    )
    references: list[Reference] = Field(
        default_factory=list,
        description="Silver: rows whose value is not in the referenced gold table go to quarantine.",
        examples=[[{"column": "noc_code"}]],
    )
    rules: list[SilverRule] = Field(
        default_factory=list,
        description="Silver: row rules; a row failing one goes to quarantine with the reason.",
        examples=[[{"column": "noc_code", "not_null": True, "pattern": "\\d{5}"}]],
    )
    required_columns: list[str] = Field(
        default_factory=list,
        description="Bronze columns the file must have; one missing fails the run.",
        examples=[["noc_code"]],
    )
    schema_drift: Literal["warn", "fail"] = Field(
        default="warn",
        description="Columns added or removed since the last bronze: report (warn) or stop (fail).",
        examples=["fail"],
    )
    retention_batches: int | None = Field(
        default=None,
        ge=1,
        description="Batches kept per staged, bronze and silver table (none: keep all).",
        examples=[5],
    )
    archive: Literal["link", "copy", "off"] | None = Field(
        default=None,
        description="Raw archive of each batch's bytes: link, copy or off (none: $JOBFORGE_RAW_ARCHIVE).",
        examples=["copy"],
    )
    gold_name: str | None = Field(
        default=None, description="Name of the gold table (none: the table name).", examples=["dim_noc"]
    )
    gold_transform: str | None = Field(
        default=None, description="Name of a gold transform in transforms/gold.py.", examples=["cops_long"]
    )
    gold_key: list[str] | None = Field(
        default=None, description="Gold key columns (none: key_columns).", examples=[["noc_code", "year"]]
    )
    checks: TableChecks = Field(
        default_factory=TableChecks,
        description="Gold checks beyond those every table gets.",
        examples=[{"code_formats": {"noc_code": "\\d{5}"}, "ranges": {"teer": {"min": 0, "max": 5}}}],
    )
    declared: bool = Field(
        default=True,
        description="Set by JobForge: false for the table of a file no entry declares (leave it out).",
        examples=[True],
    )

    @field_validator("name", "gold_name")
    @classmethod
    def _safe_name(cls, value: str | None) -> str | None:
        return value if value is None else safe_table_name(value)

    @field_validator("pattern")
    @classmethod
    def _relative_glob(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/") or "\\" in value:
            raise ValueError(f"{value!r} must be a glob relative to source/ with `/` between folders, not leaving it")
        return value

    @field_validator("types", mode="before")
    @classmethod
    def _known_types(cls, value: object) -> object:
        if isinstance(value, dict):
            for column, name in value.items():
                if name not in POLARS_TYPES and not (isinstance(name, str) and re.match(DECIMAL_TYPE, name)):
                    known = ", ".join(POLARS_TYPES)
                    raise ValueError(f"{column}: unknown type {name!r} (one of {known}, or decimal(P,S))")
        return value

    @field_validator("separator")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if len(value) != 1 or not value.isascii() or value in '"\r\n':
            raise ValueError(f"separator must be one ASCII character other than a quote or a line break, not {value!r}")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            known = getattr(codecs.lookup(value), "_is_text_encoding", True)
        except LookupError:
            known = False
        if not known:
            raise ValueError(f"unknown text encoding {value!r} (e.g. utf8, windows-1252, latin-1)")
        return value

    @model_validator(mode="after")
    def _one_number_format(self) -> "TableSpec":
        if self.thousands_separator is not None and (self.thousands_separators or self.decimal_mark != "."):
            raise ValueError("thousands_separator is the older spelling of thousands_separators: use one of them")
        if self.decimal_mark in self.thousands_separators:
            raise ValueError(f"decimal_mark {self.decimal_mark!r} cannot also be one of the thousands_separators")
        if len(set(self.thousands_separators)) != len(self.thousands_separators):
            raise ValueError(f"thousands_separators lists a separator twice: {self.thousands_separators}")
        return self

    @field_validator("types")
    @classmethod
    def _decimal_scales(cls, value: dict[str, str]) -> dict[str, str]:
        bad = {column: name for column, name in value.items() if name.startswith("decimal(") and not fits_scale(name)}
        if bad:
            raise ValueError(f"a decimal's scale cannot exceed its precision: {bad}")
        return value

    @property
    def number_format(self) -> NumberFormat:
        """How declared numeric columns are written (`thousands_separator` is read by bronze as before)."""
        return NumberFormat(decimal_mark=self.decimal_mark, thousands_separators=tuple(self.thousands_separators))

    @field_validator("decimal_codes")
    @classmethod
    def _decimal_formats(cls, value: dict[str, str]) -> dict[str, str]:
        bad = {column: fmt for column, fmt in value.items() if not re.fullmatch(r"\d+\.\d+", fmt)}
        if bad:
            raise ValueError(f"decimal_codes formats must look like 5.2 (digits.decimals): {bad}")
        return value

    def decimal_code_formats(self) -> dict[str, tuple[int, int]]:
        return {column: tuple(int(part) for part in fmt.split(".")) for column, fmt in self.decimal_codes.items()}

    @property
    def gold_table(self) -> str:
        return self.gold_name or self.name

    def layer_table(self, layer: Layer) -> str:
        """The table's name in a layer: the gold name in gold, the table name elsewhere."""
        return self.gold_table if layer is Layer.GOLD else self.name

    @property
    def gold_key_columns(self) -> list[str]:
        return self.key_columns if self.gold_key is None else self.gold_key

    def matches(self, relative_path: str) -> bool:
        return fnmatch.fnmatchcase(relative_path, self.pattern)

    def resolve_types(self, columns: list[str]) -> dict[str, pl.DataType]:
        """Bronze column -> polars type by name or glob, first match wins; a pattern matching nothing is an error."""
        resolved: dict[str, pl.DataType] = {}
        used: set[str] = set()
        for column in columns:
            for pattern, name in self.types.items():
                if fnmatch.fnmatchcase(column, pattern):
                    used.add(pattern)
                    if name != "string":
                        resolved[column] = polars_type(name)
                    break
        unused = [pattern for pattern in self.types if pattern not in used]
        if unused:
            raise ValueError(f"types name columns the table does not have: {unused}; columns are {columns}")
        return resolved

    def referenced_tables(self) -> set[str]:
        return {ref.table for ref in self.references} | {ref.table for ref in self.checks.foreign_keys}
