"""Start the Dagster UI on the bundled sample and capture it with headless Chromium (Debian's `chromium`).

    python scripts/ui_screenshots.py [OUT_DIR]        (default: docs/screenshots)

Any Python will do: the script runs itself again with the repository's .venv Python when Dagster is not
importable here.

Builds a throw-away data root and DAGSTER_HOME, runs medallion_pipeline twice (the second run finds every table
current: what the UI shows then is what a user sees on most days), starts `dagster dev` on a free loopback port,
then saves the asset graph and the gold asset's pages as PNG, and each page's rendered DOM as text beside it.
Everything it started is stopped before it returns.
"""

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
if importlib.util.find_spec("dagster") is None and VENV_PYTHON.exists():  # e.g. run with the system python
    os.execv(VENV_PYTHON, [str(VENV_PYTHON), __file__, *sys.argv[1:]])
sys.path.insert(0, str(REPO))

from jobforge_dagster_tests.dagster_cli import DagsterCli, stop  # noqa: E402

PAGES = {
    "asset-graph": "/asset-groups",
    "asset-graph-noc": "/locations/jobforge_dagster/asset-groups/noc",
    "asset-gold-noc_unit_groups": "/assets/gold/noc_unit_groups",
    "asset-gold-noc_unit_groups-events": "/assets/gold/noc_unit_groups?view=events",
    "asset-gold-noc_unit_groups-checks": "/assets/gold/noc_unit_groups?view=checks",
    "asset-bronze-noc_unit_groups": "/assets/bronze/noc_unit_groups",
    "asset-graph-jobforge": "/locations/jobforge_dagster/asset-groups/jobforge",
}
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1600,1400",
    "--virtual-time-budget=20000",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


#: Every asset the UI lists: whether it is an observable source or partitioned, and its latest materialization.
ASSETS_QUERY = """{ assetNodes { assetKey { path } isObservable isPartitioned
  assetMaterializations(limit: 1) { runId } } }"""


def graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)["data"]


def dismiss_welcome_dialog(base: str) -> None:
    """Tell the webserver the newsletter dialog was seen, as its Skip button does, so it covers nothing."""
    assert graphql(base, "mutation { setNuxSeen }")["setNuxSeen"] is True


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise FileNotFoundError("Debian's chromium is not installed: apt-get install chromium")
    return found


def capture(browser: str, url: str, png: Path, profile: Path) -> str:
    """Save a screenshot of `url` and return its rendered DOM."""
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    subprocess.run([*common, f"--screenshot={png}", url], check=True, capture_output=True, timeout=120)
    dom = subprocess.run([*common, "--dump-dom", url], check=True, capture_output=True, text=True, timeout=120)
    return dom.stdout


def main(out: Path) -> list[Path]:
    browser = chromium()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jobforge-ui-") as scratch:
        cli = DagsterCli.fresh(Path(scratch), Path(scratch) / "data")
        shutil.copytree(REPO / "data" / "source", cli.data_root / "source")
        for _ in range(2):  # the second run finds every table current
            executed = cli.run("job", "execute", "-m", "jobforge_dagster", "-j", "medallion_pipeline")
            if executed.returncode != 0:
                raise RuntimeError(f"the sample run failed: {executed.stderr[-2000:]}")
        port = free_port()
        with open(cli.home / "dagster-dev.log", "w") as log:
            server = cli.start("dev", "-m", "jobforge_dagster", "-h", "127.0.0.1", "-p", str(port), log=log)
            try:
                return capture_pages(browser, f"http://127.0.0.1:{port}", out, cli.home / "chromium-profile")
            finally:
                stop(server)


def capture_pages(browser: str, base: str, out: Path, profile: Path) -> list[Path]:
    """Wait for the webserver, dismiss its welcome dialog, save each page's PNG and rendered DOM."""
    wait_until_up(f"{base}/server_info")
    dismiss_welcome_dialog(base)
    (out / "assets.json").write_text(json.dumps(graphql(base, ASSETS_QUERY)["assetNodes"], indent=1))
    saved = []
    for name, path in PAGES.items():
        png = out / f"{name}.png"
        (out / f"{name}.dom.txt").write_text(capture(browser, base + path, png, profile))
        saved.append(png)
    return saved


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots"
    for path in main(target):
        print(path)
