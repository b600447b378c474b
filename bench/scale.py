"""The scale case of bench/run.py: N tables made of copies of the real files, JobForge against Dagster's floor.

For each N, N copies of the 32 real files under new names (`c003_skills_oasis_2023_v1.0.csv`: copy 3), half of
them declared in a generated registry (the real file's sources.yaml entry under the new name and pattern; the
first copy of noc_structure keeps the gold name dim_noc that every entry references) and half left undeclared
(default tables). Then, for JobForge's code location (`-m jobforge_dagster` with `$JOBFORGE_REGISTRY` naming that
registry) and for bench/floor.py with N tables (the same graph, no work), each as a fresh process with its peak
resident memory:

- load: `dagster definitions validate` (import, build the Definitions and their snapshot);
- run: `dagster job execute ... -j medallion_pipeline` on a fresh instance and data root;
- no change: the same run again (JobForge finds every table current; the floor does it all again);
- tick: the source sensor evaluated with `build_sensor_context` on the run's instance, every file handled
  already (`new_source_files`; the floor's sensor lists the folder and skips), third tick timed;
- graph: `dagster-webserver` on a free port: seconds until the code location is loaded, then the query the UI
  sends for the asset graph (bench/asset_graph.graphql), timed twice; memory is the sum of each process's peak.

Results accumulate in bench/out/scale/results.json (one entry per N, the latest measurement), so N = 3000 can
be measured alone (`python bench/run.py --cases scale --scale-n 3000`); the plot and the table cover every N.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from measure import measured
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import dagster as dg

    from jobforge_dagster.registry.spec import TableSpec

REPO = Path(__file__).resolve().parents[1]
REAL = (REPO / ".." / "shared" / "data" / "noc2021").resolve()
OUT = REPO / "bench" / "out" / "scale"
RESULTS = OUT / "results.json"
BIN = Path(sys.executable).parent
#: How the dagster CLI is pointed at each code location.
LOCATION = ("-m", "jobforge_dagster")
FLOOR = ("-f", str(REPO / "bench" / "floor.py"))
GRAPH_QUERY = REPO / "bench" / "asset_graph.graphql"
SIZES = (32, 320, 1000, 3000)
#: The real file whose first copy stays declared: its gold table, dim_noc, is the one every entry references.
DIMENSION_FILE = "noc_structure_en.csv"
#: The file the sensor measure drops into the source folder (and removes): it matches no table.
ARRIVAL = "zz_arrival.csv"
SENSORS = {LOCATION: "new_source_files", FLOOR: "floor_source_files"}
STATUS_QUERY = "{locationStatusesOrError {... on WorkspaceLocationStatusEntries {entries {name loadStatus}}}}"
WEBSERVER_TIMEOUT = 3600.0


class Measure(BaseModel):
    """One process's wall seconds (or one timed call inside it) and its peak resident memory."""

    seconds: float
    peak_mb: float


class Side(BaseModel):
    """Every measure of one code location (JobForge's or the floor's) at one N."""

    load: Measure
    run: Measure
    nochange: Measure
    tick: Measure = Field(description="Seconds of one sensor tick; memory of the process that loaded and ticked.")
    arrival_tick: float = Field(description="Seconds of the tick that requests a run for one new file.")
    webserver: Measure = Field(description="Seconds until the location is loaded; the process tree's peak memory.")
    graph_seconds: float = Field(description="The UI's asset-graph query, first time.")
    graph_again_seconds: float = Field(description="The same query again.")
    asset_nodes: int = Field(description="Asset nodes the query returned.")


class Point(BaseModel):
    """The measures at one N."""

    tables: int
    declared: int
    measured: str
    ours: Side
    floor: Side


class Results(BaseModel):
    """Every N measured so far, the latest measurement of each."""

    points: dict[int, Point] = Field(default_factory=dict)

    @classmethod
    def load(cls) -> "Results":
        return cls.model_validate_json(RESULTS.read_text()) if RESULTS.exists() else cls()

    def save(self) -> None:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(self.model_dump_json(indent=1))


def copy_name(copy: int, name: str) -> str:
    return f"c{copy:03d}_{name}"


def declared_copy(spec: "TableSpec", copy: int) -> dict:
    """A real registry entry under copy `copy`'s names, as YAML data; references still name dim_noc."""
    gold_name = spec.gold_name
    if gold_name is not None and not (copy == 0 and spec.pattern == DIMENSION_FILE):
        gold_name = copy_name(copy, gold_name)
    renamed = spec.model_copy(
        update={"name": copy_name(copy, spec.name), "pattern": copy_name(copy, spec.pattern), "gold_name": gold_name}
    )
    return renamed.model_dump(mode="json", exclude_defaults=True)


def generate(tables: int, folder: Path) -> tuple[Path, Path, int]:
    """(source folder of `tables` copies, registry declaring half of them, tables declared)."""
    from jobforge_dagster.registry.file import SourceRegistry
    from jobforge_dagster.sources.tables import list_source_files

    real, registry = list_source_files(REAL), SourceRegistry.load("noc2021")
    anchor = real.index(DIMENSION_FILE)
    source = folder / "source"
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    entries = []
    for position in range(tables):
        copy, index = divmod(position, len(real))
        shutil.copyfile(REAL / real[index], source / copy_name(copy, real[index]))
        if (index - anchor + copy) % 2 == 0:
            entries.append(declared_copy(registry.spec_for(real[index]), copy))
    registry_file = folder / "sources.yaml"
    SourceRegistry.model_validate({"tables": entries})  # the file is valid before anything loads it
    registry_file.write_text(yaml.safe_dump({"tables": entries}, sort_keys=False, allow_unicode=True))
    return source, registry_file, len(entries)


def child(command: list[str], env: dict[str, str], cwd: Path) -> Measure:
    """Run a command to its end; its wall seconds and peak resident MB (with the children it waited for)."""
    with open(cwd / "last-command.log", "wb") as log:
        wall, peak_mb, code = measured(command, env, cwd, log)
    if code != 0:
        tail = (cwd / "last-command.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(command[:5])} failed:\n{tail}")
    return Measure(seconds=wall, peak_mb=peak_mb)


def environment(work: Path, source: Path, registry: Path, tables: int) -> dict[str, str]:
    """A fresh instance (the repository's dagster.yaml) and data root under `work`, for either location."""
    if work.exists():
        shutil.rmtree(work)
    home = work / "home"
    home.mkdir(parents=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    return os.environ | {
        "DAGSTER_HOME": str(home),
        "JOBFORGE_DATA_ROOT": str(work / "data"),
        "JOBFORGE_SOURCE_ROOT": str(source),
        "JOBFORGE_REGISTRY": str(registry),
        "JOBFORGE_FLOOR_TABLES": str(tables),
    }


def tick(location: tuple[str, str], env: dict[str, str], home: Path) -> tuple[Measure, float]:
    """(a tick with nothing new, one that requests a run for a new file), in a fresh process that loads the
    location first (`python bench/scale.py tick ...`)."""
    out = home / "tick.json"
    measure = child([sys.executable, __file__, "tick", *location, str(out)], env, home)
    ticks = json.loads(out.read_text())
    return Measure(seconds=ticks["seconds"], peak_mb=measure.peak_mb), ticks["arrival"]


def handled_cursor(source: Path) -> str:
    """The new_source_files cursor once every file in `source` has been handled (two ticks of stability)."""
    from jobforge_dagster.orchestration.sensor_cursor import SourceCursor, handled, plan_tick
    from jobforge_dagster.sources.scan import scan_source

    ready, cursor = plan_tick(scan_source(source), plan_tick(scan_source(source), SourceCursor())[1])
    for file in ready:
        handled(cursor, file)
    return cursor.model_dump_json()


def sensor_resources(defs: "dg.Definitions", sensor: "dg.SensorDefinition") -> dict[str, object]:
    """The resources the sensor needs, and those they need: what the code server builds for a tick (all of
    `defs.resources` would also open the gold query engine, which the sensor does not use)."""
    from dagster._core.execution.resources_init import get_transitive_required_resource_keys

    resources = defs.get_repository_def().get_top_level_resources()
    needed = get_transitive_required_resource_keys(sensor.required_resource_keys, resources)
    return {key: value for key, value in resources.items() if key in needed}


def load_defs(location: tuple[str, str]) -> "dg.Definitions":
    """The Definitions of a code location given as the CLI takes it (`-m module` or `-f file`)."""
    import importlib
    import runpy

    import dagster as dg

    flag, target = location
    found = importlib.import_module(target).defs if flag == "-m" else runpy.run_path(target)["defs"]
    return found if isinstance(found, dg.Definitions) else found.load_fn()


def tick_main(location: tuple[str, str], out: Path) -> None:
    """In the child: load the location; tick its sensor three times with nothing new (the third timed), then
    drop one file no table matches and tick twice (the second, which requests its run, timed)."""
    import dagster as dg

    defs = load_defs(location)
    sensor = defs.resolve_sensor_def(SENSORS[location])
    source = Path(os.environ["JOBFORGE_SOURCE_ROOT"])
    cursor = handled_cursor(source) if SENSORS[location] == "new_source_files" else None
    resources, seconds = sensor_resources(defs, sensor), []
    arrival = source / ARRIVAL
    with dg.DagsterInstance.get() as instance:
        for number in range(5):
            if number == 3:
                shutil.copyfile(REAL / "job_architecture.csv", arrival)
            with dg.build_sensor_context(  # with an instance ref, as the daemon's: dynamic partitions resolve
                instance=instance, instance_ref=instance.get_ref(), cursor=cursor, definitions=defs, resources=resources
            ) as context:
                started = time.perf_counter()
                result = sensor.evaluate_tick(context)
                seconds.append(time.perf_counter() - started)
            cursor = result.cursor or cursor
    arrival.unlink()
    requested = len(result.run_requests or [])
    out.write_text(json.dumps({"seconds": seconds[2], "arrival": seconds[4], "requested": requested, "all": seconds}))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=WEBSERVER_TIMEOUT) as response:
        return json.loads(response.read())


def wait_loaded(port: int, process: subprocess.Popen, log: Path) -> str:
    """The name of the webserver's code location, once it is loaded; an error if the webserver stops first."""
    deadline = time.monotonic() + WEBSERVER_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dagster-webserver stopped:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            entries = graphql(port, STATUS_QUERY)["data"]["locationStatusesOrError"]["entries"]
        except (urllib.error.URLError, ConnectionError, KeyError, TypeError):
            entries = []
        if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
            return entries[0]["name"]
        time.sleep(0.25)
    raise TimeoutError(f"dagster-webserver did not load its code location in {WEBSERVER_TIMEOUT:.0f} s")


def asset_graph(port: int, location: str) -> tuple[float, int]:
    """(seconds, asset nodes) of the UI's asset-graph query."""
    started = time.perf_counter()
    answer = graphql(port, GRAPH_QUERY.read_text(), {"name": location})
    seconds = time.perf_counter() - started
    try:
        repositories = answer["data"]["workspaceLocationEntryOrError"]["locationOrLoadError"]["repositories"]
    except (KeyError, TypeError):
        raise RuntimeError(f"the asset-graph query failed: {json.dumps(answer)[:3000]}") from None
    return seconds, sum(len(repository["assetNodes"]) for repository in repositories)


def tree_peak_mb(root: int) -> float:
    """Sum of the peak resident memory (VmHWM) of a process and its descendants, while they run."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier and pid not in tree]
        tree.update(children)
        frontier = children
    peak = 0
    for pid in tree:
        status = Path(f"/proc/{pid}/status")
        lines = status.read_text().splitlines() if status.exists() else []
        peak += next((int(line.split()[1]) for line in lines if line.startswith("VmHWM")), 0)
    return peak / 1024


def stop(process: subprocess.Popen) -> None:
    """End the webserver's process group (it was started in a session of its own), politely first."""
    for sent in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sent)
            process.wait(timeout=30)
            return
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return


def webserver(location: tuple[str, str], env: dict[str, str], home: Path) -> tuple[Measure, float, float, int]:
    """(seconds until loaded and peak MB, graph query seconds, again, asset nodes) of a webserver on `location`."""
    port, log = free_port(), home / "webserver.log"
    command = [str(BIN / "dagster-webserver"), *location, "-h", "127.0.0.1", "-p", str(port)]
    with open(log, "wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, cwd=home, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            name = wait_loaded(port, process, log)
            loaded = time.perf_counter() - started
            first, nodes = asset_graph(port, name)
            again, _ = asset_graph(port, name)
            peak = tree_peak_mb(process.pid)
        finally:
            stop(process)
    return Measure(seconds=loaded, peak_mb=peak), first, again, nodes


def measure_side(location: tuple[str, str], env: dict[str, str]) -> Side:
    """Every measure of one location, in order: load, run, no-change run, tick, webserver."""
    home = Path(env["DAGSTER_HOME"])
    dagster = str(BIN / "dagster")
    load = child([dagster, "definitions", "validate", *location], env, home)
    execute = [dagster, "job", "execute", *location, "-j", "medallion_pipeline"]
    run = child(execute, env, home)
    nochange = child(execute, env, home)
    sensor, arrival = tick(location, env, home)
    server, first, again, nodes = webserver(location, env, home)
    return Side(
        load=load,
        run=run,
        nochange=nochange,
        tick=sensor,
        arrival_tick=arrival,
        webserver=server,
        graph_seconds=first,
        graph_again_seconds=again,
        asset_nodes=nodes,
    )


def measure_point(tables: int) -> Point:
    """Generate N tables and measure both locations on them; the floor first, while the files are fresh to both."""
    folder = OUT / f"n{tables}"
    source, registry, declared = generate(tables, folder)
    floor = measure_side(FLOOR, environment(folder / "floor", source, registry, tables))
    ours = measure_side(LOCATION, environment(folder / "ours", source, registry, tables))
    return Point(tables=tables, declared=declared, measured=date.today().isoformat(), ours=ours, floor=floor)


if __name__ == "__main__" and sys.argv[1:2] == ["tick"]:
    tick_main((sys.argv[2], sys.argv[3]), Path(sys.argv[4]))
