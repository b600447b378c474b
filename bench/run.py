"""JobForge benchmark: the pipeline against plain Polars and plain DuckDB, side by side.

    python bench/run.py [--runs 3] [--rows 1000000] [--cases real,large,query,sensor,latency] [--write BENCHMARKS.md]

Cases (medians over --runs, each a fresh data root and a fresh DAGSTER_HOME):
  1. real data: the 32 files of ../shared/data/noc2021, `dagster job execute ... medallion_pipeline` as a
     whole process, against two references with no orchestration: bench/reference.py (minimal plain Polars:
     generic normalisation only, imports nothing of JobForge) and bench/same_work.py (JobForge's transforms
     in a loop; its files are checked equal to the pipeline's); plus Dagster alone (bench/floor.py: the same
     graph shape, no work), the floor of any run, and the pipeline with Dagster's stock sqlite event log, to
     show what the pooled one saves;
  2. one large generated NOC-like CSV (bench/generate.py, --rows): wall time and peak resident memory of
     each child process, from the operating system (wait4), against the same two references;
  3. gold queries: the README's queries on the real gold, and two scans of the large gold, through
     GoldQueryEngine against the same SQL in plain DuckDB over the same parquet files;
  4. one tick of the new_source_files sensor over a source/ folder of 10,000 unchanged files;
  5. nochange: the real files run again with no byte changed, against Dagster's floor for the same graph;
  6. postgres: the 32 real files on deploy/postgres/dagster.yaml (a throwaway local PostgreSQL server, default
     durability settings) against the default pooled sqlite instance, each in process and with
     `multiprocess: {max_concurrent: 2}` in run config;
  7. deploy: in one session, the 32 real files on sqlite in process, PostgreSQL in process, PostgreSQL with
     `max_concurrent: 2`, and the same with data root and sources on S3 (moto_server on loopback);
  8. latency: a real `dagster-daemon` on the repository's settings, 10 files dropped into source/ one after
     another (bench/latency.py), each timed from the end of its write to its rows answering a gold query;
     --latency-before also runs it with the former sensor settings (30 s ticks, two stable ticks); with
     --write, the README's sentence on latency is rewritten with the figures measured;
  9. scale (only when named: `--cases scale --scale-n 320`): N tables made of copies of the real files, half
     declared, JobForge against Dagster's floor for the same N (bench/scale.py); writes docs/benchmarks/scale.png.
"""

import argparse
import datetime
import functools
import itertools
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from measure import measured

REPO = Path(__file__).resolve().parents[1]
REAL = (REPO / ".." / "shared" / "data" / "noc2021").resolve()
OUT = REPO / "bench" / "out"
BIN = Path(sys.executable).parent
TARGETS = {
    "governance": 1.25,
    "real": 8.0,
    "large_time": 1.3,
    "large_memory": 1.5,
    "query": 1.1,
    "sensor_seconds": 1.0,
    "nochange": 1.3,
    "latency_median": 15.0,
    "latency_worst": 30.0,
}
STOCK_EVENT_LOG = "  module: dagster._core.storage.event_log\n  class: SqliteEventLogStorage\n"


def child(command: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak resident MB) of that command alone."""
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: a full pipe would block the child
        wall, peak_mb, code = measured(command, env, cwd, log)
        if code != 0:
            log.seek(0)
            raise RuntimeError(f"{command[:4]} failed: {log.read().decode(errors='replace')[-3000:]}")
    return wall, peak_mb


def pipeline(
    source: Path,
    work: Path,
    dagster_yaml: str | None = None,
    code: tuple[str, ...] = ("-m", "jobforge_dagster"),
    env: dict[str, str] | None = None,
) -> tuple[float, float]:
    """`dagster job execute` of `code` on `source` (with `env` added), fresh data root and instance under `work`."""
    if work.exists():
        shutil.rmtree(work)
    home = work / "home"
    home.mkdir(parents=True)
    yaml_text = (REPO / "dagster.yaml").read_text()
    if dagster_yaml == "stock":
        yaml_text = re.sub(
            r"event_log_storage:\n  module: jobforge_instance\n  class: PooledSqliteEventLogStorage\n",
            "event_log_storage:\n" + STOCK_EVENT_LOG,
            yaml_text,
        )
    (home / "dagster.yaml").write_text(yaml_text)
    return execute(source, work, code, env)


def execute(
    source: Path, work: Path, code: tuple[str, ...] = ("-m", "jobforge_dagster"), env: dict[str, str] | None = None
) -> tuple[float, float]:
    """`dagster job execute` again on the data root and instance `pipeline` prepared under `work`."""
    env = (
        os.environ
        | (env or {})
        | {
            "DAGSTER_HOME": str(work / "home"),
            "JOBFORGE_DATA_ROOT": str(work / "data"),
            "JOBFORGE_SOURCE_ROOT": str(source),
            "JOBFORGE_REGISTRY": "noc2021" if source == REAL else "sample",
        }
    )
    command = [str(BIN / "dagster"), "job", "execute", *code, "-j", "medallion_pipeline"]
    return child(command, env=env, cwd=work / "home")


def file_states(root: Path) -> dict[str, tuple[int, int, int]]:
    """(inode, size, mtime) of every file under a data root."""
    return {
        str(path): (path.stat().st_ino, path.stat().st_size, path.stat().st_mtime_ns)
        for path in root.rglob("*")
        if path.is_file()
    }


def reference(source: Path, work: Path, script: str = "reference.py") -> tuple[float, float]:
    """bench/reference.py (minimal plain Polars) or bench/same_work.py (JobForge's transforms, no orchestration)."""
    if work.exists():
        shutil.rmtree(work)
    env = os.environ | {"JOBFORGE_REGISTRY": "noc2021" if source == REAL else "sample"}
    return child([sys.executable, str(REPO / "bench" / script), str(source), str(work)], env=env)


def same_outputs(same_work: Path, data_root: Path) -> int:
    """Every layer file same_work.py wrote equals the pipeline's, cell for cell (`_ingested_at` aside)."""
    import polars as pl
    from polars.testing import assert_frame_equal

    files = sorted(same_work.glob("*/*.parquet"))
    for path in files:
        relative = path.relative_to(same_work)
        ours = pl.read_parquet(data_root / relative).drop("_ingested_at")
        assert_frame_equal(pl.read_parquet(path).drop("_ingested_at"), ours, check_column_order=True)
    return len(files)


def medians(runs: int, measure: Callable[[int], tuple[float, float]]) -> tuple[float, float, list[float]]:
    results = [measure(i) for i in range(runs)]
    walls = [wall for wall, _ in results]
    return statistics.median(walls), max(rss for _, rss in results), walls


def query_timings(data_root: Path, queries: list[str], repeats: int) -> list[tuple[str, float, float]]:
    """Median seconds per query: GoldQueryEngine, then plain DuckDB on the same files."""
    import duckdb

    from jobforge_dagster.query.engine import GoldQueryEngine
    from jobforge_dagster.query.sql import quote_identifier, quote_literal
    from jobforge_dagster.storage.data_root import DataRoot

    gold = data_root / "gold"
    plain = duckdb.connect()
    for path in sorted(gold.glob("*.parquet")):
        plain.execute(
            f"CREATE VIEW {quote_identifier(path.stem)} AS SELECT * FROM read_parquet({quote_literal(str(path))})"
        )
    rows = []
    with GoldQueryEngine(DataRoot(data_root=str(data_root))) as engine:
        for sql in queries:
            engine.query(sql), plain.sql(sql).pl()  # warm both: file cache, parquet metadata
            ours, theirs = [], []
            for _ in range(repeats):
                started = time.perf_counter()
                engine.query(sql)
                ours.append(time.perf_counter() - started)
                started = time.perf_counter()
                plain.sql(sql).pl()
                theirs.append(time.perf_counter() - started)
            rows.append((" ".join(sql.split())[:70], statistics.median(ours), statistics.median(theirs)))
    return rows


def sensor_tick(files: int = 10_000) -> float:
    """Seconds for one tick over `files` unchanged files (after the ticks that first handle them)."""
    import dagster as dg

    from jobforge_dagster.orchestration.assembly import build_definitions
    from jobforge_dagster.orchestration.sensor_cursor import SourceCursor, handled, plan_tick
    from jobforge_dagster.sources.scan import scan_source
    from jobforge_dagster.storage.data_root import DataRoot

    with tempfile.TemporaryDirectory() as scratch:
        config = DataRoot(data_root=str(Path(scratch) / "data"))
        defs = build_definitions(config)  # built before the files arrive: they are new to it
        folder = config.source_dir()
        folder.mkdir(parents=True)
        for index in range(files):
            (folder / f"unchanged_{index:05d}.csv").write_text("Code,Title\n00010,Legislators\n")
        sensor = defs.resolve_sensor_def("new_source_files")
        instance = dg.DagsterInstance.ephemeral()
        # Every file handled already (each would get its own run, 50 per tick): the cursor those ticks leave.
        ready, handled_all = plan_tick(scan_source(folder), plan_tick(scan_source(folder), SourceCursor())[1])
        for file in ready:
            handled(handled_all, file)
        cursor, seconds = handled_all.model_dump_json(), []
        for _ in range(4):
            with dg.build_sensor_context(
                instance=instance, cursor=cursor, definitions=defs, resources=defs.resources
            ) as context:
                started = time.perf_counter()
                result = sensor.evaluate_tick(context)
                seconds.append(time.perf_counter() - started)
            cursor = result.cursor
        assert len(cursor) < 200, "the cursor grew with the folder"
        return seconds[-1]


def machine() -> str:
    memory = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    gib = int(memory.split()[1]) / 1024 / 1024
    import dagster
    import duckdb
    import polars

    return (
        f"{os.cpu_count()} cores, {gib:.0f} GiB, {platform.machine()}, Python {platform.python_version()}, "
        f"dagster {dagster.__version__}, polars {polars.__version__}, duckdb {duckdb.__version__}"
    )


def verdict(value: float, target: float) -> str:
    return "meets" if value <= target else "MISSES"


def real_case(args: argparse.Namespace) -> list[str]:
    """Case 1: the 32 real files, the pipeline against both references and Dagster's floor."""
    real_ref = medians(args.runs, lambda i: reference(REAL, OUT / "ref-real"))
    real_same = medians(args.runs, lambda i: reference(REAL, OUT / "same-real", "same_work.py"))
    real_pipe = medians(args.runs, lambda i: pipeline(REAL, OUT / "pipe-real"))
    floor = medians(args.runs, lambda i: pipeline(REAL, OUT / "floor", code=("-f", str(REPO / "bench" / "floor.py"))))
    compared = same_outputs(OUT / "same-real", OUT / "pipe-real" / "data")
    ratio, same_ratio = real_pipe[0] / real_ref[0], real_pipe[0] / real_same[0]
    governance = (real_pipe[0] - floor[0]) / real_same[0]
    target = TARGETS["real"]

    def row(name: str, result: tuple[float, float, list[float]], ratio_text: str) -> str:
        walls = ", ".join(f"{w:.2f}" for w in result[2])
        return f"| {name} | {result[0]:.2f} | {walls} | {result[1]:.0f} | {ratio_text} |"

    lines = [
        "## 1. Real data: 32 files, source to gold, whole process",
        "",
        "| run | median wall s | all runs s | peak RSS MB | pipeline's ratio to it |",
        "| --- | ---: | --- | ---: | ---: |",
        row(
            "plain-Polars reference (`bench/reference.py`)",
            real_ref,
            f"{ratio:.2f} ({verdict(ratio, target)} ≤ {target:g})",
        ),
        row(
            "same work, no orchestration (`bench/same_work.py`)",
            real_same,
            f"{same_ratio:.2f} ({verdict(same_ratio, target)} ≤ {target:g})",
        ),
        row("pipeline (`dagster job execute`)", real_pipe, "1.00"),
        row("Dagster alone: the same graph, no work (`bench/floor.py`)", floor, ""),
    ]
    if not args.skip_stock:
        stock = medians(args.runs, lambda i: pipeline(REAL, OUT / "pipe-stock", "stock"))
        lines.append(row("pipeline, Dagster's stock sqlite event log", stock, ""))
    lines += [
        "",
        f"`same_work.py`'s {compared} layer files equal the pipeline's cell for cell (`_ingested_at` aside).",
        "",
        f"Governance and the work against the work alone: (pipeline − floor) / same work = "
        f"({real_pipe[0]:.2f} − {floor[0]:.2f}) / {real_same[0]:.2f} = **{governance:.2f}** "
        f"({verdict(governance, TARGETS['governance'])} ≤ {TARGETS['governance']:g}).",
        "",
    ]
    return lines


def nochange_case(args: argparse.Namespace) -> list[str]:
    """Case 5: the real files run again with no byte changed, against Dagster's floor for the same graph."""
    work = OUT / "pipe-nochange"
    pipeline(REAL, work)  # the first run loads everything; the measured runs find every table current
    before = file_states(work / "data")
    floor_code = ("-f", str(REPO / "bench" / "floor.py"))
    frozen = {"JOBFORGE_FLOOR_FREEZE_AT_EXIT": "1"}
    triples = [
        (
            execute(REAL, work),
            pipeline(REAL, OUT / "floor", code=floor_code),
            pipeline(REAL, OUT / "floor-frozen", code=floor_code, env=frozen),
        )
        for _ in range(args.runs)
    ]  # each no-change run beside the floor runs: a shared machine's speed drifts between minutes
    again, floor, floor_frozen = (medians(args.runs, lambda i, side=side: triples[i][side]) for side in (0, 1, 2))
    changed = sum(1 for name, state in file_states(work / "data").items() if before.get(name) != state)
    ratio, ratio_frozen = again[0] / floor[0], again[0] / floor_frozen[0]

    def row(name: str, result: tuple[float, float, list[float]]) -> str:
        return f"| {name} | {result[0]:.2f} | {', '.join(f'{wall:.2f}' for wall in result[2])} | {result[1]:.0f} |"

    return [
        "## 5. No change: the real files again, every table current",
        "",
        "| run | median wall s | all runs s | peak RSS MB |",
        "| --- | ---: | --- | ---: |",
        row("pipeline over unchanged sources", again),
        row("Dagster alone: the same graph, no work (`bench/floor.py`)", floor),
        row("Dagster alone, its objects frozen at exit as JobForge's code location does", floor_frozen),
        "",
        f"No-change run against the floor: **{ratio:.2f}** ({verdict(ratio, TARGETS['nochange'])} ≤ "
        f"{TARGETS['nochange']:g}); against the floor frozen at exit: **{ratio_frozen:.2f}** "
        f"({verdict(ratio_frozen, TARGETS['nochange'])} ≤ {TARGETS['nochange']:g}); files under the data root "
        f"added, replaced or rewritten by the {args.runs} no-change runs: **{changed}** (lock files included).",
        "",
    ]


def large_case(args: argparse.Namespace) -> list[str]:
    """Case 2: one large generated CSV, wall time and peak memory against both references."""
    large_dir = OUT / f"large-{args.rows}"
    large_csv = large_dir / "noc_large.csv"
    if not large_csv.exists():
        subprocess.run(
            [sys.executable, str(REPO / "bench" / "generate.py"), str(large_csv), "--rows", str(args.rows)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    size_mb = large_csv.stat().st_size / 1e6
    large_ref = medians(args.runs, lambda i: reference(large_dir, OUT / "ref-large"))
    large_same = medians(args.runs, lambda i: reference(large_dir, OUT / "same-large", "same_work.py"))
    shutil.rmtree(OUT / "same-large")
    large_pipe = medians(args.runs, lambda i: pipeline(large_dir, OUT / "pipe-large"))
    lines = [
        f"## 2. One large CSV: {args.rows:,} rows, {size_mb:.0f} MB",
        "",
        "| run | median wall s | peak RSS MB | pipeline's time ratio | pipeline's memory ratio |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, (wall, rss, _) in (("plain-Polars reference", large_ref), ("same work, no orchestration", large_same)):
        time_ratio, memory_ratio = large_pipe[0] / wall, large_pipe[1] / rss
        lines.append(
            f"| {name} | {wall:.2f} | {rss:.0f} "
            f"| {time_ratio:.2f} ({verdict(time_ratio, TARGETS['large_time'])} ≤ {TARGETS['large_time']:g}) "
            f"| {memory_ratio:.2f} ({verdict(memory_ratio, TARGETS['large_memory'])} ≤ {TARGETS['large_memory']:g}) |"
        )
    return [*lines, f"| pipeline | {large_pipe[0]:.2f} | {large_pipe[1]:.0f} | 1.00 | 1.00 |", ""]


def query_case(args: argparse.Namespace) -> list[str]:
    """Case 3: the documented queries (README and docs/) on the real gold and two scans of the large gold,
    against plain DuckDB."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    real_queries = [sql for page in pages for sql in re.findall(r"```sql\n(.*?)```", page.read_text(), flags=re.DOTALL)]
    large_queries = [
        "SELECT teer, count(*) AS n, sum(CAST(employment_2023 AS BIGINT)) AS jobs "
        "FROM noc_large GROUP BY teer ORDER BY teer",
        "SELECT code_noc_2021_v1_0, count(*) AS n FROM noc_large "
        "GROUP BY 1 HAVING count(*) > 1 ORDER BY n DESC LIMIT 20",
    ]
    timings = query_timings(OUT / "pipe-real" / "data", real_queries, 20)
    timings += query_timings(OUT / "pipe-large" / "data", large_queries, 10)
    lines = [
        "## 3. Gold queries: GoldQueryEngine against plain DuckDB on the same parquet",
        "",
        "| query | engine ms | plain DuckDB ms | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    for sql, ours, theirs in timings:
        lines.append(
            f"| `{sql}` | {ours * 1000:.1f} | {theirs * 1000:.1f} | {ours / theirs:.2f} "
            f"({verdict(ours / theirs, TARGETS['query'])} ≤ {TARGETS['query']:g}) |"
        )
    return [*lines, ""]


def sensor_case(args: argparse.Namespace) -> list[str]:
    """Case 4: one sensor tick over 10,000 unchanged files."""
    tick = sensor_tick()
    return [
        "## 4. Sensor tick over 10,000 unchanged files",
        "",
        f"One `new_source_files` tick: {tick * 1000:.0f} ms ({verdict(tick, TARGETS['sensor_seconds'])} < 1 s).",
        "",
    ]


EXECUTION = {
    "in process": "execution:\n  config:\n    in_process: {}\n",
    "multiprocess, max_concurrent 2": "execution:\n  config:\n    multiprocess:\n      max_concurrent: 2\n",
}


def configured_run(
    work: Path, dagster_yaml: Path, run_config: str, env: dict[str, str], roots: dict[str, str] | None = None
) -> tuple[float, float]:
    """`dagster job execute ... -c run_config.yaml` on the real files with this dagster.yaml, all fresh under `work`
    (`roots` may set JOBFORGE_DATA_ROOT and JOBFORGE_SOURCE_ROOT elsewhere, e.g. on S3)."""
    if work.exists():
        shutil.rmtree(work)
    home = work / "home"
    home.mkdir(parents=True)
    shutil.copy(dagster_yaml, home / "dagster.yaml")
    (work / "run_config.yaml").write_text(run_config)
    env = os.environ | env | {"DAGSTER_HOME": str(home), "JOBFORGE_DATA_ROOT": str(work / "data")}
    env["JOBFORGE_SOURCE_ROOT"], env["JOBFORGE_REGISTRY"] = str(REAL), "noc2021"
    env |= roots or {}
    command = [str(BIN / "dagster"), "job", "execute", "-m", "jobforge_dagster", "-j", "medallion_pipeline"]
    return child([*command, "-c", str(work / "run_config.yaml")], env=env, cwd=home)


def instance_runs(runs: int, dagster_yaml: Path, run_config: str, new_database: Callable[[], dict[str, str]]) -> str:
    """Medians of `runs` configured runs, each on a new database; a table row's figures."""
    wall, _, walls = medians(runs, lambda i: configured_run(OUT / "instance", dagster_yaml, run_config, new_database()))
    return f"{wall:.2f} | {', '.join(f'{w:.2f}' for w in walls)}"


def postgres_case(args: argparse.Namespace) -> list[str]:
    """Case 6: the real files on the PostgreSQL instance against the pooled sqlite one, in process and multiprocess."""
    sys.path.insert(0, str(REPO))
    from jobforge_dagster_tests.postgres_server import throwaway_postgres, unavailable

    lines = ["## 6. Instance storage and executor: 32 real files, `dagster job execute -c run_config.yaml`", ""]
    if reason := unavailable():
        return [*lines, f"Skipped: {reason}.", ""]
    lines += ["| instance | executor | median wall s | all runs s |", "| --- | --- | ---: | --- |"]
    databases = itertools.count()
    with throwaway_postgres(settings=()) as server:
        instances = {
            "PostgreSQL": (
                REPO / "deploy" / "postgres" / "dagster.yaml",
                lambda: server.create_database(f"bench_{next(databases)}"),
            ),
            "pooled sqlite": (REPO / "dagster.yaml", dict),
        }
        for (instance, (dagster_yaml, new_database)), (executor, run_config) in itertools.product(
            instances.items(), EXECUTION.items()
        ):
            figures = instance_runs(args.runs, dagster_yaml, run_config, new_database)
            lines.append(f"| {instance} | {executor} | {figures} |")
    return [*lines, ""]


DEPLOY_CASES = [  # (instance, executor, data and sources on S3)
    ("pooled sqlite", "in process", False),
    ("PostgreSQL", "in process", False),
    ("PostgreSQL", "multiprocess, max_concurrent 2", False),
    ("PostgreSQL", "multiprocess, max_concurrent 2", True),
]
_deploy_runs = itertools.count()


def deploy_run(server: Any, s3: Any, instance: str, executor: str, on_s3: bool, _: int) -> tuple[float, float]:
    """One run of case 6: a new database (PostgreSQL) and a new data root (on S3: a new prefix)."""
    number = next(_deploy_runs)
    if instance == "PostgreSQL":
        dagster_yaml, env = REPO / "deploy" / "postgres" / "dagster.yaml", server.create_database(f"deploy_{number}")
    else:
        dagster_yaml, env = REPO / "dagster.yaml", {}
    roots = {"JOBFORGE_DATA_ROOT": s3.url(f"run{number}/data"), "JOBFORGE_SOURCE_ROOT": s3.url("noc2021")}
    roots["JOBFORGE_REGISTRY"] = "noc2021"
    return configured_run(OUT / "deploy", dagster_yaml, EXECUTION[executor], env | s3.env, roots if on_s3 else None)


def deploy_rows(args: argparse.Namespace, server: Any, s3: Any) -> list[str]:
    """Table rows of case 6: each configuration `args.runs` times."""
    lines = []
    for instance, executor, on_s3 in DEPLOY_CASES:
        wall, _, walls = medians(args.runs, functools.partial(deploy_run, server, s3, instance, executor, on_s3))
        storage = "S3 (moto_server)" if on_s3 else "local disk"
        lines.append(f"| {instance} | {executor} | {storage} | {wall:.2f} | {', '.join(f'{w:.2f}' for w in walls)} |")
    return lines


def deploy_case(args: argparse.Namespace) -> list[str]:
    """Case 7: sqlite, PostgreSQL, multiprocess and S3, measured in one session on the same files."""
    sys.path.insert(0, str(REPO))
    from jobforge_dagster.sources.tables import list_source_files
    from jobforge_dagster_tests.postgres_server import throwaway_postgres
    from jobforge_dagster_tests.postgres_server import unavailable as postgres_unavailable
    from jobforge_dagster_tests.s3_server import throwaway_s3
    from jobforge_dagster_tests.s3_server import unavailable as s3_unavailable

    lines = ["## 7. PostgreSQL, multiprocess and S3: 32 real files, `dagster job execute -c run_config.yaml`", ""]
    if reason := postgres_unavailable() or s3_unavailable():
        return [*lines, f"Skipped: {reason}.", ""]
    lines += [
        "| instance | executor | data and sources | median wall s | all runs s |",
        "| --- | --- | --- | ---: | --- |",
    ]
    with throwaway_postgres(settings=()) as server, throwaway_s3() as s3:
        client = s3.client()
        for name in list_source_files(REAL):
            client.upload_file(str(REAL / name), s3.bucket, f"noc2021/{name}")
        lines += deploy_rows(args, server, s3)
    return [*lines, ""]


def latency_case(args: argparse.Namespace) -> list[str]:
    """Case 8: file written -> rows queryable in gold, under a real daemon."""
    from latency import latency_lines, measure

    rows = []
    if args.latency_before:
        rows += latency_lines(*measure(OUT / "latency-before", args.drops, before=True), "before (30 s, two ticks)")
    drops, runs = measure(OUT / "latency", args.drops)
    rows += latency_lines(drops, runs, "repository's settings")
    seconds = [drop.seconds for drop in drops]
    if args.write:
        readme_latency(statistics.median(seconds), max(seconds), len(seconds))
    return [
        "## 8. Latency: a file written into source/ to its rows queryable in gold",
        "",
        f"`dagster-daemon run` with the repository's dagster.yaml and workspace.yaml, sensor `new_source_files` "
        f"started; files dropped one after another at random points of the tick cycle (copies of real files "
        f"under new names, then each changed: `*`). Target: median ≤ {TARGETS['latency_median']:g} s, worst ≤ "
        f"{TARGETS['latency_worst']:g} s.",
        "",
        "| settings | drops | median s | worst s | runs launched | each drop s |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
        *rows,
        "",
    ]


#: The README's sentence on latency, rewritten by the latency case with --write (not copied by hand).
README_LATENCY = re.compile(r"<!-- latency -->.*?<!-- /latency -->", re.S)


def readme_latency(median: float, worst: float, drops: int) -> None:
    """Put the measured median and worst latency into README.md's marked sentence."""
    readme = REPO / "README.md"
    text = readme.read_text()
    figures = f"<!-- latency -->median {median:.1f} s, worst {worst:.1f} s over {drops} drops<!-- /latency -->"
    if not README_LATENCY.search(text):
        sys.exit("README.md has no <!-- latency --> sentence to update")
    readme.write_text(README_LATENCY.sub(figures, text, count=1))


def scale_case(args: argparse.Namespace) -> list[str]:
    """Case 9: N tables (each N of --scale-n), JobForge against the floor; the plot and tables cover every N
    measured so far (bench/out/scale/results.json)."""
    import scale
    import scale_report

    results = scale.Results.load()
    for tables in args.scale_n:
        results.points[tables] = scale.measure_point(tables)
        results.save()
    path = scale_report.plot(results)
    return [
        f"## 9. Scale: N tables, half declared (`--cases scale --scale-n {','.join(map(str, args.scale_n))}`)",
        "",
        f"Plot: `{path.relative_to(REPO)}`. One measurement per N (bench/scale.py).",
        "",
        *scale_report.tables(results),
    ]


CASES = {
    "real": real_case,
    "large": large_case,
    "query": query_case,
    "sensor": sensor_case,
    "nochange": nochange_case,
    "postgres": postgres_case,
    "deploy": deploy_case,
    "latency": latency_case,
    "scale": scale_case,
}
#: Cases run when --cases is not given: the scale case takes tens of minutes, and is run on its own.
DEFAULT_CASES = [name for name in CASES if name != "scale"]


def compile_bytecode() -> None:
    """Write the bytecode of the code that runs (JobForge, the instance plugins, the bench's graphs) before
    anything is timed, as any installation, or a first run without PYTHONDONTWRITEBYTECODE, leaves it: an
    editable install under that variable would otherwise compile the package in every measured process."""
    targets = [REPO / "jobforge_dagster", REPO / "jobforge_instance.py", REPO / "bench"]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *map(str, targets)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--write", type=Path, help="also write the results as markdown to this file")
    parser.add_argument("--drops", type=int, default=10, help="files dropped by the latency case")
    parser.add_argument("--latency-before", action="store_true", help="latency case: also the former settings")
    parser.add_argument("--skip-stock", action="store_true", help="skip the stock sqlite event log comparison")
    parser.add_argument(
        "--cases",
        default=",".join(DEFAULT_CASES),
        help=f"comma-separated cases to run, of {','.join(CASES)} (query needs real and large; scale only if named)",
    )
    parser.add_argument(
        "--scale-n",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[32, 320, 1000, 3000],
        help="table counts of the scale case, comma-separated (default 32,320,1000,3000)",
    )
    args = parser.parse_args()
    if not (REAL / "SHA256SUMS").exists():
        sys.exit(f"the real files are not at {REAL}")
    OUT.mkdir(parents=True, exist_ok=True)
    compile_bytecode()
    lines = [
        f"Measured {datetime.date.today().isoformat()} on {machine()}.",
        f"Command: `python bench/run.py --runs {args.runs} --rows {args.rows} --cases {args.cases}`. "
        f"Medians of {args.runs} runs.",
        "",
    ]
    for name in args.cases.split(","):
        lines += CASES[name](args)
    report = "\n".join(lines)
    print(report)
    if args.write:
        text = args.write.read_text() if args.write.exists() else ""
        marker = "<!-- bench/run.py results -->"
        head = text.split(marker)[0] if marker in text else text
        args.write.write_text(f"{head.rstrip()}\n\n{marker}\n\n{report}\n")


if __name__ == "__main__":
    main()
