"""The source registry: what each table is (`spec`), the file that declares them (`file`, `sources.yaml`), the
number conventions an entry may declare (`numbers`), and the names JobForge reserves (`names`)."""
