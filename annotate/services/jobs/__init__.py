"""Background jobs: long work (ingest, clip packages, backups) that outlives the browser and
runs on any number of workers. Huey carries job ids (SQLite file in the data folder, or Redis
from ``ANNOTATE_JOBS_URL``); the ``job`` table records state, progress, attempts and the lease
that lets a live worker take over the job of a dead one. See DESIGN.md, "Jobs and the media store".

The names below are the capability's public API.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db.models_jobs import JOB_STATES, Job
from annotate.services.accounts import audit
from annotate.services.actor import Actor
from annotate.services.jobs.files import FILE_ROLES, JobFile, MyJob, job_file, job_file_url, my_jobs
from annotate.services.jobs.queue import huey_for, pending_messages, queue_location, recover, run_worker, send
from annotate.services.jobs.runner import HANDLERS, JobContext, JobLost, execute, scratch_root
from annotate.services.jobs.state import ACTIVE, JobInfo, Recovered, get, list_jobs, require_not


def enqueue(
    session: Session,
    settings: Settings,
    kind: str,
    payload: dict[str, Any],
    *,
    study_id: int | None = None,
    recording_id: int | None = None,
    created_by: int | None = None,
    send_now: bool = True,
) -> Job:
    """Record a job, commit, and put it on the queue (``send_now=False``: the caller runs it)."""
    from annotate.services.jobs import state

    job = state.create(session, kind, payload, study_id=study_id, recording_id=recording_id, created_by=created_by)
    session.commit()
    if send_now:
        send(settings, job.id)
    return job


def retry(session: Session, actor: Actor, settings: Settings, job_id: int) -> JobInfo:
    """A failed or cancelled job queued again with fresh attempts (audited)."""
    from annotate.services.jobs import state

    job = state.mark_retry(session, actor, job_id)
    if job.kind == "ingest" and job.recording_id is not None:
        from annotate.db.models import Recording

        rec = session.get(Recording, job.recording_id)
        if rec is not None and rec.status == "failed":
            rec.status, rec.error = "processing", None
    audit.record(session, actor, "jobs.retry", study_id=job.study_id, job=job.id, kind=job.kind)
    session.commit()
    send(settings, job.id)
    return state.info(session, job)


def cancel(session: Session, actor: Actor, settings: Settings, job_id: int) -> JobInfo:
    """Cancel a queued or running job (audited). A queued ingest's film is marked failed at once;
    a running one stops at its next progress report and undoes its partial work."""
    from annotate.services.jobs import runner, state

    job = state.mark_cancelled(session, actor, job_id)
    audit.record(session, actor, "jobs.cancel", study_id=job.study_id, job=job.id, kind=job.kind)
    session.commit()
    if job.worker is None:  # nobody is running it: undo here
        runner.fail_for_good(settings, [job.id])
    return state.info(session, job)


__all__ = [
    "ACTIVE",
    "FILE_ROLES",
    "HANDLERS",
    "JOB_STATES",
    "JobContext",
    "JobFile",
    "JobInfo",
    "JobLost",
    "MyJob",
    "Recovered",
    "cancel",
    "enqueue",
    "execute",
    "get",
    "huey_for",
    "job_file",
    "job_file_url",
    "list_jobs",
    "my_jobs",
    "pending_messages",
    "queue_location",
    "recover",
    "require_not",
    "retry",
    "run_worker",
    "scratch_root",
    "send",
]
