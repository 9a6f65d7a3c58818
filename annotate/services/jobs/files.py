"""The file a finished job made (an export, a session package), for the account that asked.

A job that makes a file keeps it in the media store under a random key and names it in its
result (``key``, ``name``, ``mime``). Only the account that queued the job may fetch it, and only
while its role still allows that kind of file; the web route streams it from the store.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models_jobs import Job
from annotate.services.actor import Actor, require_role
from annotate.services.errors import PermissionDenied, ServiceError
from annotate.services.jobs.state import JobInfo, get, info
from annotate.services.policy import READ_ROLES

# Kinds of job whose result is a file, and the roles that may fetch it.
FILE_ROLES: dict[str, tuple[str, ...]] = {"export": tuple(READ_ROLES), "clip_package": ("clinician",)}


@dataclass(frozen=True)
class JobFile:
    job_id: int
    name: str
    key: str
    mime: str


def job_file(session: Session, actor: Actor, job_id: int) -> JobFile:
    """The file of ``job_id`` if ``actor`` asked for it and it is done (else a clear refusal)."""
    job = get(session, job_id)
    if job.kind not in FILE_ROLES or job.created_by is None or job.created_by != actor.user_id:
        raise PermissionDenied(f"Job {job_id} made no file for {actor.username}.", actor=actor, operation="job file")
    require_role(actor, *FILE_ROLES[job.kind])
    if job.state != "done" or "key" not in (job.result or {}):
        raise ServiceError(f"Job {job_id} is {job.state}; its file is not ready.")
    result = job.result
    return JobFile(job.id, str(result["name"]), str(result["key"]), str(result.get("mime", "application/zip")))


@dataclass(frozen=True)
class MyJob:
    """One of an account's file-making jobs and what it makes, in words."""

    job: JobInfo
    title: str


def _title(job: Job) -> str:
    p = job.payload or {}
    if job.kind == "export":
        return f"{p.get('study')} · {p.get('format')} · {p.get('mode')}" + (
            f" · {p['table']}" if p.get("table") else ""
        )
    return str(p.get("name") or f"job {job.id}")


def my_jobs(session: Session, actor: Actor, kind: str, limit: int = 20) -> list[MyJob]:
    """``actor``'s own jobs of ``kind`` (newest first): what a page shows as "your files"."""
    if kind not in FILE_ROLES:
        raise ServiceError(f"Jobs of kind {kind!r} make no file; choose {', '.join(FILE_ROLES)}.")
    require_role(actor, *FILE_ROLES[kind])
    q = select(Job).where(Job.kind == kind, Job.created_by == actor.user_id).order_by(Job.id.desc()).limit(limit)
    return [MyJob(info(session, j), _title(j)) for j in session.scalars(q).all()]


def job_file_url(job_id: int) -> str:
    """The address the web server serves a finished job's file from (``annotate.web.exports``).

    Examples
    --------
    >>> job_file_url(7)
    '/api/job-file/7'
    """
    return f"/api/job-file/{int(job_id)}"
