"""Who may stream which film: checked again on every media request, not only when a page is built."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import Recording, User
from annotate.services.errors import NotFound, PermissionDenied
from annotate.services.policy import may_view_recording


def proxy_for(session: Session, blind_code: str, user_id: int) -> str:
    """The media-store key of the proxy of ``blind_code`` if user ``user_id`` may watch it.

    Who may see which film is :func:`annotate.services.policy.visible_recordings`.
    """
    rec = session.scalar(select(Recording).where(Recording.blind_code == blind_code))
    if rec is None or rec.status != "ready" or not rec.proxy_path:
        raise NotFound(f"No film {blind_code}.")
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise PermissionDenied("This link was issued to an account that no longer exists.")
    if not may_view_recording(session, user.id, user.role, rec.id):
        raise PermissionDenied("You are not assigned to this film.")
    return rec.proxy_path
