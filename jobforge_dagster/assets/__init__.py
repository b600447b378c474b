"""Assets made from the source registry."""

from jobforge_dagster.assets.medallion import medallion_assets

__all__ = ["medallion_assets"]
