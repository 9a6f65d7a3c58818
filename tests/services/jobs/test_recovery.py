"""The job record without worker processes: one claim wins, leases that run out are recovered
(retry, or fail for good with the reason and the partial files removed), a film left
``processing`` by a dead program is marked failed at start-up, cancel stops a running job."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from annotate.db.models import Recording
from annotate.db.models_jobs import Job
from annotate.services import films, jobs
from annotate.services.errors import ConflictError
from annotate.services.jobs import state
from annotate.store import open_store, proxy_key
from tests.support.synthetic import make_synthetic_film


@pytest.fixture
def one_film(session, settings, people, tmp_path):
    from annotate.services import studies

    studies.create_study(
        session, people["res"], settings, "R", arms="A,B", timepoints="t0", scheme_key="ainsworth_sensitivity"
    )
    studies.import_participants(session, people["res"], "R", "participant,arm\nP1,A\n")
    session.commit()
    film = make_synthetic_film(tmp_path / "P1.mp4", 2, 160, 120, 15, seed=4)
    [q] = films.enqueue_ingest(session, people["res"], settings, "R", [films.IngestItem(film, "P1", "t0")])
    return q


def _expire(session, job_id):
    session.execute(
        update(Job).where(Job.id == job_id).values(lease_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    )
    session.commit()


def test_only_one_claim_wins(session, one_film):
    assert state.claim(session, one_film.job_id, "host:1:a", 60)
    assert not state.claim(session, one_film.job_id, "host:2:b", 60)
    assert session.get(Job, one_film.job_id).attempts == 1


def test_expired_lease_is_queued_again_then_runs(session, settings, one_film):
    assert state.claim(session, one_film.job_id, "dead-host:1:w", 60)
    _expire(session, one_film.job_id)
    got = jobs.recover(settings)
    assert got.requeued == [one_film.job_id] and got.failed == []
    session.expire_all()
    job = session.get(Job, one_film.job_id)
    assert job.state == "queued" and "dead-host" in job.message
    assert jobs.execute(settings, one_film.job_id) == "done"
    session.expire_all()
    assert session.get(Job, one_film.job_id).attempts == 2
    rec = session.scalars(select(Recording)).one()
    assert rec.status == "ready" and rec.proxy_path == proxy_key(session.get(Job, one_film.job_id).payload["name"])


def test_out_of_attempts_fails_with_reason_and_removes_partial_files(session, settings, one_film):
    job = session.get(Job, one_film.job_id)
    store = open_store(settings)
    store.put_bytes(job.payload["original"], b"half an original")  # what the dead attempt had written
    store.put_bytes(proxy_key(job.payload["name"]), b"half a proxy")
    for n in range(job.max_attempts):
        if n:
            session.execute(update(Job).where(Job.id == job.id).values(state="queued"))
            session.commit()
        assert state.claim(session, job.id, f"host:{n}:w", 60)
        _expire(session, job.id)
        jobs.recover(settings)
    session.expire_all()
    job = session.get(Job, one_film.job_id)
    assert job.state == "failed" and "stopped 3 time(s)" in job.error
    rec = session.scalars(select(Recording)).one()
    assert rec.status == "failed" and "stopped 3 time(s)" in rec.error
    assert store.list_keys("originals/") == []
    assert store.list_keys("proxies/") == []


def test_film_left_processing_without_a_job_is_failed_at_start(session, settings, one_film):
    session.execute(update(Job).values(state="done"))  # as if the old in-process ingest had died
    session.commit()
    jobs.recover(settings)
    session.expire_all()
    rec = session.scalars(select(Recording)).one()
    assert rec.status == "failed" and "interrupted" in rec.error


def test_cancel_stops_a_running_job_at_its_next_heartbeat(session, settings, people, one_film):
    assert state.claim(session, one_film.job_id, "host:1:w", 60)
    jobs.cancel(session, people["res"], settings, one_film.job_id)
    assert not state.heartbeat(session, one_film.job_id, "host:1:w", 60, 0.5, "making the browser copy")
    with pytest.raises(ConflictError, match="already cancelled"):
        jobs.cancel(session, people["res"], settings, one_film.job_id)


def test_rater_sees_no_jobs(session, people, one_film):
    from annotate.services.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        jobs.list_jobs(session, people["r1"], "R")
    assert [j.state for j in jobs.list_jobs(session, people["res"], "R")] == ["queued"]


def test_recovery_keeps_the_scratch_folder_of_an_attempt_claimed_after_its_snapshot(session, settings, one_film):
    """The CI race: one worker's recovery requeues a dead worker's job, another worker claims it
    and starts writing in its scratch folder, then the first recovery's clean-up runs on its old
    snapshot. The new attempt's folder must survive; the dead attempt's must go."""
    from annotate.services.jobs import queue, runner

    job_id = one_film.job_id
    assert state.claim(session, job_id, "dead-host:1:w", 60)
    dead = runner.scratch_dir(settings, job_id, 1)
    dead.mkdir(parents=True)
    _expire(session, job_id)
    assert state.expired(session, settings.job_lease_seconds).requeued == [job_id]
    snapshot_after_requeue = {job_id: (1, False)}  # what recovery saw: attempt 1 over, job queued
    assert state.claim(session, job_id, "live-host:2:w", 60)  # claimed before the clean-up ran
    live = runner.scratch_dir(settings, job_id, 2)
    live.mkdir(parents=True)
    for d in (dead, live):
        if queue._scratch_is_over(d.name, snapshot_after_requeue):
            d.rmdir()
    assert live.is_dir() and not dead.exists()
    # and the full recovery, run now, keeps the running attempt's folder too
    jobs.recover(settings)
    assert live.is_dir()


@pytest.mark.parametrize(
    ("name", "snapshot", "over"),
    [
        ("7.1", {7: (1, True)}, False),  # running attempt
        ("7.1", {7: (1, False)}, True),  # finished or requeued attempt
        ("7.1", {7: (2, True)}, True),  # an older attempt of a running job
        ("7.3", {7: (2, False)}, False),  # claimed after the snapshot
        ("9.1", {7: (1, False)}, False),  # a job committed after the snapshot
        ("3.1", {7: (1, False)}, True),  # a job removed since
        ("7", {7: (1, False)}, True),  # the layout of an older version
        ("notes", {7: (1, False)}, True),
    ],
)
def test_scratch_is_over(name, snapshot, over):
    from annotate.services.jobs.queue import _scratch_is_over

    assert _scratch_is_over(name, snapshot) is over
