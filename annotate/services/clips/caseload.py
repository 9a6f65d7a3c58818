"""The clinician's caseload: intervention films of their own families, never assessment films."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db.models import Participant, Recording, Study
from annotate.services.actor import Actor, require_role
from annotate.services.films.tokens import sign_media_url
from annotate.services.policy import visible_recordings


@dataclass(frozen=True)
class CaseloadFilm:
    blind_code: str
    family: str
    study_key: str
    session_no: int | None
    duration_s: float | None
    fps: float | None
    media_url: str


def caseload_films(session: Session, actor: Actor, settings: Settings) -> list[CaseloadFilm]:
    require_role(actor, "clinician")
    rows = session.execute(
        select(Recording, Participant, Study.key)
        .join(Participant, Recording.participant_id == Participant.id)
        .join(Study, Participant.study_id == Study.id)
        .where(visible_recordings(actor.user_id, actor.role), Recording.status == "ready")
        .order_by(Participant.external_id, Recording.session_no, Recording.id)
    ).all()
    key = settings.secret_key()
    return [
        CaseloadFilm(
            blind_code=rec.blind_code,
            family=part.external_id,
            study_key=study_key,
            session_no=rec.session_no,
            duration_s=rec.duration_s,
            fps=rec.fps,
            media_url=sign_media_url(key, rec.blind_code, actor.account_id, settings.media_token_minutes),
        )
        for rec, part, study_key in rows
    ]
