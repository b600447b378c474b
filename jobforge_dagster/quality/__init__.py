"""Data quality: rules over a gold file (`rules`), the pure checks they run (`checks`), their typed outcomes
(`outcome`), and evaluating and recording them (`evaluation`)."""
