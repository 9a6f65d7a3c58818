"""Clinicians' clips: mark, tag and order moments of their own families' intervention films, and
export a session package that plays offline in the family's home.

Clinicians see only their caseload's intervention films, never assessment films or ratings.
In/out points are snapped to the film's frame grid here, so what the clinician marked is what
the package plays.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.config import Settings, get_settings
from annotate.db.models import Clip, FeedbackSession, Participant, Recording, Study
from annotate.media import MediaError
from annotate.media.activity import ActivityCurve
from annotate.media.clips import clip_frame_range
from annotate.media.package import PackageClip, build_session_package
from annotate.schemes import ClipVocabulary, SchemeError, parse_vocabulary
from annotate.services import policy
from annotate.services.accounts import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import NotFound, PermissionDenied, ServiceError
from annotate.services.films.activity import cached_activity
from annotate.store import open_store

log = logging.getLogger(__name__)
VOCABULARY = "vipp_feedback_clips"


@dataclass(frozen=True)
class ClipInfo:
    clip_id: int
    film: str
    family: str
    in_s: float
    out_s: float
    length_s: float
    tags: dict[str, list[str]]
    tag_labels: list[str]
    caption: str
    note: str
    session_no: int | None
    order: int | None
    length_warning: str | None


@dataclass(frozen=True)
class SessionPlan:
    family: str
    session_no: int
    opening_note: str
    closing_note: str
    clips: list[ClipInfo]


def vocabulary(settings: Settings) -> ClipVocabulary:
    """The clip vocabulary, parsed once per change of its file (pages ask on every rerun)."""
    path = Path(settings.schemes_dir) / f"{VOCABULARY}.yaml"
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        raise ServiceError(f"The clip vocabulary {VOCABULARY}.yaml is missing from {settings.schemes_dir}.") from None
    return _parsed_vocabulary(str(path), stamp)


@lru_cache(maxsize=4)
def _parsed_vocabulary(path: str, _mtime_ns: int) -> ClipVocabulary:
    try:
        return parse_vocabulary(Path(path).read_text(encoding="utf-8"), origin=path)
    except SchemeError as exc:
        raise ServiceError(str(exc)) from None


def _caseload_film(session: Session, actor: Actor, blind_code: str) -> Recording:
    require_role(actor, "clinician")
    rec = session.scalar(select(Recording).where(Recording.blind_code == blind_code))
    if rec is None or rec.status != "ready":
        raise NotFound(f"No film {blind_code}.")
    if not policy.may_view_recording(session, actor.user_id, actor.role, rec.id):
        if rec.purpose != "intervention":
            raise PermissionDenied(
                "This is an assessment film of the trial; clinicians work with intervention films only."
            )
        raise PermissionDenied("This film belongs to a family outside your caseload.")
    return rec


def _family(session: Session, actor: Actor, family: str, study_key: str | None) -> Participant:
    """The caseload family with this id; a family id is unique only within a study, so the study is
    needed when the clinician has families of that id in two studies."""
    require_role(actor, "clinician")
    query = (
        select(Participant, Study.key)
        .join(Study, Participant.study_id == Study.id)
        .where(Participant.external_id == family, Participant.clinician_id == actor.user_id)
    )
    if study_key is not None:
        query = query.where(Study.key == study_key)
    found = session.execute(query).all()
    if not found:
        raise PermissionDenied(f"Family {family} is not in your caseload.")
    if len(found) > 1:
        keys = ", ".join(sorted(k for _, k in found))
        raise ServiceError(f"Family {family} is in your caseload in several studies ({keys}); choose the study.")
    return found[0][0]


def _snap(rec: Recording, in_s: float, out_s: float) -> tuple[float, float]:
    fps = rec.fps or 25.0
    try:
        first, end = clip_frame_range(in_s, out_s, fps, rec.duration_s or 0.0)
    except (MediaError, ValueError) as exc:
        raise ServiceError(str(exc)) from None
    return first / fps, end / fps


def _info(clip: Clip, rec: Recording, vocab: ClipVocabulary) -> ClipInfo:
    length = clip.out_s - clip.in_s
    limits = vocab.clip_length
    warning = None
    if length < limits.min_seconds or length > limits.max_seconds:
        warning = (
            f"This clip is {length:.1f} s; feedback clips are usually {limits.min_seconds:g}–{limits.max_seconds:g} s."
        )
    labels = [vocab.label_of(g, t) for g, tags in (clip.tags or {}).items() for t in tags]
    return ClipInfo(
        clip_id=clip.id,
        film=rec.blind_code,
        family=rec.participant.external_id if rec.participant else "",
        in_s=clip.in_s,
        out_s=clip.out_s,
        length_s=length,
        tags=dict(clip.tags or {}),
        tag_labels=labels,
        caption=clip.caption,
        note=clip.note,
        session_no=clip.session_no,
        order=clip.order_index,
        length_warning=warning,
    )


def save_clip(
    session: Session,
    actor: Actor,
    settings: Settings,
    blind_code: str,
    in_s: float,
    out_s: float,
    *,
    tags: dict[str, list[str]],
    caption: str = "",
    note: str = "",
    clip_id: int | None = None,
) -> ClipInfo:
    """Create (or, with ``clip_id``, change) a clip; in/out snapped to frames, tags checked."""
    rec = _caseload_film(session, actor, blind_code)
    vocab = vocabulary(settings)
    start, end = _snap(rec, in_s, out_s)
    try:
        tags = vocab.check_tags(tags)
    except SchemeError as exc:
        raise ServiceError(str(exc)) from None
    if clip_id is None:
        clip = Clip(recording_id=rec.id, clinician_id=actor.user_id, in_s=start, out_s=end)
        session.add(clip)
    else:
        found = session.get(Clip, clip_id)
        if found is None or found.clinician_id != actor.user_id or found.recording_id != rec.id:
            raise NotFound(f"Clip {clip_id} is not one of yours on this film.")
        clip = found
        clip.in_s, clip.out_s = start, end
    clip.tags, clip.caption, clip.note = tags, caption.strip(), note.strip()
    session.flush()
    return _info(clip, rec, vocab)


def delete_clip(session: Session, actor: Actor, clip_id: int) -> None:
    require_role(actor, "clinician")
    clip = session.get(Clip, clip_id)
    if clip is None or clip.clinician_id != actor.user_id:
        raise NotFound(f"Clip {clip_id} is not one of yours.")
    session.delete(clip)


def family_clips(
    session: Session, actor: Actor, settings: Settings, family: str, *, study_key: str | None = None
) -> list[ClipInfo]:
    part = _family(session, actor, family, study_key)
    vocab = vocabulary(settings)
    rows = session.execute(
        select(Clip, Recording)
        .join(Recording, Clip.recording_id == Recording.id)
        .where(Recording.participant_id == part.id, Clip.clinician_id == actor.user_id)
        .order_by(Clip.session_no, Clip.order_index, Recording.id, Clip.in_s)
    ).all()
    return [_info(c, r, vocab) for c, r in rows]


def plan_session(
    session: Session,
    actor: Actor,
    family: str,
    session_no: int,
    clip_ids: list[int],
    *,
    opening_note: str = "",
    closing_note: str = "",
    study_key: str | None = None,
) -> int:
    """Put clips (in this order) into feedback session ``session_no`` of a family, with notes.
    Returns how many clips the session now has."""
    part = _family(session, actor, family, study_key)
    if session_no < 1:
        raise ServiceError("Session numbers start at 1.")
    clips = {
        c.id: c
        for c in session.scalars(
            select(Clip)
            .join(Recording, Clip.recording_id == Recording.id)
            .where(Recording.participant_id == part.id, Clip.clinician_id == actor.user_id)
        )
    }
    unknown = [i for i in clip_ids if i not in clips]
    if unknown:
        raise NotFound(f"Clip(s) {', '.join(map(str, unknown))} are not clips of family {family}.")
    for c in clips.values():
        if c.session_no == session_no and c.id not in clip_ids:
            c.session_no, c.order_index = None, None
    for order, cid in enumerate(clip_ids, start=1):
        clips[cid].session_no, clips[cid].order_index = session_no, order
    fs = session.scalar(
        select(FeedbackSession).where(
            FeedbackSession.participant_id == part.id, FeedbackSession.session_no == session_no
        )
    )
    if fs is None:
        fs = FeedbackSession(participant_id=part.id, clinician_id=actor.user_id, session_no=session_no)
        session.add(fs)
    fs.opening_note, fs.closing_note = opening_note.strip(), closing_note.strip()
    session.flush()
    return len(clip_ids)


def session_plan(
    session: Session, actor: Actor, settings: Settings, family: str, session_no: int, *, study_key: str | None = None
) -> SessionPlan:
    part = _family(session, actor, family, study_key)
    fs = session.scalar(
        select(FeedbackSession).where(
            FeedbackSession.participant_id == part.id, FeedbackSession.session_no == session_no
        )
    )
    clips = [
        c for c in family_clips(session, actor, settings, family, study_key=study_key) if c.session_no == session_no
    ]
    return SessionPlan(
        family,
        session_no,
        fs.opening_note if fs else "",
        fs.closing_note if fs else "",
        sorted(clips, key=lambda c: c.order or 0),
    )


def export_session(
    session: Session,
    actor: Actor,
    settings: Settings,
    family: str,
    session_no: int,
    *,
    burn_captions: bool = False,
    progress=None,
    study_key: str | None = None,
) -> Path:
    """Write the session package (zip) and return its path; audited. Holds nothing of other families."""
    plan = session_plan(session, actor, settings, family, session_no, study_key=study_key)
    if not plan.clips:
        raise ServiceError(f"Session {session_no} of family {family} has no clips yet: add clips to it first.")
    vocab = vocabulary(settings)
    store = open_store(settings)
    out_dir = Path(
        tempfile.mkdtemp(prefix="annotate-session-", dir=settings.data_dir if settings.data_dir.exists() else None)
    )
    out = out_dir / f"family-{family}-session-{session_no}.zip"
    with contextlib.ExitStack() as films_here:  # S3: the proxies are fetched for the build, then removed
        items = []
        for c in plan.clips:
            rec = session.scalars(select(Recording).where(Recording.blind_code == c.film)).one()
            if not rec.proxy_path:
                raise ServiceError(f"Film {c.film} has no browser copy yet; wait for its ingest job.")
            proxy = films_here.enter_context(store.readable(rec.proxy_path, out_dir / "films"))
            polarity = [vocab.label_of("polarity", t) for t in c.tags.get("polarity", [])]
            labels = [vocab.label_of(g, t) for g, ts in c.tags.items() if g != "polarity" for t in ts]
            items.append(
                PackageClip(
                    proxy,
                    c.in_s,
                    c.out_s,
                    labels=tuple(labels),
                    polarity=", ".join(polarity),
                    caption=c.caption,
                    notes=c.note,
                    order=c.order or 0,
                )
            )
        try:
            build_session_package(
                out,
                items,
                title=f"Feedback session {session_no}",
                opening_note=plan.opening_note,
                closing_note=plan.closing_note,
                family_label=f"Family {family}",
                session_no=session_no,
                burn_captions=burn_captions,
                progress=progress,
            )
        except (MediaError, ValueError) as exc:
            log.exception("session package of %d clip(s) could not be made", len(items))
            raise ServiceError(f"The session package could not be made: {exc}") from None
    audit.record(session, actor, "clips.export", family=family, session_no=session_no, clips=len(items))
    return out


def film_activity(session: Session, actor: Actor, blind_code: str) -> ActivityCurve:
    """Motion and loudness over time for a caseload film (to find moments fast)."""
    rec = _caseload_film(session, actor, blind_code)
    return cached_activity(rec)


def film_thumbnails(session: Session, actor: Actor, blind_code: str) -> list[bytes]:
    """The filmstrip made at ingest (small JPEGs at evenly spaced times), read from the media store."""
    rec = _caseload_film(session, actor, blind_code)
    if not rec.thumbs_dir:
        return []
    store = open_store(get_settings())
    return [store.get_bytes(k) for k in store.list_keys(rec.thumbs_dir + "/") if k.endswith(".jpg")]
