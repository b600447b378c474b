"""OpenLineage: events mapped from JobForge's facts (`events`, `facets`), where they go (`transport`), and the
exporter a run owns (`exporter`)."""
