"""Generate a large NOC-like CSV for the benchmark: realistic widths, codes with leading zeros, duplicate keys.

python bench/generate.py OUT.csv [--rows 1000000]
"""

import argparse
from pathlib import Path

import polars as pl

TITLES = [
    ("Legislators", "Membres des corps législatifs"),
    ("Senior government managers and officials", "Cadres supérieurs/cadres supérieures - gouvernement"),
    ("Financial managers", "Directeurs financiers/directrices financières"),
    ("Data scientists", "Scientifiques des données"),
    (
        "Software developers and programmers",
        "Développeurs/développeuses et programmeurs/programmeuses de logiciels",
    ),
    ("Registered nurses and registered psychiatric nurses", "Infirmiers autorisés/infirmières autorisées"),
    ("Carpenters", "Charpentiers-menuisiers/charpentières-menuisières"),
    ("Food and beverage servers, bars", "Serveurs/serveuses d'aliments et de boissons"),
]
#: One row in this many repeats the code of the row before it (duplicate keys).
REPEAT_EVERY = 200


def generate(rows: int, offset: int = 0) -> pl.DataFrame:
    """Rows `offset` .. `offset + rows` of the deterministic benchmark table."""
    index = pl.int_range(offset, offset + rows, dtype=pl.Int64)
    code = (index.hash(2021) % 100_000).cast(pl.Int64)
    code = pl.when(index % REPEAT_EVERY == REPEAT_EVERY - 1).then(code.shift(1)).otherwise(code)
    pick = (index.hash(7) % len(TITLES)).cast(pl.Int64)
    english = {i: title for i, (title, _) in enumerate(TITLES)}
    french = {i: title for i, (_, title) in enumerate(TITLES)}
    frame = pl.select(code=code, pick=pick, employment=(index.hash(11) % 500_000))
    return frame.select(
        pl.col("code").cast(pl.String).str.zfill(5).alias("Code - NOC 2021 V1.0"),
        (pl.col("code").cast(pl.String).str.zfill(5) + ".0" + (pl.col("pick") % 3).cast(pl.String)).alias(
            "OaSIS profile code"
        ),
        pl.col("pick").replace_strict(english, return_dtype=pl.String).alias("Class title "),
        pl.col("pick").replace_strict(french, return_dtype=pl.String).alias("Titre de la classe"),
        (pl.col("code") // 1000 % 6).cast(pl.String).alias("TEER"),
        pl.col("employment").cast(pl.String).alias("Employment 2023"),
        pl.lit("Includes related occupations in the same unit group, e.g. supervisors; excludes managers").alias(
            "Description"
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    chunk = 1_000_000
    with open(args.out, "wb") as handle:
        for start in range(0, args.rows, chunk):
            generate(min(chunk, args.rows - start), offset=start).write_csv(handle, include_header=start == 0)
    print(f"{args.out}: {args.rows} rows, {args.out.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
