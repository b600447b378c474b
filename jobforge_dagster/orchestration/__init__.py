"""The only place that imports Dagster: the component and assembly of the Definitions, every Dagster name
(`keys`), resources, the IO manager, display metadata, the assets, checks, sensors and automation."""
