"""`jobforge`: the command line over a data root's gold tables, one module per command, and Dagster's services.

    jobforge tables [--lang fr] [--json]
    jobforge describe <gold_table> [--lang fr] [--json]
    jobforge query "<SELECT ...>" [--format table|csv|json]
    jobforge trace <gold_table> --where "<SQL predicate>" [--limit N] [--json]
    jobforge trace --source source/<file> --line N [--limit N] [--json]
    jobforge add-source FILE [--name NAME] [--preview] [--write] [--registry FILE_OR_NAME]
    jobforge check [--registry FILE_OR_NAME]
    jobforge dev [dagster dev options]          the UI and the daemon; Ctrl-C, `kill -INT` or `kill` stops them
    jobforge daemon [dagster-daemon options]     the daemon alone (sensors, schedules, automation, run queue)

Reads `$JOBFORGE_DATA_ROOT` and `$JOBFORGE_SOURCE_ROOT` like the pipeline and never creates a folder under the
data root. A refused request (bad SQL, an unknown table, a bad argument, a file that cannot be read) exits with
code 2 and the reason on standard error; `check`, and `add-source` whose preview would fail, exit with 1.
"""

import argparse
import os
import sys

from jobforge_dagster.cli import add_source, check, describe, query, tables, trace
from jobforge_dagster.cli.services import SERVICES, run_service
from jobforge_dagster.dictionary.model import DictionaryError
from jobforge_dagster.errors import ConfigurationError, QueryError, SourceDataError, TraceError
from jobforge_dagster.storage.data_root import DataRoot

COMMANDS = {module.NAME: module for module in (tables, describe, query, trace, add_source, check)}
#: Errors a command reports in one line (exit status 2): bad input or an answer that cannot be given.
REFUSED = (TraceError, QueryError, SourceDataError, ConfigurationError, DictionaryError, FileNotFoundError, ValueError)
SERVICE_HELP = {
    "dev": "Dagster's UI and daemon on this code location (dagster dev options follow); stops on SIGINT or SIGTERM",
    "daemon": "Dagster's daemon alone on this code location (dagster-daemon run options follow)",
}


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="jobforge", description="JobForge: governed gold tables and their lineage.")
    commands = main.add_subparsers(dest="command", required=True)
    for command in COMMANDS.values():
        command.add_parser(commands)
    for service, help_text in SERVICE_HELP.items():
        commands.add_parser(service, help=help_text, add_help=False)
    return main


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SERVICES:
        run_service(argv[0], argv[1:])
    arguments = parser().parse_args(argv)
    try:
        status, output = COMMANDS[arguments.command].run(arguments, DataRoot.from_env())
        print(output)
    except REFUSED as error:
        print(f"jobforge {arguments.command}: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `jobforge tables | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
