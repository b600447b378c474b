"""Silver -> gold: the business-ready table. By default the silver table itself."""

from collections.abc import Callable

import polars as pl

GoldTransform = Callable[[pl.LazyFrame], pl.LazyFrame]


def identity(silver: pl.LazyFrame) -> pl.LazyFrame:
    """Gold is the validated silver table."""
    return silver


#: Named gold transforms a registry entry may choose with `gold_transform:`.
GOLD_TRANSFORMS: dict[str, GoldTransform] = {"identity": identity}


def gold_transform(name: str | None) -> GoldTransform:
    if name is None:
        return identity
    try:
        return GOLD_TRANSFORMS[name]
    except KeyError:
        raise ValueError(f"unknown gold transform {name!r}; known: {sorted(GOLD_TRANSFORMS)}") from None
