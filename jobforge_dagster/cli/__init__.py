"""`jobforge`: the command line for people who ask where a gold value came from, and who run the services.

    jobforge trace <gold_table> --where "<SQL predicate>" [--limit N] [--timeout SECONDS] [--json]
    jobforge trace --source source/<file> --line N [--timeout SECONDS] [--json]
    jobforge dev [dagster dev options]          the UI and the daemon; Ctrl-C, `kill -INT` or `kill` stops them
    jobforge daemon [dagster-daemon options]     the daemon alone (sensors, schedules, automation, run queue)

Reads `$JOBFORGE_DATA_ROOT` and `$JOBFORGE_SOURCE_ROOT` like the pipeline.
"""

import argparse
import sys

from jobforge_dagster.cli.services import SERVICES, run_service
from jobforge_dagster.errors import ConfigurationError, QueryError, TraceError
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.trace import tracer as tracing
from jobforge_dagster.trace.report import render
from jobforge_dagster.trace.tracer import Tracer

#: Seconds one query of a trace may take, unless `--timeout` says otherwise.
DEFAULT_TIMEOUT = 60.0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="jobforge", description="JobForge: governed gold tables and their lineage.")
    commands = main.add_subparsers(dest="command", required=True)
    trace = commands.add_parser("trace", help="where a gold row came from, or which gold rows a source line feeds")
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
    for service, help_text in SERVICE_HELP.items():
        commands.add_parser(service, help=help_text, add_help=False)
    return main


def run_trace(arguments: argparse.Namespace) -> str:
    reverse = arguments.source is not None or arguments.line is not None
    if reverse and (arguments.source is None or arguments.line is None or arguments.table is not None):
        raise TraceError("a reverse trace takes --source and --line, and no table")
    if not reverse and (arguments.table is None or arguments.where is None):
        raise TraceError("give a gold table and --where, or --source and --line")
    root = DataRoot.from_env()
    with GoldQueryEngine(root, timeout_seconds=arguments.timeout) as engine:
        tracer = Tracer(root, engine)
        if reverse:
            traces = tracer.trace_source(arguments.source, arguments.line)
        else:
            traces = tracer.trace(arguments.table, arguments.where, arguments.limit)
    if tracer.capped:
        most = tracing.MAX_TRACE_ROWS
        print(
            f"jobforge trace: more rows match; the first {most} are traced (a trace follows at most {most} rows)",
            file=sys.stderr,
        )
    return render(traces, arguments.json)


SERVICE_HELP = {
    "dev": "Dagster's UI and daemon on this code location (dagster dev options follow); stops on SIGINT or SIGTERM",
    "daemon": "Dagster's daemon alone on this code location (dagster-daemon run options follow)",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SERVICES:
        run_service(argv[0], argv[1:])
    arguments = parser().parse_args(argv)
    try:
        print(run_trace(arguments))
    except (TraceError, QueryError, ConfigurationError) as error:
        print(f"jobforge trace: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
