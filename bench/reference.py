"""Minimal plain-Polars reference for the benchmark: the four layers' reads and writes, no orchestration.

For each source file: staged (every value a string, provenance columns), bronze (unique snake_case names),
silver (trimmed, blanks as null), gold (silver as is): four zstd parquet files with provenance, written
through a temporary file and renamed. It imports nothing of JobForge and skips what the registry declares
(validation, hashing, null tokens, casts, code repairs, rules, de-duplication, gold shapes): a lower bound.
bench/same_work.py is the other reference, JobForge's own transforms with no orchestration.

    python bench/reference.py SOURCE_DIR OUT_DIR
"""

import csv
import os
import re
import sys
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

LAYERS = ("staged", "bronze", "silver", "gold")


def unique_snake_case(headers: list[str]) -> list[str]:
    """The pipeline's header rule, restated here so the reference imports nothing but polars."""
    names: list[str] = []
    for position, header in enumerate(headers, start=1):
        folded = unicodedata.normalize("NFKD", header.strip())
        name = re.sub(r"[^0-9a-z]+", "_", "".join(c for c in folded if not unicodedata.combining(c)).lower()).strip("_")
        name = name or f"column_{position}"
        name = f"col_{name}" if name[0].isdigit() else name
        base, suffix = name, 2
        while name in names:
            name, suffix = f"{base}_{suffix}", suffix + 1
        names.append(name)
    return names


def write(frame: pl.LazyFrame, path: Path, layer: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    frame.with_columns(pl.lit(layer).alias("_layer")).sink_parquet(temporary, compression="zstd")
    os.replace(temporary, path)


def run(source_dir: Path, out: Path) -> None:
    for source in sorted(source_dir.glob("*.csv")):
        table = source.stem
        with open(source, encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle))
        staged = (
            pl.scan_csv(source, infer_schema=False, new_columns=header)
            .with_row_index("_source_row", offset=1)
            .with_columns(
                pl.lit(f"source/{source.name}").alias("_source_file"),
                pl.lit(datetime.now(UTC)).alias("_ingested_at"),
                pl.lit(table).alias("_batch_id"),
            )
        )
        write(staged, out / "staged" / f"{table}.parquet", "staged")
        frame = pl.scan_parquet(out / "staged" / f"{table}.parquet")
        write(
            frame.rename(dict(zip(header, unique_snake_case(header), strict=True))),
            out / "bronze" / f"{table}.parquet",
            "bronze",
        )
        frame = pl.scan_parquet(out / "bronze" / f"{table}.parquet")
        strings = [
            name for name, dtype in frame.collect_schema().items() if dtype == pl.String and not name.startswith("_")
        ]
        trimmed = pl.col(strings).str.strip_chars()
        write(
            frame.with_columns(pl.when(trimmed == "").then(None).otherwise(trimmed).name.keep()),
            out / "silver" / f"{table}.parquet",
            "silver",
        )
        write(pl.scan_parquet(out / "silver" / f"{table}.parquet"), out / "gold" / f"{table}.parquet", "gold")


if __name__ == "__main__":
    run(Path(sys.argv[1]), Path(sys.argv[2]))
