"""`jobforge`: the command line. Each command is a module of this package with `add_parser` and `run`; this
module builds the parser and dispatches.

    jobforge trace <gold_table> --where "<SQL predicate>" | --source source/<file> --line N
    jobforge add-source FILE [--name NAME] [--preview] [--write]
    jobforge check
    jobforge dev [dagster dev options]          the UI and the daemon; Ctrl-C, `kill -INT` or `kill` stops them
    jobforge daemon [dagster-daemon options]     the daemon alone (sensors, schedules, automation, run queue)

Every command reads `$JOBFORGE_DATA_ROOT` and `$JOBFORGE_SOURCE_ROOT` like the pipeline, and never creates a
folder under the data root.
"""

import argparse
import sys

from jobforge_dagster.cli import add_source, check, trace
from jobforge_dagster.cli.services import SERVICES, run_service
from jobforge_dagster.errors import ConfigurationError, QueryError, SourceDataError, TraceError

COMMANDS = {"trace": trace, "add-source": add_source, "check": check}
#: Errors a command reports in one line (exit status 2): bad input or an answer that cannot be given.
REPORTED = (TraceError, QueryError, SourceDataError, ConfigurationError, FileNotFoundError, ValueError)
SERVICE_HELP = {
    "dev": "Dagster's UI and daemon on this code location (dagster dev options follow); stops on SIGINT or SIGTERM",
    "daemon": "Dagster's daemon alone on this code location (dagster-daemon run options follow)",
}


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="jobforge", description="JobForge: governed gold tables and their lineage.")
    commands = main.add_subparsers(dest="command", required=True)
    for module in COMMANDS.values():
        module.add_parser(commands)
    for service, help_text in SERVICE_HELP.items():
        commands.add_parser(service, help=help_text, add_help=False)
    return main


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SERVICES:
        run_service(argv[0], argv[1:])
    arguments = parser().parse_args(argv)
    try:
        status, output = COMMANDS[arguments.command].run(arguments)
    except REPORTED as error:
        print(f"jobforge {arguments.command}: {error}", file=sys.stderr)
        return 2
    print(output)
    return status


if __name__ == "__main__":
    sys.exit(main())
