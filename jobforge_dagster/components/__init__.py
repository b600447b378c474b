"""The code location's Dagster defs folder: each sub-folder's `defs.yaml` instantiates a Component."""
