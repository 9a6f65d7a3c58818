"""The media store seen from the database: which files belong to which film, orphans, missing
files, checksums; and removing a film record that no rating uses."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db.models import Assignment, Clip, Rating, Recording, Segment
from annotate.db.models_jobs import Job
from annotate.services import jobs
from annotate.services.accounts import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ConflictError, NotFound, ReasonRequired
from annotate.store import StoreError, open_store, proxy_key, thumbs_prefix

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreReport:
    store: str
    files: int
    films: int
    orphans: list[str]  # files no film, clip or job owns
    missing: list[str]  # keys a ready film names that the store does not have
    mismatched: list[str]  # originals whose SHA-256 differs from the one recorded at ingest
    partial: list[str]  # half-written files (a write was interrupted)


def _owned(session: Session) -> tuple[set[str], set[str]]:
    """(keys, prefixes) that the database knows: films' files, and the keys of unfinished jobs."""
    keys: set[str] = set()
    prefixes: set[str] = set()
    for o, p, t in session.execute(select(Recording.original_path, Recording.proxy_path, Recording.thumbs_dir)):
        keys.update(k for k in (o, p) if k)
        if t:
            prefixes.add(t + "/")
    for job in session.scalars(select(Job).where(Job.kind == "ingest", Job.state != "done")):
        pay = job.payload
        if job.state in jobs.ACTIVE:
            keys.update(k for k in (pay.get("original"),) if k)
            if pay.get("name"):
                keys.add(proxy_key(pay["name"]))
                prefixes.add(thumbs_prefix(pay["name"]) + "/")
        if pay.get("incoming") and job.recording_id is not None:
            keys.add(pay["incoming"])  # kept for a Retry until the film is removed
    for job in session.scalars(select(Job).where(Job.result.is_not(None))):
        if isinstance(job.result, dict) and job.result.get("key"):
            keys.add(job.result["key"])
    return keys, prefixes


def check_store(
    session: Session, actor: Actor, settings: Settings, *, checksums: bool = False, delete: bool = False
) -> StoreReport:
    """Compare the store with the database (admins and researchers). ``delete`` removes orphans."""
    require_role(actor, "researcher")
    store = open_store(settings)
    present = store.list_keys("")
    keys, prefixes = _owned(session)
    partial = [k for k in present if k.endswith(".partial") or "/." in k]
    orphans = [k for k in present if k not in keys and not any(k.startswith(p) for p in prefixes) and k not in partial]
    have = set(present)
    ready = session.execute(
        select(Recording.blind_code, Recording.original_path, Recording.proxy_path, Recording.original_sha256).where(
            Recording.status == "ready"
        )
    ).all()
    missing = sorted(k for _c, o, p, _s in ready for k in (o, p) if k and k not in have)
    mismatched = []
    if checksums:
        for _code, o, _p, sha in ready:
            if o and o in have and sha and store.sha256(o) != sha:
                mismatched.append(o)
    if delete:
        for k in orphans + partial:
            store.delete(k)
        if orphans or partial:
            audit.record(session, actor, "store.delete_orphans", files=len(orphans) + len(partial))
            session.commit()
    return StoreReport(store.url, len(present), len(ready), orphans, missing, mismatched, partial)


def remove_film(session: Session, actor: Actor, settings: Settings, blind_code: str, reason: str) -> None:
    """Remove a refused or mistaken film record and its media, when no rating or clip uses it
    and no job of it is queued or running. Audited with the reason."""
    require_role(actor, "researcher")
    if not reason.strip():
        raise ReasonRequired("Say why the film record is removed (it is kept in the audit log).")
    rec = session.scalar(select(Recording).where(Recording.blind_code == blind_code))
    if rec is None:
        raise NotFound(f"No film {blind_code}.")
    jobs.require_not(session, rec.id)
    seg_ids = select(Segment.id).where(Segment.recording_id == rec.id)
    if session.scalar(select(func.count(Rating.id)).where(Rating.segment_id.in_(seg_ids))):
        raise ConflictError(f"Film {blind_code} has ratings; a rated film cannot be removed.")
    if session.scalar(select(func.count(Clip.id)).where(Clip.recording_id == rec.id)):
        raise ConflictError(f"Film {blind_code} has clinicians' clips; remove those first.")
    store = open_store(settings)
    keys = [k for k in (rec.original_path, rec.proxy_path) if k]
    for job in session.scalars(select(Job).where(Job.recording_id == rec.id)):
        pay = job.payload
        keys += [k for k in (pay.get("incoming"), pay.get("original")) if k]
        if pay.get("name"):
            keys.append(proxy_key(pay["name"]))
            store.delete_prefix(thumbs_prefix(pay["name"]))
    try:
        for k in keys:
            store.delete(k)
        if rec.thumbs_dir:
            store.delete_prefix(rec.thumbs_dir)
    except StoreError:
        log.exception("film %s: some media could not be removed; `annotate store check` lists them", blind_code)
    session.execute(delete(Assignment).where(Assignment.segment_id.in_(seg_ids)))
    session.execute(delete(Segment).where(Segment.recording_id == rec.id))
    study_id = rec.study_id
    session.delete(rec)
    audit.record(session, actor, "films.remove", study_id=study_id, film=blind_code, reason=reason)
    session.commit()
    log.info("film %s removed: %s", blind_code, reason)
