"""Two real worker processes share a queue of films; one is SIGKILLed in the middle of a
transcode. The job is taken over by the live worker after its lease runs out, every film ends
``ready``, nothing stays ``processing``, and no orphan or half-written file is left — with the
embedded queue and the folder store, and with Redis and S3 (a real moto server)."""

from __future__ import annotations

import os
import signal

import pytest
from sqlalchemy import select

from annotate.config import Settings
from annotate.db.models import Recording
from annotate.db.models_jobs import Job
from annotate.services import films, jobs
from annotate.store import open_store
from tests.services.jobs.conftest import REDIS_URL, redis_answers, wait_until
from tests.support.synthetic import make_synthetic_film

pytestmark = pytest.mark.slow


def _films(tmp_path):
    src = tmp_path / "incoming-films"
    src.mkdir()
    # One longer film so that a transcode is surely under way when the worker is killed.
    long = make_synthetic_film(src / "P1 long \u00e9 'film'.mp4", 40, 640, 360, 25, seed=1)
    short = [make_synthetic_film(src / f"P{i}_short.mp4", 3, 160, 120, 15, seed=10 + i) for i in (2, 3)]
    return [
        films.IngestItem(long, "P1", "t0"),
        films.IngestItem(short[0], "P2", "t0"),
        films.IngestItem(short[1], "P3", "t1"),
    ]


def _run_and_kill(session, people, settings: Settings, workers, study: str, tmp_path) -> None:
    items = _films(tmp_path)
    queued = films.enqueue_ingest(session, people["res"], settings, study, items)
    assert [q.status for q in queued] == ["queued"] * 3
    long_job = queued[0].job_id
    a, b = workers.start(), workers.start()

    def transcoding() -> bool:
        session.expire_all()
        job = session.get(Job, long_job)
        return job.state == "running" and "browser copy" in job.message and 0.12 < job.progress < 0.85

    wait_until(transcoding, 120, "the long film's transcode to be under way")
    job = session.get(Job, long_job)
    victim_pid = int(job.worker.split(":")[1])
    assert victim_pid in (a.pid, b.pid)
    os.kill(victim_pid, signal.SIGKILL)
    victim = a if a.pid == victim_pid else b
    victim.wait(timeout=10)

    def all_finished() -> bool:
        session.expire_all()
        return all(j.state in ("done", "failed", "cancelled") for j in session.scalars(select(Job)))

    wait_until(all_finished, 180, "every job to finish on the live worker")
    session.expire_all()
    states = {j.id: (j.state, j.attempts, j.error) for j in session.scalars(select(Job))}
    assert all(s == "done" for s, _a, _e in states.values()), states
    assert states[long_job][1] == 2  # the killed attempt, then the one that finished
    recs = session.scalars(select(Recording)).all()
    assert sorted(r.status for r in recs) == ["ready"] * 3
    assert all(r.proxy_path and r.proxy_path.startswith("proxies/") for r in recs)
    report = films.check_store(session, people["res"], settings, checksums=True)
    assert report.orphans == [] and report.partial == [] and report.missing == [] and report.mismatched == []
    store = open_store(settings)
    assert len(store.list_keys("originals/")) == 3 and len(store.list_keys("proxies/")) == 3
    leftovers = [p for p in settings.data_dir.rglob("*") if p.is_file() and (".partial" in p.name or ".part" in p.name)]
    assert leftovers == []
    scratch = jobs.scratch_root(settings)
    assert not scratch.exists() or not any(scratch.iterdir())
    if settings.media_url:  # S3: no media stays on local disk after the jobs
        assert not list((settings.data_dir / "media").rglob("*.mp4"))


def test_sigkill_mid_transcode_embedded_queue_folder_store(
    session, people, settings, job_env, workers, film_study, tmp_path
):
    s = Settings.from_env(job_env)
    _run_and_kill(session, people, s, workers, film_study, tmp_path)


@pytest.mark.skipif(not redis_answers(REDIS_URL), reason="ANNOTATE_TEST_REDIS_URL not set or Redis not answering")
def test_sigkill_mid_transcode_redis_queue_s3_store(
    session, people, settings, job_env, workers, film_study, tmp_path, s3_env
):
    job_env.update({"ANNOTATE_JOBS_URL": REDIS_URL, **s3_env})
    s = Settings.from_env(job_env)
    _run_and_kill(session, people, s, workers, film_study, tmp_path)
