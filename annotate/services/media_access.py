"""Who may stream which film: checked again on every media request, not only when a page is built."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import Assignment, Recording, Segment, User
from annotate.services.errors import NotFound, PermissionDenied


def proxy_for(session: Session, blind_code: str, user_id: int) -> Path:
    """The proxy file of ``blind_code`` if user ``user_id`` may watch it.

    Raters: assessment films they have an assignment on. Clinicians: intervention films of
    families in their caseload. Researchers and admins: every film.
    """
    rec = session.scalar(select(Recording).where(Recording.blind_code == blind_code))
    if rec is None or rec.status != "ready" or not rec.proxy_path:
        raise NotFound(f"No film {blind_code}.")
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise PermissionDenied("This link was issued to an account that no longer exists.")
    if user.role == "rater":
        allowed = rec.purpose == "assessment" and session.scalar(
            select(Assignment.id)
            .join(Segment, Assignment.segment_id == Segment.id)
            .where(Segment.recording_id == rec.id, Assignment.rater_id == user.id)
            .limit(1)
        )
    elif user.role == "clinician":
        allowed = rec.purpose == "intervention" and rec.participant is not None and rec.participant.clinician_id == user.id
    else:
        allowed = True
    if not allowed:
        raise PermissionDenied("You are not assigned to this film.")
    path = Path(rec.proxy_path)
    if not path.is_file():
        raise NotFound(f"The browser copy of film {blind_code} is missing from the media store.")
    return path
