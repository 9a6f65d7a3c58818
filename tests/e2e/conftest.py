"""A real server with the demo study, started on a free loopback port, and a Chromium factory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# How long (ms) a test waits for a page to draw or a download to start. Generous because CI runs
# the e2e tests beside the rest of the suite on two cores (a 20 s wait ran out there twice); a
# test still fails when the thing never comes.
WAIT = 90_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e-data")


@contextmanager
def running_server(env: dict[str, str], data: Path, *serve_args: str) -> Iterator[str]:
    """``annotate serve`` on a free port with ``env``, its log in ``data/server.log``; yields the base
    URL once /api/login answers, and stops the whole process group (server and job worker) after."""
    port = free_port()
    log = open(data / "server.log", "w")  # noqa: SIM115 (the server writes to it until the block ends)
    proc = subprocess.Popen(
        [sys.executable, "-m", "annotate", "serve", *serve_args, "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(base + "/api/login", timeout=2)
            break
        except OSError:  # refused, reset or timed out while the server starts (URLError is an OSError)
            time.sleep(0.3)
    else:
        os.killpg(proc.pid, 15)
        raise RuntimeError(f"server did not start: {(data / 'server.log').read_text()[-2000:]}")
    try:
        yield base
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="session")
def demo_server(demo_data) -> Iterator[str]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: .ci/run installs Debian chromium")
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    data = demo_data
    env = {**os.environ, "ANNOTATE_DATA_DIR": str(data), "ANNOTATE_SECRET_KEY": "e2e-secret"}
    env.pop("ANNOTATE_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "annotate", "demo"], env=env, check=True, capture_output=True)
    with running_server(env, data, "--demo") as base:
        yield base


@pytest.fixture
def browser_context():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        ctx = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        ctx.set_default_timeout(WAIT)
        try:
            yield ctx
        finally:
            ctx.close()


def login(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/**")
