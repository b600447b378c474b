"""Latency case: from a file fully written into source/ to its rows queryable in gold, under a real daemon.

A fresh DAGSTER_HOME with the repository's dagster.yaml and workspace.yaml, the `new_source_files` sensor
started as a user starts it, `dagster-daemon run`; then files dropped one after another (copies of real files
under new names, then each changed), each timed from the end of its write to a GoldQueryEngine query that
counts the rows of its batch. `before` runs the same drops with the settings the sensor had before (30 s ticks,
a file taken only when unchanged over two ticks, Dagster's default dequeue interval).
"""

import hashlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REAL = (REPO / ".." / "shared" / "data" / "noc2021").resolve()
BIN = Path(sys.executable).parent
#: Real files copied in under new names: small ones, so the run itself is short and the wait is what is measured.
FILES = (
    "labels_oasis_2023_v1.0.csv",
    "interests_oasis_2023_v1.0.csv",
    "personal-attributes_oasis_2023_v1.0.csv",
    "exclusions_oasis_2023_v1.0.csv",
    "flmc_cfmt_2024_2033_noc2021.csv",
)
#: The sensor's settings before this case existed: 30 s ticks, and a settle time no file reaches (two ticks).
BEFORE_ENV = {"JOBFORGE_SENSOR_INTERVAL_SECONDS": "30", "JOBFORGE_SENSOR_SETTLE_SECONDS": "1000000"}
TIMEOUT = 240.0


@dataclass
class Drop:
    """One file written into source/: its table, whether it replaced an earlier version, and the seconds from
    the end of its write to its batch's rows answering a query."""

    table: str
    changed: bool
    seconds: float
    rows: int


def before_yaml(text: str) -> str:
    """dagster.yaml without its run_coordinator section (Dagster's default dequeue interval)."""
    start = text.find("run_coordinator:")
    if start < 0:
        return text
    end = text.find("\n", text.find("dequeue_interval_seconds", start))
    return text[:start] + text[end + 1 :]


def home_for(work: Path, before: bool) -> tuple[Path, dict[str, str]]:
    """A fresh DAGSTER_HOME and data root under `work`, and the environment of the daemon and the CLI."""
    if work.exists():
        shutil.rmtree(work)
    home, data = work / "home", work / "data"
    home.mkdir(parents=True)
    (data / "source").mkdir(parents=True)
    yaml_text = (REPO / "dagster.yaml").read_text()
    (home / "dagster.yaml").write_text(before_yaml(yaml_text) if before else yaml_text)
    shutil.copy(REPO / "workspace.yaml", home / "workspace.yaml")
    env = os.environ | {"DAGSTER_HOME": str(home), "JOBFORGE_DATA_ROOT": str(data)} | (BEFORE_ENV if before else {})
    for name in ("JOBFORGE_SOURCE_ROOT", "JOBFORGE_REGISTRY", *(() if before else BEFORE_ENV)):
        env.pop(name, None)
    return home, env


def first_tick(home: Path) -> bool:
    """Whether the daemon has saved the sensor's cursor (its first tick over the empty folder is done)."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home)  # dagster.yaml's folders resolve against it
    instance = dg.DagsterInstance.from_config(str(home))
    states = [state for state in instance.all_instigator_state() if state.name == "new_source_files"]
    return bool(states) and getattr(states[0].instigator_data, "cursor", None) is not None


def runs_launched(home: Path) -> int:
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home)
    return len(dg.DagsterInstance.from_config(str(home)).get_runs())


def wait(condition, timeout: float, what: str, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def batch_rows(data: Path, table: str, sha256: str) -> int:
    """Rows of the batch of these bytes that a gold query returns; 0 while gold does not hold it."""
    from jobforge_dagster.batches.stamps import batch_id_for, read_stamp
    from jobforge_dagster.query.engine import GoldQueryEngine
    from jobforge_dagster.storage.data_root import DataRoot

    try:
        if read_stamp(data / "gold" / f"{table}.parquet")[1] != sha256:
            return 0
    except (OSError, ValueError):
        return 0
    with GoldQueryEngine(DataRoot(data_root=str(data))) as engine:
        batch = batch_id_for(table, sha256)
        return int(engine.query(f"SELECT count(*) AS n FROM {table} WHERE _batch_id = '{batch}'")["n"][0])


def drop(data: Path, name: str, content: bytes, changed: bool) -> Drop:
    """Write `content` to source/<name>, then time until a gold query returns its batch's rows."""
    from jobforge_dagster.registry.names import table_name_for

    table, sha256 = table_name_for(Path(name).stem), hashlib.sha256(content).hexdigest()
    with open(data / "source" / name, "wb") as handle:
        handle.write(content)
    written = time.perf_counter()
    rows: list[int] = []
    wait(lambda: rows.append(batch_rows(data, table, sha256)) or rows[-1] > 0, TIMEOUT, f"{name} in gold")
    return Drop(table, changed, time.perf_counter() - written, rows[-1])


def contents(count: int) -> list[tuple[str, bytes, bool]]:
    """(name, bytes, changed) of `count` drops: each real file new under a new name, then each one changed (its
    last record removed), in turn."""
    originals = [(f"latency_{Path(name).stem}.csv", (REAL / name).read_bytes()) for name in FILES]
    new = [(name, content, False) for name, content in originals]
    changed = [(name, content[: content.rstrip(b"\r\n").rfind(b"\n") + 1], True) for name, content in originals]
    return (new + changed)[:count]


def measure(work: Path, count: int, before: bool = False, seed: int = 22) -> tuple[list[Drop], int]:
    """(the drops, runs launched) under a daemon on the repository's settings (or the former ones)."""
    home, env = home_for(work, before)
    command = [str(BIN / "dagster"), "sensor", "start", "new_source_files", "-w", "workspace.yaml"]
    subprocess.run(command, cwd=home, env=env, check=True, capture_output=True, timeout=300)
    data, shuffle = Path(env["JOBFORGE_DATA_ROOT"]), random.Random(seed)
    with open(home / "daemon.log", "w") as log:
        daemon = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=home,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait(lambda: first_tick(home), 300, "the sensor's first tick", every=1.0)
            drops = []
            for name, content, changed in contents(count):
                time.sleep(shuffle.uniform(0, 5))  # a drop at any point of the tick cycle
                drops.append(drop(data, name, content, changed))
            time.sleep(8)  # a tick or two more: no second run for any drop
            return drops, runs_launched(home)
        finally:
            os.killpg(daemon.pid, 15)
            daemon.wait(timeout=60)


def latency_lines(drops: list[Drop], runs: int, label: str) -> list[str]:
    seconds = [drop.seconds for drop in drops]
    return [
        f"| {label} | {len(drops)} | {statistics.median(seconds):.1f} | {max(seconds):.1f} | {runs} | "
        + ", ".join(f"{drop.seconds:.1f}{'*' if drop.changed else ''}" for drop in drops)
        + " |"
    ]
