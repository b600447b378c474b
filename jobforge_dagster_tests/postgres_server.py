"""A throwaway PostgreSQL server for tests and benchmarks: Debian's server binaries, a cluster in a temporary
folder owned by a non-root user, listening on 127.0.0.1 on a free port, stopped and removed at the end."""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PG_VERSIONS = Path("/usr/lib/postgresql")
OWNER = "postgres"  # initdb refuses to run as root
SUPERUSER = "postgres"
#: Settings for a disposable test cluster: nothing there needs to survive a power cut.
FAST = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")


def server_bin() -> Path | None:
    """The newest `/usr/lib/postgresql/<version>/bin` holding initdb and pg_ctl, if any."""
    found = [path / "bin" for path in PG_VERSIONS.glob("*") if (path / "bin" / "initdb").exists()]
    found = [path for path in found if (path / "pg_ctl").exists()]
    return max(found, key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0, default=None)


def unavailable() -> str | None:
    """Why a server cannot be started here, or None when it can."""
    if server_bin() is None:
        return f"no PostgreSQL server binaries under {PG_VERSIONS} (Debian: apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OWNER)
        except KeyError:
            return f"running as root and there is no '{OWNER}' user to own the cluster"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def as_owner(*command: str) -> list[str]:
    """The command run as the cluster's owner: `runuser -u postgres --` when running as root."""
    return ["runuser", "-u", OWNER, "--", *command] if os.geteuid() == 0 else list(command)


@dataclass(frozen=True)
class PostgresServer:
    folder: Path
    port: int
    host: str = "127.0.0.1"

    def env(self, database: str) -> dict[str, str]:
        """The DAGSTER_PG_* variables deploy/postgres/dagster.yaml reads, for one database."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": SUPERUSER,
            "DAGSTER_PG_PASSWORD": "unused",  # trust authentication ignores it
            "DAGSTER_PG_DB": database,
        }

    def connect(self, database: str = "postgres"):
        """A psycopg2 connection (autocommit) to one database."""
        import psycopg2

        connection = psycopg2.connect(host=self.host, port=self.port, user=SUPERUSER, dbname=database)
        connection.autocommit = True
        return connection

    def create_database(self, name: str) -> dict[str, str]:
        """Create an empty database; its DAGSTER_PG_* variables."""
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return self.env(name)


def _run(*command: str) -> None:
    done = subprocess.run(as_owner(*command), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")


@contextmanager
def throwaway_postgres(settings: tuple[str, ...] = FAST) -> Iterator[PostgresServer]:
    """Start a fresh cluster (`initdb -A trust`) on a free port; stop it and delete its folder at the end."""
    binaries = server_bin()
    if binaries is None:
        raise RuntimeError(unavailable())
    folder = Path(tempfile.mkdtemp(prefix="jobforge-pg-"))  # not under pytest's tmp_path: only root may enter it
    if os.geteuid() == 0:
        shutil.chown(folder, OWNER, OWNER)
    data, port = folder / "data", free_port()
    options = " ".join(["-c listen_addresses=127.0.0.1", f"-p {port}", f"-k {folder}", *settings])
    try:
        _run(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8", "--no-sync")
        _run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-o", options, "start")
        try:
            yield PostgresServer(folder, port)
        finally:
            _run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
