"""A throwaway S3-compatible endpoint for tests and benchmarks: `moto_server` (moto in server mode) started as a
real subprocess on 127.0.0.1 on a free port, with one bucket, reached only through the standard AWS variables;
stopped at the end."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from jobforge_dagster_tests.postgres_server import free_port

BUCKET = "jobforge"
#: moto accepts any credentials; real ones are never needed nor read.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def moto_server_bin() -> Path | None:
    """The `moto_server` executable beside this Python (the dev extra installs it), else on PATH."""
    beside = Path(sys.executable).parent / "moto_server"
    found = beside if beside.exists() else shutil.which("moto_server")
    return Path(found) if found else None


def unavailable() -> str | None:
    """Why an endpoint cannot be started here, or None when it can."""
    if moto_server_bin() is None:
        return "moto_server is not installed (pip install -e '.[dev]' installs moto[server])"
    return None


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str = BUCKET

    @property
    def env(self) -> dict[str, str]:
        """The standard AWS variables that reach this endpoint (and nothing JobForge-specific)."""
        return {"AWS_ENDPOINT_URL": self.endpoint, **CREDENTIALS}

    def url(self, prefix: str) -> str:
        """`s3://<bucket>/<prefix>`."""
        return f"s3://{self.bucket}/{prefix.strip('/')}"

    def client(self):
        """A boto3 client on this endpoint, to look at what a run wrote."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        )

    def keys(self, prefix: str) -> list[str]:
        """Every key under `prefix/`, sorted."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=f"{prefix}/")
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def wait_until_answering(endpoint: str, process: subprocess.Popen, log: IO[str], timeout: float = 30) -> None:
    """Poll the endpoint until it answers HTTP; an error naming the server's output if it exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"moto_server exited with {process.returncode}: {log.read()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise RuntimeError(f"moto_server did not answer on {endpoint} within {timeout:.0f} s")


@contextmanager
def throwaway_s3() -> Iterator[S3Server]:
    """Start `moto_server -H 127.0.0.1 -p <free port>`, create the bucket, yield the endpoint, stop the server."""
    executable = moto_server_bin()
    if executable is None:
        raise RuntimeError(unavailable())
    port = free_port()
    command = [str(executable), "-H", "127.0.0.1", "-p", str(port)]
    # its request log goes to a file: a pipe nobody reads fills up and blocks the server
    with tempfile.TemporaryFile("w+", prefix="moto-server-") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True, env=os.environ)
        try:
            server = S3Server(f"http://127.0.0.1:{port}")
            wait_until_answering(server.endpoint, process, log)
            server.client().create_bucket(Bucket=server.bucket)
            yield server
        finally:
            stop(process)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
