"""Backups as jobs: a backup with media of 200 hours of film takes long; a worker does it and
`annotate jobs` shows it. Idempotent: the backup is written into a hidden sibling folder owned by
the job (``.<name>.job<id>.partial``), removed before every attempt, and renamed to the target only
when complete; a target that already holds this job's finished backup is kept."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db.models import User
from annotate.db.models_jobs import Job
from annotate.services import jobs
from annotate.services.accounts.users import actor_of
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ServiceError
from annotate.services.exchange.backup import backup
from annotate.services.jobs import JobContext
from annotate.store.backup_place import BackupPlace, is_bucket_url, open_backup_place

OWNER = Actor(None, "cli", "command line", "admin")


def enqueue_backup(session: Session, actor: Actor, settings: Settings, target: Path | str, *, with_media: bool) -> Job:
    """Queue a backup into ``target``, a folder or ``s3://bucket/prefix`` (new or empty when the job starts)."""
    require_role(actor, "admin")
    open_backup_place(target, settings.s3_endpoint)  # a target that is not understood is refused now
    return jobs.enqueue(
        session,
        settings,
        "backup",
        {"target": str(target) if is_bucket_url(target) else str(Path(target).resolve()), "with_media": with_media},
        created_by=actor.user_id,
    )


def _partial(target: Path, job_id: int) -> Path:
    return target.with_name(f".{target.name}.job{job_id}.partial")


def run_backup(ctx: JobContext) -> dict[str, Any]:
    with ctx.sessions() as s:
        user = s.get(User, ctx.created_by) if ctx.created_by else None
        actor = actor_of(user) if user else OWNER
    if is_bucket_url(ctx.payload["target"]):
        return _run_bucket_backup(ctx, actor)
    target = Path(ctx.payload["target"])
    marker = target / ".job"
    if (target / "backup.json").is_file() and marker.is_file() and marker.read_text().strip() == str(ctx.job_id):
        return {"directory": str(target)}  # an earlier attempt finished; only its bookkeeping was lost
    if target.exists() and any(target.iterdir()):
        raise ServiceError(f"{target} is not empty; back up into a new folder so no earlier backup is overwritten.")
    work = _partial(target, ctx.job_id)
    shutil.rmtree(work, ignore_errors=True)
    ctx.progress(0.05, "copying the database")
    res = backup(ctx.settings, actor, work, with_media=bool(ctx.payload.get("with_media")), marker=str(ctx.job_id))
    ctx.progress(0.99, "finishing")
    if target.exists():
        target.rmdir()  # empty, checked above
    work.rename(target)
    return {"directory": str(target), "media_files": res.media_files, "media_bytes": res.media_bytes}


def _mine(place: BackupPlace, job_id: int) -> bool:
    return place.exists(".job") and place.get_bytes(".job").decode().strip() == str(job_id)


def _run_bucket_backup(ctx: JobContext, actor: Actor) -> dict[str, Any]:
    """In a bucket there is no rename: the job's marker is the first object written, so a retry
    knows a half-written backup as its own and starts it again; ``backup.json`` is the last."""
    place = open_backup_place(ctx.payload["target"], ctx.settings.s3_endpoint)
    if _mine(place, ctx.job_id):
        if place.exists("backup.json"):
            return {"directory": place.url}  # an earlier attempt finished; only its bookkeeping was lost
        place.clear()
    ctx.progress(0.05, "copying the database")
    res = backup(ctx.settings, actor, place.url, with_media=bool(ctx.payload.get("with_media")), marker=str(ctx.job_id))
    return {"directory": place.url, "media_files": res.media_files, "media_bytes": res.media_bytes}


def run_backup_failed(ctx: JobContext, reason: str) -> None:
    """A failed backup leaves no half folder (or half prefix) that could be mistaken for a backup."""
    if is_bucket_url(ctx.payload["target"]):
        place = open_backup_place(ctx.payload["target"], ctx.settings.s3_endpoint)
        if _mine(place, ctx.job_id):
            place.clear()
        return
    shutil.rmtree(_partial(Path(ctx.payload["target"]), ctx.job_id), ignore_errors=True)
