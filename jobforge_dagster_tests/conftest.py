"""Shared fixtures: a data root under tmp_path, the bundled sample sources, and a way to run the job."""

import contextlib
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import dagster as dg
import pytest

from jobforge_dagster.layers import Layer
from jobforge_dagster.orchestration.assembly import build_definitions
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster_tests.dagster_cli import DagsterCli

REPO = Path(__file__).resolve().parents[1]
SAMPLE_SOURCES = REPO / "data" / "source"
REAL_DATA = (REPO / ".." / "shared" / "data" / "noc2021").resolve()

Runner = Callable[..., dg.ExecuteInProcessResult]


def both_registries() -> SourceRegistry:
    """The bundled sample's tables and the 32 real files' in one registry: every declared name at once."""
    return SourceRegistry(tables=[*SourceRegistry.load("sample").tables, *SourceRegistry.load("noc2021").tables])
T = TypeVar("T")


@pytest.fixture
def config(tmp_path: Path) -> DataRoot:
    """An empty data root with the bundled sample sources in its source/ folder."""
    root = tmp_path / "data"
    shutil.copytree(SAMPLE_SOURCES, root / "source")
    return DataRoot(data_root=str(root))


def run_job(
    config: DataRoot,
    registry: SourceRegistry | None = None,
    selection: list[dg.AssetKey] | None = None,
    raise_on_error: bool = True,
    force: bool = False,
) -> dg.ExecuteInProcessResult:
    """Run medallion_pipeline (or a selection of it) in process on an ephemeral instance; `force` rebuilds
    layers that are already current (the run tag `jobforge/force`)."""
    defs = build_definitions(config, registry)
    job = defs.resolve_job_def("medallion_pipeline")
    return job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        asset_selection=selection,
        raise_on_error=raise_on_error,
        tags={"jobforge/force": "true"} if force else None,
    )


@pytest.fixture
def run() -> Runner:
    return run_job


@pytest.fixture
def dagster_cli(tmp_path: Path) -> DagsterCli:
    """The dagster CLI with a fresh DAGSTER_HOME and an empty data root under tmp_path."""
    return DagsterCli.fresh(tmp_path / "home", tmp_path / "data")


@pytest.fixture
def empty_root(tmp_path: Path) -> DataRoot:
    """A data root with an empty source/ folder."""
    config = DataRoot(data_root=str(tmp_path / "data"))
    config.source_dir().mkdir(parents=True)
    return config


@pytest.fixture
def gold_root(tmp_path: Path) -> DataRoot:
    """A data root with an empty gold folder for query tests, and beside it a file no query may read."""
    root = DataRoot(data_root=str(tmp_path / "data"))
    root.layer_dir(Layer.GOLD).mkdir(parents=True)
    (tmp_path / "secret.csv").write_text("a\n1\n")
    return root


@pytest.fixture
def gold(config: DataRoot, monkeypatch: pytest.MonkeyPatch) -> DataRoot:
    """The bundled samples built to gold, the data root named by the environment as `jobforge` reads it."""
    assert run_job(config).success
    monkeypatch.setenv("JOBFORGE_DATA_ROOT", config.data_root)
    monkeypatch.delenv("JOBFORGE_SOURCE_ROOT", raising=False)
    return config


def require_real_data() -> Path:
    if not (REAL_DATA / "SHA256SUMS").exists():
        pytest.skip(f"the real NOC 2021 files are not at {REAL_DATA} (a clone without ../shared)")
    return REAL_DATA


def bounded(call: Callable[[], T], seconds: float = 30.0) -> T:
    """`call()`, failing the test (instead of hanging it) if it has not returned within `seconds`."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds:.0f} s"
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


@pytest.fixture
def fifos() -> Iterator[Callable[[Path], Path]]:
    """Makes FIFOs; afterwards each is opened for writing once, which frees a reader a failing test left blocked."""
    made: list[Path] = []

    def mkfifo(path: Path) -> Path:
        os.mkfifo(path)
        made.append(path)
        return path

    yield mkfifo
    for path in made:
        with contextlib.suppress(OSError):  # ENXIO: nobody is reading it
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
