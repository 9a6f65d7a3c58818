"""`annotate ingest` queues jobs and returns; `annotate worker` (a real process) does them;
`annotate jobs` lists, retries and cancels; `annotate films remove` and `annotate store check`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from annotate.cli import main
from tests.support.synthetic import make_broken_files, make_synthetic_film

REPO = Path(__file__).resolve().parents[2]
FIELDS = {"id", "kind", "state", "progress", "message", "error", "attempts", "created_at", "started_at", "finished_at"}


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOTATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ANNOTATE_DATABASE_URL", raising=False)
    monkeypatch.delenv("ANNOTATE_JOBS_URL", raising=False)
    monkeypatch.delenv("ANNOTATE_MEDIA_URL", raising=False)
    monkeypatch.setenv("ANNOTATE_SECRET_KEY", "cli-secret")
    monkeypatch.setenv("ANNOTATE_JOB_LEASE_SECONDS", "3")
    return tmp_path


def run(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def _study(tmp):
    assert run("init").exit_code == 0
    r = run("study", "create", "S1", "--arms", "A,B", "--timepoints", "t0,t1", "--scheme", "ainsworth_sensitivity")
    assert r.exit_code == 0, r.output
    (tmp / "p.csv").write_text("participant,arm\nP1,A\nP2,B\n")
    run("participants", "import", "--study", "S1", str(tmp / "p.csv"))


def _jobs() -> list[dict]:
    r = run("jobs", "--study", "S1", "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_queue_then_worker_then_retry_cancel_remove(cli_env):
    tmp = cli_env
    _study(tmp)
    films = tmp / "films"
    films.mkdir()
    make_synthetic_film(films / "P1_t0.mp4", 3, 160, 120, 15, seed=1)
    make_synthetic_film(films / "P2_t1.mp4", 3, 160, 120, 15, seed=2)
    broken = make_broken_files(tmp)
    r = run("ingest", str(films), "--study", "S1", "--pattern", r"(?P<participant>P\d)_(?P<timepoint>t\d)")
    assert r.exit_code == 0 and r.output.count("queued") == 2, r.output
    r = run("ingest", str(broken["text_as_mp4"]), "--study", "S1", "--participant", "P1", "--timepoint", "t1")
    assert r.exit_code == 0
    queued = _jobs()
    assert len(queued) == 3 and {j["state"] for j in queued} == {"queued"} and set(queued[0]) >= FIELDS
    recs = json.loads(run("recordings", "--study", "S1", "--json").output)
    assert {x["status"] for x in recs} == {"processing"}

    # Cancel one film's job before any worker runs: the film is marked failed, not left processing.
    cancelled = queued[0]["id"]  # newest first: the broken file
    assert "cancelled" in run("jobs", "cancel", str(cancelled)).output
    worker = subprocess.Popen(
        [sys.executable, "-m", "annotate", "worker", "--concurrency", "2"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        r = run(
            "ingest", str(broken["truncated"]), "--study", "S1", "--participant", "P2", "--timepoint", "t0", "--wait"
        )
        assert r.exit_code == 1 and "failed" in r.output  # --wait waited for a worker's verdict
        from annotate.cli.jobs import wait_for

        done = wait_for([j["id"] for j in queued[1:]], poll_s=0.1)
        assert {d.state for d in done} == {"done"}
        by_id = {j["id"]: j for j in _jobs()}
        assert by_id[cancelled]["state"] == "cancelled" and by_id[queued[1]["id"]]["progress"] == 1.0
        failed = next(j for j in by_id.values() if j["state"] == "failed")
        assert failed["error"] and failed["attempts"] == 1 and failed["finished_at"]
        recs = {x["blind_code"]: x for x in json.loads(run("recordings", "--study", "S1", "--json").output)}
        assert sorted(x["status"] for x in recs.values()) == ["failed", "failed", "ready", "ready"]
        assert "processing" not in {x["status"] for x in recs.values()}
        # Retry the refused film: it is tried again and refused again, for the same reason.
        assert "queued again" in run("jobs", "retry", str(failed["id"])).output
        again = wait_for([failed["id"]], poll_s=0.1)[0]
        assert again.state == "failed" and again.error == failed["error"]
        r = run("jobs", "retry", str(queued[1]["id"]))
        assert r.exit_code == 1 and "only failed or cancelled" in r.output
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    # Remove the refused records (audited); the store then holds only the ready films' files.
    for code, x in recs.items():
        if x["status"] == "failed":
            r = run("films", "remove", code, "--reason", "refused file\twith a tab 😀")
            assert r.exit_code == 0, r.output
    assert len(json.loads(run("recordings", "--study", "S1", "--json").output)) == 2
    r = run("store", "check", "--checksums", "--json")
    report = json.loads(r.output)
    assert r.exit_code == 0 and report["orphans"] == [] and report["missing"] == [] and report["films"] == 2
    (tmp / "data" / "media" / "proxies" / "stray.mp4").write_bytes(b"x")
    r = run("store", "check")
    assert r.exit_code == 1 and "orphan   proxies/stray.mp4" in r.output
    assert run("store", "check", "--delete-orphans").exit_code == 0
    assert not (tmp / "data" / "media" / "proxies" / "stray.mp4").exists()
