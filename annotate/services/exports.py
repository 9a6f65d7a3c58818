"""Exports for researchers: tidy ratings CSV (one row per rating). Every export is audited."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import Assignment, Rating, Recording, Scheme, Segment, User
from annotate.services import audit
from annotate.services.actor import Actor, require_role
from annotate.services.csvio import safe_cell
from annotate.services.studies import get_study

RATINGS_COLUMNS = [
    "study", "participant", "arm", "timepoint", "recording", "segment", "segment_start_s",
    "segment_end_s", "rater", "purpose", "scheme", "scheme_version", "dimension", "value",
    "note", "status", "created_at", "updated_at",
]


def _iso(value) -> str:  # noqa: ANN001
    return value.isoformat(timespec="seconds") if value else ""


def ratings_csv(session: Session, actor: Actor, study_key: str) -> str:
    """All ratings of a study as tidy CSV text, formula-like cells neutralised."""
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    rows = session.execute(
        select(Rating, Assignment, Segment, Recording, User, Scheme)
        .join(Assignment, Rating.assignment_id == Assignment.id)
        .join(Segment, Rating.segment_id == Segment.id)
        .join(Recording, Segment.recording_id == Recording.id)
        .join(User, Rating.rater_id == User.id)
        .join(Scheme, Rating.scheme_id == Scheme.id)
        .where(Assignment.study_id == study.id)
        .order_by(Recording.id, Segment.index, User.username, Rating.dimension)
    ).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RATINGS_COLUMNS)
    for rating, a, seg, rec, user, scheme in rows:
        part = rec.participant
        writer.writerow(
            safe_cell(v)
            for v in (
                study.key,
                part.external_id if part else "",
                part.arm.name if part else "",
                rec.timepoint.name if rec.timepoint else "",
                rec.blind_code,
                seg.index + 1,
                f"{seg.start_s:.3f}",
                f"{seg.end_s:.3f}",
                user.username,
                a.purpose,
                scheme.key,
                scheme.version,
                rating.dimension,
                "" if rating.value is None else f"{rating.value:g}",
                a.note,
                a.status,
                _iso(rating.created_at),
                _iso(rating.updated_at),
            )
        )
    audit.record(session, actor, "export.ratings_csv", study_id=study.id, rows=len(rows))
    return out.getvalue()
