"""Audit trail: logins, imports, assignments, exports and (later) unblinding."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from annotate.db.models import AuditLog
from annotate.services.actor import Actor


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    *,
    study_id: int | None = None,
    **detail: Any,
) -> None:
    """Add one audit entry to the current transaction."""
    session.add(
        AuditLog(
            user_id=actor.user_id if actor else None,
            action=action,
            study_id=study_id,
            detail=detail,
        )
    )
