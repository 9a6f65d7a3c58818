"""Exports for researchers: tidy ratings CSV (one row per rating). Every export is audited.

Three modes: ``blinded`` (film codes only: no participant, arm or time point; any time),
``masked`` (participant and time point, arms as Arm A / Arm B; before unblinding) and ``full``
(real arm names; only after unblinding). Consensus scores follow the two original ratings as
rows with purpose ``consensus``; the originals are never replaced.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import Assignment, ConsensusTask, Rating, Recording, Scheme, Segment, User
from annotate.services import audit
from annotate.services.actor import Actor, require_role
from annotate.services.csvio import safe_cell
from annotate.services.errors import ServiceError
from annotate.services.studies import get_study
from annotate.services.study_status import arm_labels, require_unblinded

RATINGS_COLUMNS = [
    "study", "participant", "arm", "timepoint", "recording", "segment", "segment_start_s",
    "segment_end_s", "rater", "purpose", "scheme", "scheme_version", "dimension", "value",
    "note", "status", "changed_after_lock", "created_at", "updated_at",
]
ALLOCATION_COLUMNS = ("participant", "arm", "timepoint")
MODES = ("auto", "blinded", "masked", "full")


def _iso(value) -> str:  # noqa: ANN001
    return value.isoformat(timespec="seconds") if value else ""


def ratings_csv(session: Session, actor: Actor, study_key: str, mode: str = "auto") -> str:
    """All ratings of a study as tidy CSV text, formula-like cells neutralised.

    ``auto`` is ``full`` after unblinding and ``masked`` before.
    """
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    if mode not in MODES:
        raise ServiceError(f"Export mode must be one of {', '.join(MODES)}; got {mode!r}.")
    if mode == "auto":
        mode = "full" if study.status == "unblinded" else "masked"
    if mode == "full":
        require_unblinded(study, "The full export")
    labels = arm_labels(study)
    columns = [c for c in RATINGS_COLUMNS if mode != "blinded" or c not in ALLOCATION_COLUMNS]
    rows = session.execute(
        select(Rating, Assignment, Segment, Recording, User, Scheme)
        .join(Assignment, Rating.assignment_id == Assignment.id)
        .join(Segment, Rating.segment_id == Segment.id)
        .join(Recording, Segment.recording_id == Recording.id)
        .join(User, Rating.rater_id == User.id)
        .join(Scheme, Rating.scheme_id == Scheme.id)
        .where(Assignment.study_id == study.id)
        .order_by(Recording.id, Segment.index, Rating.dimension, Assignment.purpose, User.username)
    ).all()
    consensus = session.execute(
        select(ConsensusTask, Segment, Recording, User, Scheme)
        .join(Segment, ConsensusTask.segment_id == Segment.id)
        .join(Recording, Segment.recording_id == Recording.id)
        .join(User, ConsensusTask.resolved_by == User.id)
        .join(Scheme, ConsensusTask.scheme_id == Scheme.id)
        .where(ConsensusTask.study_id == study.id, ConsensusTask.status == "resolved")
        .order_by(Recording.id, Segment.index, ConsensusTask.dimension)
    ).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)

    def allocation(rec: Recording) -> dict[str, str]:
        part = rec.participant
        return {
            "participant": part.external_id if part else "",
            "arm": labels.get(part.arm.name, "") if part else "",
            "timepoint": rec.timepoint.name if rec.timepoint else "",
        }

    def emit(rec: Recording, seg: Segment, scheme: Scheme, **values: object) -> None:
        values.update(
            study=study.key, recording=rec.blind_code, segment=seg.index + 1,
            segment_start_s=f"{seg.start_s:.3f}", segment_end_s=f"{seg.end_s:.3f}",
            scheme=scheme.key, scheme_version=scheme.version, **allocation(rec),
        )
        writer.writerow(safe_cell(values[c]) for c in columns)

    for rating, a, seg, rec, user, scheme in rows:
        emit(
            rec, seg, scheme, rater=user.username, purpose=a.purpose, dimension=rating.dimension,
            value="" if rating.value is None else f"{rating.value:g}", note=a.note, status=a.status,
            changed_after_lock="yes" if rating.changed_after_lock else "",
            created_at=_iso(rating.created_at), updated_at=_iso(rating.updated_at),
        )
    for task, seg, rec, user, scheme in consensus:
        emit(
            rec, seg, scheme, rater=user.username, purpose="consensus", dimension=task.dimension,
            value=f"{task.value:g}", note=task.reason, status="resolved", changed_after_lock="",
            created_at=_iso(task.created_at), updated_at=_iso(task.resolved_at),
        )
    audit.record(session, actor, "export.ratings_csv", study_id=study.id, rows=len(rows) + len(consensus), mode=mode)
    return out.getvalue()
