"""The job record: states, leases, retry and cancel. The queue only carries job ids; this table
is the truth that every researcher's Films page and ``annotate jobs`` read.

A job moves ``queued`` → ``running`` (claimed atomically by one worker, with a lease) →
``done`` | ``failed``; ``cancelled`` from queued or running. A running job renews its lease
while it works; a lease that runs out means its worker died, and :func:`recover` queues it again
(or fails it with the reason once it has used ``max_attempts``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from annotate.db.models import Recording, Study, User
from annotate.db.models_jobs import JOB_STATES, Job
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ConflictError, NotFound

ACTIVE = ("queued", "running")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return t.replace(tzinfo=dt.UTC) if t is not None and t.tzinfo is None else t


@dataclass(frozen=True)
class JobInfo:
    id: int
    kind: str
    state: str
    progress: float
    message: str
    error: str | None
    attempts: int
    film: str | None
    study: str | None
    worker: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    updated_at: str


def _iso(t: dt.datetime | None) -> str | None:
    t = _aware(t)
    return t.isoformat(timespec="seconds") if t is not None else None


def info(session: Session, job: Job) -> JobInfo:
    code = session.scalar(select(Recording.blind_code).where(Recording.id == job.recording_id))
    study = session.scalar(select(Study.key).where(Study.id == job.study_id))
    return JobInfo(
        id=job.id,
        kind=job.kind,
        state=job.state,
        progress=round(float(job.progress), 4),
        message=job.message,
        error=job.error,
        attempts=job.attempts,
        film=code,
        study=study,
        worker=job.worker,
        created_at=_iso(job.created_at) or "",
        started_at=_iso(job.started_at),
        finished_at=_iso(job.finished_at),
        updated_at=_iso(job.updated_at) or "",
    )


def create(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    study_id: int | None = None,
    recording_id: int | None = None,
    created_by: int | None = None,
    max_attempts: int = 3,
) -> Job:
    """A queued job row (the caller commits, then sends its id to the queue)."""
    job = Job(
        kind=kind,
        payload=payload,
        study_id=study_id,
        recording_id=recording_id,
        created_by=created_by,
        state="queued",
        progress=0.0,
        message="waiting for a worker",
        attempts=0,
        max_attempts=max_attempts,
        result={},
        created_at=now(),
        updated_at=now(),
    )
    session.add(job)
    session.flush()
    return job


def claim(session: Session, job_id: int, worker: str, lease_seconds: float) -> bool:
    """Take a queued job for ``worker`` (one UPDATE: two workers given the same id cannot both win)."""
    t = now()
    res = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == "queued")
        .values(
            state="running",
            worker=worker,
            attempts=Job.attempts + 1,
            lease_until=t + dt.timedelta(seconds=lease_seconds),
            started_at=t,
            updated_at=t,
            message="started",
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(res.rowcount)  # type: ignore[attr-defined]


def heartbeat(
    session: Session, job_id: int, worker: str, lease_seconds: float, progress: float | None, message: str | None
) -> bool:
    """Renew the lease (and record progress); False when the job is no longer this worker's
    (cancelled, or taken over after the lease ran out): the worker must stop."""
    t = now()
    values: dict[str, Any] = {"lease_until": t + dt.timedelta(seconds=lease_seconds), "updated_at": t}
    if progress is not None:
        values["progress"] = max(0.0, min(1.0, progress))
    if message is not None:
        values["message"] = message[:2000]
    res = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == "running", Job.worker == worker)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(res.rowcount)  # type: ignore[attr-defined]


def finish(session: Session, job_id: int, worker: str, state: str, error: str | None, result: dict[str, Any]) -> bool:
    if state not in JOB_STATES:
        raise ValueError(state)
    t = now()
    res = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == "running", Job.worker == worker)
        .values(
            state=state,
            error=error,
            result=result,
            progress=1.0 if state == "done" else Job.progress,
            message="done" if state == "done" else (error or state)[:2000],
            lease_until=None,
            finished_at=t,
            updated_at=t,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(res.rowcount)  # type: ignore[attr-defined]


def requeue(session: Session, job_id: int, worker: str, reason: str) -> bool:
    t = now()
    res = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == "running", Job.worker == worker)
        .values(state="queued", worker=None, lease_until=None, updated_at=t, message=f"will retry: {reason}"[:2000])
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(res.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Recovered:
    requeued: list[int]
    failed: list[int]
    resent: list[int]


def expired(session: Session, lease_seconds: float) -> Recovered:
    """Jobs whose worker died: running with a lapsed lease → queued again, or failed after
    ``max_attempts``; queued jobs nobody claimed for a whole lease (their queue message was taken
    by a worker that died before claiming) are reported to be sent again. Commits."""
    t = now()
    requeued, failed = [], []
    for job in session.scalars(select(Job).where(Job.state == "running", Job.lease_until < t)).all():
        who = job.worker or "a worker"
        if job.attempts >= job.max_attempts:
            job.state, job.finished_at, job.lease_until = "failed", t, None
            job.error = (
                f"The worker running this job stopped {job.attempts} time(s) (last: {who}); "
                "check the worker's log (memory, disk), then Retry."
            )
            job.message = job.error
            failed.append(job.id)
        else:
            job.state, job.worker, job.lease_until = "queued", None, None
            job.message = f"retrying: {who} stopped while running it"
            requeued.append(job.id)
        job.updated_at = t
    stale = t - dt.timedelta(seconds=lease_seconds)
    resent = []
    for job in session.scalars(select(Job).where(Job.state == "queued", Job.updated_at < stale)).all():
        job.updated_at = t
        resent.append(job.id)
    session.commit()
    return Recovered(requeued, failed, resent)


def get(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"No job {job_id}: see `annotate jobs` for the list.")
    return job


def list_jobs(session: Session, actor: Actor, study_key: str | None = None, limit: int = 500) -> list[JobInfo]:
    """Jobs newest first, of one study or all (researchers and admins)."""
    require_role(actor, "researcher")  # admins too
    q = select(Job).order_by(Job.id.desc()).limit(limit)
    if study_key is not None:
        study_id = session.scalar(select(Study.id).where(Study.key == study_key))
        if study_id is None:
            raise NotFound(f"No study {study_key!r}.")
        q = q.where(Job.study_id == study_id)
    return [info(session, j) for j in session.scalars(q).all()]


def mark_retry(session: Session, actor: Actor, job_id: int) -> Job:
    """A failed or cancelled job back to queued, with fresh attempts (the caller sends it)."""
    require_role(actor, "researcher")  # admins too
    job = get(session, job_id)
    if job.state not in ("failed", "cancelled"):
        raise ConflictError(f"Job {job_id} is {job.state}; only failed or cancelled jobs can be retried.")
    job.state, job.error, job.progress, job.attempts = "queued", None, 0.0, 0
    job.message, job.worker, job.lease_until, job.finished_at, job.updated_at = (
        "waiting for a worker",
        None,
        None,
        None,
        now(),
    )
    session.flush()
    return job


def mark_cancelled(session: Session, actor: Actor, job_id: int) -> Job:
    """Cancel a queued or running job; a running worker notices at its next heartbeat and stops."""
    require_role(actor, "researcher")  # admins too
    job = get(session, job_id)
    if job.state not in ACTIVE:
        raise ConflictError(f"Job {job_id} is already {job.state}.")
    job.state, job.message, job.lease_until, job.finished_at, job.updated_at = (
        "cancelled",
        "cancelled",
        None,
        now(),
        now(),
    )
    user = session.get(User, actor.user_id) if actor.user_id else None
    job.error = f"cancelled by {user.username}" if user else "cancelled"
    session.flush()
    return job


def require_not(session: Session, recording_id: int) -> None:
    """Refuse while a job of the recording is queued or running."""
    busy = session.scalar(select(Job.id).where(Job.recording_id == recording_id, Job.state.in_(ACTIVE)))
    if busy:
        raise ConflictError(f"Job {busy} of this film is still {ACTIVE[0]} or running; cancel it first.")
