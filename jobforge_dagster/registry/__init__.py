"""The source registry: what each table is (`spec`), the file that declares them (`file`, `sources.yaml`), and
the names JobForge reserves (`names`)."""
