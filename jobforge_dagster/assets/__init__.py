"""Assets made from the source registry, and gold models across its tables."""

from jobforge_dagster.assets.medallion import medallion_assets
from jobforge_dagster.assets.models import oasis_attribute_dimension

__all__ = ["medallion_assets", "oasis_attribute_dimension"]
