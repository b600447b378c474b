"""Wall time and peak resident memory of one command, taken by a small launcher process.

Linux carries a process's peak resident size across fork and exec: a command started by the bench, whose own
size grows as it reads results, would report at least the bench's peak. The launcher (this file, run with
`python -S`) is small, so what it reports is the command's own peak (with the children it waited for).
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO


def measured(
    command: list[str], env: dict[str, str] | None, cwd: Path | None, log: IO[bytes]
) -> tuple[float, float, int]:
    """Run `command` through the launcher, its output to `log`; (wall seconds, peak resident MB, exit code)."""
    with tempfile.NamedTemporaryFile("r", suffix=".measure") as result:
        launcher = [sys.executable, "-S", __file__, result.name, *command]
        ended = subprocess.run(launcher, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, check=False)
        figures = result.read().split()
    if not figures:
        raise RuntimeError(f"the launcher of {command[:4]} ended with {ended.returncode} and measured nothing")
    wall, peak_kb, code = figures
    return float(wall), int(peak_kb) / 1024, int(code)


def launch(result: str, command: list[str]) -> int:
    """Run `command`, write "wall peak_kb exit_code" to `result`; exit with the command's code."""
    started = time.perf_counter()
    try:
        process = subprocess.Popen(command)
    except OSError as error:  # not started: exit 127 as a shell would, the reason in the command's log
        print(f"{command[0]}: {error}", file=sys.stderr)
        Path(result).write_text("0 0 127\n")
        return 127
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    Path(result).write_text(f"{wall} {usage.ru_maxrss} {code}\n")
    return code


if __name__ == "__main__":
    sys.exit(launch(sys.argv[1], sys.argv[2:]))
