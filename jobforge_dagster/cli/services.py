"""`jobforge dev` and `jobforge daemon`: Dagster's UI with its daemon, or the daemon alone, on this code location,
started so that one SIGINT or SIGTERM stops every process they started within seconds, in the foreground or the
background.

A shell that starts a program in the background (`dagster dev &` in a script) makes it ignore SIGINT; `dagster
dev` then outlives SIGTERM for a minute and a SIGKILL leaves its webserver, daemon and code servers running.
These commands restore SIGINT before they become Dagster's own command (same process id: `kill $!` works).
"""

import os
import shutil
import signal
import sys
from pathlib import Path

#: Each service's Dagster program and verb.
SERVICES: dict[str, tuple[str, ...]] = {"dev": ("dagster", "dev"), "daemon": ("dagster-daemon", "run")}
#: Dagster's options that name the code to load; without one, the services load this package.
TARGET_OPTIONS = {"-m", "--module-name", "-f", "--python-file", "-w", "--workspace", "--working-directory", "-d"}


def program_path(program: str) -> str:
    """The Dagster program beside this Python (the same environment), else the one on PATH."""
    beside = Path(sys.executable).with_name(program)
    if beside.exists():
        return str(beside)
    found = shutil.which(program)
    if found is None:
        raise FileNotFoundError(f"{program} is not installed beside {sys.executable} nor on PATH")
    return found


def service_command(service: str, extra: list[str]) -> list[str]:
    """The command line of a service with the user's own options; `-m jobforge_dagster` unless they name code."""
    program, *verb = SERVICES[service]
    target = [] if TARGET_OPTIONS & set(extra) else ["-m", "jobforge_dagster"]
    return [program_path(program), *verb, *target, *extra]


def run_service(service: str, extra: list[str]) -> None:
    """Become the service (never returns), with SIGINT's default action restored."""
    command = service_command(service, extra)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execv(command[0], command)
