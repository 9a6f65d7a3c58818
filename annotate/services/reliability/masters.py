"""Master (gold) scores of a calibration set: copied from a master rater or typed in, then checked.

Used by :func:`annotate.services.reliability.certification.create_calibration_set`. A master rater's scores
are their done, non-calibration ratings of the chosen segments on the study's scheme (a later
finished assignment wins); typed-in scores must cover every segment on each dimension used and
lie on the dimension's scale. Either way the result is ``{segment_id: {dimension: score}}``.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import Assignment, Rating, Study, User
from annotate.schemes import RatingValueError
from annotate.services.errors import ServiceError


def master_from_rater(
    session: Session, study: Study, scheme_id: int, rater: User, segments: dict[int, str], dims: list[str]
) -> dict[int, dict[str, float]]:
    rows = session.execute(
        select(Assignment.segment_id, Assignment.done_at, Rating.dimension, Rating.value)
        .join(Rating, Rating.assignment_id == Assignment.id)
        .where(
            Assignment.study_id == study.id,
            Assignment.rater_id == rater.id,
            Assignment.status == "done",
            Assignment.purpose != "calibration",
            Assignment.scheme_id == scheme_id,
            Assignment.segment_id.in_(list(segments)),
            Rating.value.is_not(None),
        )
        .order_by(Assignment.done_at)
    ).all()
    scores: dict[int, dict[str, float]] = {}
    for seg_id, _done, dim, value in rows:  # later finished assignments overwrite earlier ones
        if dim in dims and value is not None:
            scores.setdefault(seg_id, {})[dim] = float(value)
    lacking = [label for sid, label in segments.items() if set(scores.get(sid, {})) != set(dims)]
    if lacking:
        raise ServiceError(
            f"{rater.username} has not finished segment(s) {', '.join(lacking[:10])} of {study.key}, so they "
            "cannot supply master scores for them; choose segments they finished or enter the master scores."
        )
    return scores


def master_entered(
    scores: Mapping[int, Mapping[str, float | None]], segments: dict[int, str], model
) -> dict[int, dict[str, float]]:
    extra = [sid for sid in scores if sid not in segments]
    if extra:
        raise ServiceError(f"Master scores were given for segment(s) {extra[:10]} that are not in the set.")
    dims = [d.name for d in model.dimensions]
    used = [d for d in dims if any(scores.get(sid, {}).get(d) is not None for sid in segments)]
    if not used:
        raise ServiceError("Enter master scores for at least one dimension of every segment of the set.")
    out: dict[int, dict[str, float]] = {}
    problems = []
    for sid, label in segments.items():
        given = scores.get(sid, {})
        unknown = [k for k in given if k not in dims]
        if unknown:
            raise ServiceError(f"{model.key} has no dimension {unknown[0]!r}; use {', '.join(dims)}.")
        out[sid] = {}
        for d in used:
            value = given.get(d)
            if value is None:
                problems.append(f"{label}: no {d} score")
                continue
            try:
                out[sid][d] = float(model.dimension(d).check_value(value))
            except RatingValueError as exc:
                problems.append(f"{label}: {exc}")
    if problems:
        raise ServiceError("Master scores are incomplete or off the scale; fix: " + "; ".join(problems[:20]) + ".")
    return out
