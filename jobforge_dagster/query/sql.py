"""SQL text: quoting identifiers and literals, and the tables a statement names."""

import duckdb


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
