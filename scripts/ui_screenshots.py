"""Start the Dagster UI on the bundled sample and capture it with headless Chromium (Debian's `chromium`).

    python scripts/ui_screenshots.py [OUT_DIR]        (default: docs/screenshots)

Builds a throw-away data root and DAGSTER_HOME, runs medallion_pipeline so every asset has a
materialization, starts `dagster dev` on a free loopback port, then saves the asset graph and the
gold asset's page as PNG, and each page's rendered DOM as text beside it. Everything it started is
stopped before it returns.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = {
    "asset-graph": "/asset-groups",
    "asset-graph-noc": "/locations/jobforge_dagster/asset-groups/noc",
    "asset-gold-noc_unit_groups": "/assets/gold/noc_unit_groups",
    "asset-gold-noc_unit_groups-events": "/assets/gold/noc_unit_groups?view=events",
    "asset-bronze-noc_unit_groups": "/assets/bronze/noc_unit_groups",
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


def dismiss_welcome_dialog(base: str) -> None:
    """Tell the webserver the newsletter dialog was seen, as its Skip button does, so it covers nothing."""
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": "mutation { setNuxSeen }"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.load(response)["data"]["setNuxSeen"] is True


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
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="jobforge-ui-") as scratch:
        work = Path(scratch)
        shutil.copytree(REPO / "data" / "source", work / "data" / "source")
        shutil.copy(REPO / "dagster.yaml", work / "dagster.yaml")
        shutil.copy(REPO / "workspace.yaml", work / "workspace.yaml")
        env = os.environ | {"DAGSTER_HOME": str(work), "JOBFORGE_DATA_ROOT": str(work / "data")}
        env.pop("JOBFORGE_SOURCE_ROOT", None)
        subprocess.run(
            [str(bin_dir / "dagster"), "job", "execute", "-m", "jobforge_dagster", "-j", "medallion_pipeline"],
            cwd=work,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
        port = free_port()
        with open(work / "dagster-dev.log", "w") as log:
            server = subprocess.Popen(
                [str(bin_dir / "dagster"), "dev", "-m", "jobforge_dagster", "-h", "127.0.0.1", "-p", str(port)],
                cwd=work,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                base = f"http://127.0.0.1:{port}"
                wait_until_up(f"{base}/server_info")
                dismiss_welcome_dialog(base)
                saved = []
                for name, path in PAGES.items():
                    png = out / f"{name}.png"
                    dom = capture(browser, base + path, png, work / "chromium-profile")
                    (out / f"{name}.dom.txt").write_text(dom)
                    saved.append(png)
                return saved
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait(timeout=10)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots"
    for path in main(target):
        print(path)
