"""Session packages as jobs: a package of many clips (re-encoded, captions burnt in) takes
minutes; a worker builds it and keeps the zip in the media store (``exports/<hex>.zip``) for the
clinician who asked. Idempotent: the key is fixed when queued, and a rerun overwrites it."""

from __future__ import annotations

import secrets
import shutil
from typing import Any

from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db.models_jobs import Job
from annotate.services import jobs
from annotate.services.accounts import actor_by_id
from annotate.services.actor import Actor
from annotate.services.clips.clips import export_session, session_plan
from annotate.services.errors import PermissionDenied, ServiceError
from annotate.services.jobs import JobContext


def enqueue_session_package(
    session: Session,
    actor: Actor,
    settings: Settings,
    family: str,
    session_no: int,
    *,
    burn_captions: bool = False,
    study_key: str | None = None,
) -> Job:
    """Queue the session package of ``family``'s session ``session_no`` (checked now, built by a worker)."""
    plan = session_plan(session, actor, settings, family, session_no, study_key=study_key)
    if not plan.clips:
        raise ServiceError(f"Session {session_no} of family {family} has no clips yet: add clips to it first.")
    payload = {
        "family": family,
        "session_no": session_no,
        "burn_captions": burn_captions,
        "study_key": study_key,
        "key": f"exports/{secrets.token_hex(16)}.zip",
        "name": f"family-{family}-session-{session_no}.zip",
    }
    return jobs.enqueue(session, settings, "clip_package", payload, created_by=actor.account_id)


def run_clip_package(ctx: JobContext) -> dict[str, Any]:
    p = ctx.payload
    with ctx.sessions() as s:
        asker = actor_by_id(
            s, ctx.created_by, f"The clinician who asked for job {ctx.job_id} no longer has an account."
        )
        zip_path = export_session(
            s,
            asker,
            ctx.settings,
            p["family"],
            int(p["session_no"]),
            burn_captions=bool(p["burn_captions"]),
            study_key=p.get("study_key"),
            progress=lambda f: ctx.progress(0.95 * f, "making the clips"),
        )
        s.commit()  # the audit entry of the export
    try:
        ctx.store.put_file(zip_path, p["key"], move=True)
    finally:
        shutil.rmtree(zip_path.parent, ignore_errors=True)
    return {"key": p["key"], "name": p["name"]}


def run_clip_package_failed(ctx: JobContext, reason: str) -> None:
    ctx.store.delete(ctx.payload["key"])


def package_download(session: Session, actor: Actor, settings: Settings, job_id: int) -> tuple[str, bytes]:
    """(file name, zip bytes) of a finished session-package job, for the clinician who asked."""
    from annotate.store import open_store

    job = jobs.get(session, job_id)
    if job.kind != "clip_package" or job.created_by != actor.user_id:
        raise PermissionDenied("This package was made for another account.")
    if job.state != "done":
        raise ServiceError(f"Job {job_id} is {job.state}; the package is not ready.")
    return str(job.result["name"]), open_store(settings).get_bytes(str(job.result["key"]))
