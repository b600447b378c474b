"""`jobforge trace`: where a gold row came from, or which gold rows a source line feeds.

    jobforge trace <gold_table> --where "<SQL predicate>" [--limit N] [--timeout SECONDS] [--json]
    jobforge trace --source source/<file> --line N [--timeout SECONDS] [--json]
"""

import argparse
import sys

from jobforge_dagster.errors import TraceError
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.trace import tracer as tracing
from jobforge_dagster.trace.report import render
from jobforge_dagster.trace.tracer import Tracer

NAME = "trace"
#: Seconds one query of a trace may take, unless `--timeout` says otherwise.
DEFAULT_TIMEOUT = 60.0


def add_parser(commands: argparse._SubParsersAction) -> None:
    trace = commands.add_parser(NAME, help="where a gold row came from, or which gold rows a source line feeds")
    trace.add_argument("table", nargs="?", help="a gold table, e.g. dim_noc")
    trace.add_argument("--where", help="SQL predicate over the gold table, e.g. \"noc_code = '21232'\"")
    trace.add_argument(
        "--limit", type=int, default=10, help=f"most rows to trace (default 10; at most {tracing.MAX_TRACE_ROWS})"
    )
    trace.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help=f"seconds a query may take (default {DEFAULT_TIMEOUT:g})"
    )
    trace.add_argument("--source", help="reverse: a source file, e.g. source/noc_structure_en.csv")
    trace.add_argument("--line", type=int, help="reverse: the physical line in that file (the header is line 1)")
    trace.add_argument("--json", action="store_true", help="print a JSON list instead of a report")


def run(arguments: argparse.Namespace, root: DataRoot) -> tuple[int, str]:
    """(exit status, what to print): the traces."""
    reverse = arguments.source is not None or arguments.line is not None
    if reverse and (arguments.source is None or arguments.line is None or arguments.table is not None):
        raise TraceError("a reverse trace takes --source and --line, and no table")
    if not reverse and (arguments.table is None or arguments.where is None):
        raise TraceError("give a gold table and --where, or --source and --line")
    if arguments.limit < 1:
        raise TraceError(f"--limit {arguments.limit}: give at least 1 row to trace")
    if not reverse and not arguments.where.strip():
        raise TraceError("--where is empty: give a SQL predicate, e.g. \"noc_code = '00010'\"")
    with GoldQueryEngine(root, timeout_seconds=arguments.timeout) as engine:
        tracer = Tracer(root, engine)
        if reverse:
            traces = tracer.trace_source(arguments.source, arguments.line, arguments.limit)
        else:
            traces = tracer.trace(arguments.table, arguments.where, arguments.limit)
    if tracer.capped:
        most = tracing.MAX_TRACE_ROWS
        print(
            f"jobforge trace: more rows match; the first {most} are traced (a trace follows at most {most} rows)",
            file=sys.stderr,
        )
    elif tracer.more:
        print(f"jobforge trace: more rows match; the first {len(traces)} are traced (--limit)", file=sys.stderr)
    return 0, render(traces, arguments.json)
