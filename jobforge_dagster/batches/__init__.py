"""Batches: one version of one source file. Opening one from the source (`opening`), the stamp each layer file
carries (`stamps`), the history kept beside each layer (`history`), the raw archive (`archive`), and what
"current" means (`versions`)."""
