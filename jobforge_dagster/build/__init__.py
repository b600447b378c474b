"""One layer of one table built from the one before it, without Dagster: what each layer does (`steps`), the
named builders (`builders`), the write the IO manager asks for (`output`), and the OaSIS attribute model."""
