"""Where a gold value came from (a gold row back to its source record) and where a source line went (forward to
gold): `tracer`, one record's trace (`record`), and the report (`report`)."""
