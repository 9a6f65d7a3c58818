"""Saves the client was told succeeded survive SIGKILL of the saving process and of the server.

SQLite runs in WAL mode with ``synchronous=NORMAL`` (annotate.db.engine). In that mode a commit
returns once its frames are written (``write()``) to the -wal file; the fsync waits for the next
checkpoint. The written frames sit in the operating system's page cache, which outlives the process,
so killing the process (even with SIGKILL, mid-transaction) cannot lose a commit that has returned:
the next connection replays the WAL. Only an OS crash or power loss can drop the last commits before
a checkpoint (``synchronous=FULL`` would close that gap at the cost of an fsync per save). This test
checks the process-kill half of that claim on the real stack:

1. a real server (``annotate serve``) runs on a free port on the test's data folder, and logs users
   in during the test (so two processes write to the database at once);
2. a separate process mimics the app's save path — ``rating.save_rating`` inside
   ``session.unit_of_work`` (commit on exit) — and prints one ``ack`` line per save that returned;
3. the test SIGKILLs that process mid-stream (three times, restarting it), then SIGKILLs the server;
4. it re-opens the database: integrity check passes, and every acknowledged save is there.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from annotate.config import Settings
from annotate.db.engine import session_factory
from annotate.db.models import Recording, Segment, Study
from annotate.services import accounts, assignments, studies
from tests.e2e.conftest import free_port

REPO = Path(__file__).resolve().parents[1]
SAVER = r"""
import sys
from sqlalchemy import select
from annotate.config import get_settings
from annotate.db.models import Rating
from annotate.services import rating, accounts
from annotate.services.session import unit_of_work

settings = get_settings()
with unit_of_work(settings) as s:
    actor = accounts.actor_of(accounts.get_user(s, "r1"))
    ids = [i.assignment_id for i in rating.rater_queue(s, actor).items]
print("ready", flush=True)
n = 0
while True:
    aid = ids[n % len(ids)]
    with unit_of_work(settings) as s:
        row = s.scalar(select(Rating).where(Rating.assignment_id == aid, Rating.dimension == "sensitivity"))
        current = row.version if row else 0
        value = (int(row.value) % 9) + 1 if row else 1
        version = rating.save_rating(s, actor, aid, "sensitivity", value, expected_version=current)
    # the with-block has committed: this save is acknowledged
    print(f"ack {aid} {version} {value}", flush=True)
    n += 1
"""


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """A study with 40 one-segment films assigned to r1 (fake proxies: no media work)."""
    data = tmp_path / "data"
    settings = Settings.from_env(
        {
            "ANNOTATE_DATA_DIR": str(data),
            "ANNOTATE_SECRET_KEY": "durable",
            "ANNOTATE_SCHEMES_DIR": str(REPO / "rating_schemes"),
        }
    )
    s = session_factory(settings.database_url)()
    try:
        res = accounts.create_user(s, None, "res", "res-password", "researcher")
        accounts.create_user(s, None, "r1", "r1-password", "rater")
        studies.create_study(s, res, settings, "D1", arms="A,B", timepoints="t0", scheme_key="ainsworth_sensitivity")
        studies.import_participants(s, res, "D1", "participant,arm\nP1,A\n")
        study = s.query(Study).one()
        for i in range(40):
            rec = Recording(
                study_id=study.id,
                participant_id=None,
                timepoint_id=study.timepoints[0].id,
                blind_code=f"DUR{i:03d}",
                original_name="x.mp4",
                status="ready",
                duration_s=60.0,
            )
            s.add(rec)
            s.flush()
            s.add(Segment(recording_id=rec.id, index=0, start_s=0.0, end_s=60.0))
        s.flush()
        assignments.assign_segments(s, res, "D1", ["r1"], mode="all", seed=1)
        s.commit()
    finally:
        s.close()
    return data


def _env(data: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "ANNOTATE_DATA_DIR": str(data),
        "ANNOTATE_SECRET_KEY": "durable",
        "ANNOTATE_SCHEMES_DIR": str(REPO / "rating_schemes"),
        "PYTHONPATH": str(REPO),
    }
    env.pop("ANNOTATE_DATABASE_URL", None)
    return env


def _start_server(data: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(data / "server.log", "w")  # noqa: SIM115 (closed by the OS when the test process ends)
    proc = subprocess.Popen(
        [sys.executable, "-m", "annotate", "serve", "--port", str(port)],
        env=_env(data),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(base + "/api/login", timeout=2)
            return proc, base
        except OSError:  # refused, reset or timed out while the server starts (URLError is an OSError)
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError(f"server did not start: {(data / 'server.log').read_text()[-2000:]}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _keep_logging_in(base: str, stop: threading.Event, done: list[int]) -> None:
    """The server writes too: each login inserts a login_session row."""
    opener = urllib.request.build_opener(_NoRedirect)
    body = urllib.parse.urlencode({"username": "r1", "password": "r1-password"}).encode()
    while not stop.is_set():
        try:
            # the login form refuses posts from another origin
            opener.open(urllib.request.Request(base + "/api/login", data=body, headers={"Origin": base}), timeout=5)
        except urllib.error.HTTPError as exc:
            if exc.code in (302, 303):
                done.append(1)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return  # the server was killed


def _run_saver_until_killed(data: Path, acks_before_kill: int) -> list[tuple[int, int, int]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SAVER],
        env=_env(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    acks = []
    try:
        for line in proc.stdout:
            if line.startswith("ack "):
                _, aid, version, value = line.split()
                acks.append((int(aid), int(version), int(value)))
                if len(acks) >= acks_before_kill:
                    os.kill(proc.pid, signal.SIGKILL)  # mid-stream: it is already in its next save
                    break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=20)
    assert acks, f"the saver never acknowledged a save: {proc.stderr.read()[-2000:]}"
    assert proc.returncode == -signal.SIGKILL
    return acks


def test_acknowledged_saves_survive_sigkill(data_dir):
    server, base = _start_server(data_dir)
    stop, logins = threading.Event(), []
    login_thread = threading.Thread(target=_keep_logging_in, args=(base, stop, logins), daemon=True)
    login_thread.start()
    acked: list[tuple[int, int, int]] = []
    try:
        for round_ in range(3):
            acked += _run_saver_until_killed(data_dir, acks_before_kill=150 + 37 * round_)
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=20)
        stop.set()
        login_thread.join(timeout=10)
    assert logins, "the server did not log anyone in while the saves ran"
    con = sqlite3.connect(data_dir / "annotate.db")
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {
            aid: (version, value)
            for aid, version, value in con.execute(
                "SELECT assignment_id, version, value FROM rating WHERE dimension = 'sensitivity'"
            )
        }
        history = {
            (aid, int(float(new))): n
            for aid, new, n in con.execute(
                "SELECT assignment_id, new_value, count(*) FROM rating_history GROUP BY assignment_id, new_value"
            )
        }
        n_history = con.execute("SELECT count(*) FROM rating_history").fetchone()[0]
    finally:
        con.close()
    latest: dict[int, tuple[int, int]] = {}
    for aid, version, value in acked:
        assert aid in stored, f"acknowledged save of assignment {aid} is missing"
        assert stored[aid][0] >= version, f"assignment {aid}: acknowledged version {version}, stored {stored[aid][0]}"
        assert (aid, value) in history
        latest[aid] = max(latest.get(aid, (0, 0)), (version, value))
    for aid, (version, value) in latest.items():
        if stored[aid][0] == version:  # nothing later was committed: the value must be the acknowledged one
            assert stored[aid][1] == value
    # every acknowledged save left one history row; at most one unacknowledged save per killed saver committed
    assert len(acked) <= n_history <= len(acked) + 3
