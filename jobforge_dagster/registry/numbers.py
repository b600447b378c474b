"""Number conventions as the registry declares them: the decimal mark and the thousands separators allowed."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ThousandsSeparator = Literal[",", ".", " ", "\u00a0", "\u202f", "'"]
MARK_NAMES: dict[str, str] = {
    ",": "comma",
    ".": "point",
    " ": "space",
    "\u00a0": "no-break space (U+00A0)",
    "\u202f": "narrow no-break space (U+202F)",
    "'": "apostrophe",
}
DIGITS = "[0-9]"


class NumberFormat(BaseModel):
    """How numbers are written: the decimal mark, and the thousands separators allowed between groups of 3 digits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decimal_mark: Literal[".", ","] = "."
    thousands_separators: tuple[ThousandsSeparator, ...] = Field(
        default=(), description="Parsing accepts any of them; writing back groups with the first."
    )

    @model_validator(mode="after")
    def _distinct(self) -> "NumberFormat":
        if self.decimal_mark in self.thousands_separators:
            raise ValueError(f"the decimal mark {self.decimal_mark!r} cannot also be a thousands separator")
        if len(set(self.thousands_separators)) != len(self.thousands_separators):
            raise ValueError(f"thousands separators listed twice: {list(self.thousands_separators)}")
        return self

    @property
    def label(self) -> str:
        """`decimal comma, thousands space`, for reports."""
        marks = " or ".join(MARK_NAMES[separator] for separator in self.thousands_separators)
        return f"decimal {MARK_NAMES[self.decimal_mark]}, thousands {marks or 'not separated'}"

    def pattern(self, scale: int | None = None) -> str:
        """Regex of a number written under this format: an optional minus, digits (grouped by threes with a
        thousands separator, or not grouped), then the decimal mark and 1 to `scale` digits (0: none; None: any)."""
        whole = f"{DIGITS}+"
        if self.thousands_separators:
            marks = "".join(r"\." if mark == "." else mark for mark in self.thousands_separators)
            whole = f"(?:{DIGITS}+|{DIGITS}{{1,3}}(?:[{marks}]{DIGITS}{{3}})+)"
        mark = r"\." if self.decimal_mark == "." else ","
        decimals = "+" if scale is None else f"{{1,{scale}}}"
        fraction = "" if scale == 0 else f"(?:{mark}{DIGITS}{decimals})?"
        return f"^-?{whole}{fraction}$"


PLAIN = NumberFormat()
#: Conventions tried on an undeclared file, most usual first (one thousands separator each, so writing back is exact).
CONVENTIONS: tuple[NumberFormat, ...] = tuple(
    NumberFormat(decimal_mark=mark, thousands_separators=(separator,) if separator else ())
    for mark, separator in (
        (".", None),
        (".", ","),
        (",", None),
        (",", " "),
        (",", "\u00a0"),
        (",", "\u202f"),
        (",", "."),
        (".", "'"),
        (".", " "),
        (".", "\u00a0"),
        (".", "\u202f"),
        (",", "'"),
    )
)


