"""Real worker processes (`python -m annotate worker`) against the test database, the embedded
or Redis queue, and the folder or S3 media store."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from annotate.config import Settings
from annotate.services import studies

REPO = Path(__file__).resolve().parents[3]
REDIS_URL = os.environ.get("ANNOTATE_TEST_REDIS_URL")


def redis_answers(url: str | None) -> bool:
    if not url:
        return False
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


@pytest.fixture
def job_env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """Environment of the test's workers: its database and data folder, a 3 s lease."""
    return {
        "ANNOTATE_DATA_DIR": str(settings.data_dir),
        "ANNOTATE_DATABASE_URL": settings.database_url,
        "ANNOTATE_SECRET_KEY": "test-secret",
        "ANNOTATE_SCHEMES_DIR": str(settings.schemes_dir),
        "ANNOTATE_JOB_LEASE_SECONDS": "3",
        "ANNOTATE_JOBS_QUEUE": f"test-{secrets.token_hex(4)}",  # tests running at once never share a queue
    }


class Workers:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.procs = env, logs, []  # type: ignore[var-annotated]

    def start(self, concurrency: int = 1) -> subprocess.Popen:
        n = len(self.procs)
        env = {**os.environ, **self.env, "PYTHONPATH": str(REPO)}
        log = (self.logs / f"worker{n}.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "annotate", "-v", "worker", "--concurrency", str(concurrency)],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture
def workers(job_env, tmp_path):
    w = Workers(job_env, tmp_path)
    yield w
    w.stop()


@pytest.fixture
def film_study(session, settings, people) -> str:
    studies.create_study(
        session,
        people["res"],
        settings,
        "W",
        arms="A,B",
        timepoints="t0,t1",
        scheme_key="ainsworth_sensitivity",
        segment_seconds=2,
    )
    studies.import_participants(session, people["res"], "W", "participant,arm\nP1,A\nP2,B\nP3,A\n")
    session.commit()
    return "W"


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``check`` (bounded) — a test waits for real processes, it asserts no time."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")
