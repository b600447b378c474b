"""The dagster CLI as a user runs it: the executables beside this Python, a fresh DAGSTER_HOME holding the
repository's dagster.yaml, and a JobForge data root. Shared by the CLI, daemon and crash tests and by
scripts/ui_screenshots.py."""

import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg

REPO = Path(__file__).resolve().parents[1]


def dagster_bin() -> Path:
    """The folder holding the `dagster` executable: beside this Python, else the repository's .venv."""
    beside = Path(sys.executable).parent
    return beside if (beside / "dagster").exists() else REPO / ".venv" / "bin"


BIN = dagster_bin()


@dataclass
class DagsterCli:
    home: Path
    data_root: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def fresh(cls, home: Path, data_root: Path, **extra_env: str) -> "DagsterCli":
        """A new DAGSTER_HOME at `home` with the repository's dagster.yaml and workspace.yaml."""
        home.mkdir(parents=True, exist_ok=True)
        for name in ("dagster.yaml", "workspace.yaml"):
            shutil.copy(REPO / name, home / name)
        return cls(home, data_root, extra_env)

    @property
    def env(self) -> dict[str, str]:
        env = os.environ | {"DAGSTER_HOME": str(self.home), "JOBFORGE_DATA_ROOT": str(self.data_root)}
        for name in ("JOBFORGE_SOURCE_ROOT", "JOBFORGE_REGISTRY"):  # each test says where its data is
            env.pop(name, None)
        return env | self.extra_env

    def command(self, program: str, *args: str) -> list[str]:
        return [str(BIN / program), *args]

    def run(
        self, *args: str, program: str = "dagster", timeout: float = 300, cwd: Path | None = None
    ) -> subprocess.CompletedProcess:
        """Run a CLI command to its end (in DAGSTER_HOME unless `cwd` is given)."""
        return subprocess.run(
            self.command(program, *args),
            cwd=cwd or self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str, program: str = "dagster", log: IO | int | None = None) -> subprocess.Popen:
        """Start a long-running command (dagster dev, dagster-daemon) in its own process group."""
        output = log if log is not None else subprocess.DEVNULL
        return subprocess.Popen(
            self.command(program, *args),
            cwd=self.home,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT if log is not None else subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def job_execute(self, *extra: str) -> subprocess.Popen:
        """`dagster job execute -m jobforge_dagster -j medallion_pipeline [extra...]`, started."""
        return self.start("job", "execute", "-m", "jobforge_dagster", "-j", "medallion_pipeline", *extra)

    def instance(self) -> "dg.DagsterInstance":
        """The instance the CLI uses: dagster.yaml's folders resolve against DAGSTER_HOME, set while it opens."""
        import dagster as dg

        before = os.environ.get("DAGSTER_HOME")
        os.environ["DAGSTER_HOME"] = str(self.home)
        try:
            return dg.DagsterInstance.from_config(str(self.home))
        finally:
            if before is None:
                del os.environ["DAGSTER_HOME"]
            else:
                os.environ["DAGSTER_HOME"] = before


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group, then SIGKILL it if it has not ended within 30 s."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
