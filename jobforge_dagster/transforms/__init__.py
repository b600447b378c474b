"""Pure polars transforms, one module per layer: LazyFrame in, LazyFrame out, no Dagster."""
