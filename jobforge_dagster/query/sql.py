"""SQL text: quoting identifiers and literals, and the tables a statement names."""

import duckdb

from jobforge_dagster.layers import BATCH_ID, INGESTED_AT, SOURCE_FILE


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def named_tables(sql: str) -> set[str]:
    """Lower-cased names of the tables a query reads.

    `duckdb.get_table_names` binds the query and fails on some valid ones (a join `USING` a column);
    then every identifier in the query counts, which can only over-count.
    """
    try:
        return {name.lower() for name in duckdb.get_table_names(sql, qualified=False)}
    except duckdb.Error:
        tokens = duckdb.tokenize(sql)
        ends = [start for start, _ in tokens[1:]] + [len(sql)]
        words = (
            sql[start:end].strip()
            for (start, kind), end in zip(tokens, ends, strict=True)
            if kind == duckdb.token_type.identifier
        )
        return {word[1:-1].replace('""', '"').lower() if word.startswith('"') else word.lower() for word in words}


def lineage_queries(view: str) -> tuple[str, str]:
    """The SQL of a gold view's lineage: rows per source file; its batches, first and last ingestion, row count."""
    per_file = f"SELECT {SOURCE_FILE} AS source_file, count(*) AS row_count FROM {view} GROUP BY 1 ORDER BY 1"
    summary = (
        f"SELECT list(DISTINCT {BATCH_ID} ORDER BY {BATCH_ID}) AS batches, min({INGESTED_AT}) AS first_ingested,"
        f" max({INGESTED_AT}) AS last_ingested, count(*) AS row_count FROM {view}"
    )
    return per_file, summary
