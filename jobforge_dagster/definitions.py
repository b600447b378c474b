"""The code location: `@dg.definitions` loads the defs folder, whose component turns the registry into assets."""

import atexit
import functools
import gc
import os
import warnings
from pathlib import Path

import dagster as dg

import jobforge_dagster.components
from jobforge_dagster.errors import ConfigurationError
from jobforge_dagster.registry.file import REGISTRY_ENV
from jobforge_dagster.storage.data_root import DATA_ROOT_ENV, SOURCE_ROOT_ENV

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# At exit, every object is frozen out of the garbage collector's sight: the interpreter's final collections then
# skip the code location, Dagster and the run's objects instead of walking them all, and a process that loaded
# the code location (a `dagster job execute`, a run launched by the daemon) ends in a fraction of the time.
# Nothing is lost: the run's files, catalog and events are closed and committed before its process exits, and
# Python does not promise to collect at exit what a reference cycle still holds.
atexit.register(gc.freeze)


@functools.lru_cache(maxsize=4)
def load_defs_folder(data_root: str | None, source_root: str | None, registry: str | None) -> dg.Definitions:
    """The defs folder's definitions, built once per data root, source folder and registry in a process.

    The folder is built, not the tree's root: the root adds a JSON description of every component type installed
    in the environment (for Dagster's component tooling), which every run's process would otherwise compute."""
    with warnings.catch_warnings():  # the components loader's own beta/preview notices, not the user's concern
        warnings.simplefilter("ignore", dg.BetaWarning)
        warnings.simplefilter("ignore", dg.PreviewWarning)
        tree = dg.ComponentTree.from_module(jobforge_dagster.components, project_root=PROJECT_ROOT)
        return tree.build_defs(tree.defs_module_path)


@dg.definitions
def defs() -> dg.Definitions:
    """The defs folder's components (today the medallion over the registry). Dagster's CLI asks for the
    definitions several times per command; they are built once per data root, source folder and registry. A
    deployment setting JobForge cannot run with (e.g. object storage without credentials) is raised alone, as one
    line, not inside the component loader's error."""
    try:
        return load_defs_folder(*(os.environ.get(name) for name in (DATA_ROOT_ENV, SOURCE_ROOT_ENV, REGISTRY_ENV)))
    except Exception as error:
        if (cause := configuration_error_in(error)) is None:
            raise
        raise ConfigurationError(str(cause)) from None


def configuration_error_in(error: BaseException) -> ConfigurationError | None:
    """The ConfigurationError that caused `error` (itself included), or None."""
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, ConfigurationError):
        cause = cause.__cause__ or cause.__context__
    return cause
