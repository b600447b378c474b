"""`jobforge dev` started the way a script starts it in the background (SIGINT ignored) stops, with every process
it started, within seconds of one SIGTERM; plain `dagster dev` started the same way does not."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from jobforge_dagster.cli.services import service_command
from jobforge_dagster_tests.dagster_cli import BIN, DagsterCli

STOPPED_WITHIN = 20.0


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def started_in_the_background(cli: DagsterCli, command: list[str]) -> subprocess.Popen:
    """What `cmd &` in a non-interactive shell does: the program starts with SIGINT ignored."""
    return subprocess.Popen(
        command,
        cwd=cli.home,
        env=cli.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )


def group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs (a zombie no parent reaped does not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def seconds_to_stop(process: subprocess.Popen, port: int) -> float:
    """Wait for the webserver, SIGTERM the process alone, and time until its whole process group is gone."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        done = subprocess.run(["curl", "-sf", f"http://127.0.0.1:{port}/server_info"], capture_output=True)
        if done.returncode == 0:
            break
        time.sleep(1)
    else:
        pytest.fail("the webserver never answered")
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    while group_alive(process.pid) and time.monotonic() - started < STOPPED_WITHIN:
        time.sleep(0.5)
    return time.monotonic() - started


def test_the_default_command_loads_this_package_unless_told_otherwise() -> None:
    assert service_command("dev", ["-p", "3000"])[1:] == ["dev", "-m", "jobforge_dagster", "-p", "3000"]
    assert service_command("daemon", ["-f", "x.py"])[1:] == ["run", "-f", "x.py"]


@pytest.mark.parametrize("wrapped", [True, False], ids=["jobforge dev", "dagster dev"])
def test_a_background_dev_stops_on_sigterm_only_when_started_by_jobforge(tmp_path: Path, wrapped: bool) -> None:
    cli = DagsterCli.fresh(tmp_path / "home", tmp_path / "data")
    port = free_port()
    program = [str(BIN / "jobforge"), "dev"] if wrapped else [str(BIN / "dagster"), "dev", "-m", "jobforge_dagster"]
    process = started_in_the_background(cli, [*program, "-h", "127.0.0.1", "-p", str(port)])
    try:
        took = seconds_to_stop(process, port)
        if wrapped:
            assert not group_alive(process.pid), f"still running {took:.0f} s after SIGTERM"
        else:  # the problem `jobforge dev` solves: Dagster's processes outlive the signal
            assert group_alive(process.pid)
    finally:
        if group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
