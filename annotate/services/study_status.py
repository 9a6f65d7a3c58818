"""The unblinding gate: setup -> rating -> locked -> unblinded, every step audited.

Before unblinding, anything that joins ratings to allocation shows arms masked as "Arm A",
"Arm B", … in an order drawn at random once per study, so a researcher may review the data
without learning which arm is which. Unblinding is an explicit act with a reason.
"""

from __future__ import annotations

import random
import secrets
import string
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import Assignment, Rating, RatingHistory, Study, utcnow
from annotate.db.models import Scheme as SchemeRow
from annotate.services import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import PermissionDenied, ReasonRequired, ServiceError
from annotate.services.studies import get_study, scheme_model

# Which moves are allowed, and who may make them.
TRANSITIONS = {
    ("setup", "rating"): "researcher",
    ("rating", "locked"): "researcher",
    ("locked", "rating"): "admin",  # reopening frozen ratings is exceptional
    ("locked", "unblinded"): "researcher",
}
DEFAULT_SETTINGS = {
    "double_code_share": 0.2,
    "consensus_tolerance": 1.0,
    "ask_arm_guess": False,
    "due_days": 14,
    "consensus_rater": None,
}


@dataclass(frozen=True)
class StudyGate:
    key: str
    status: str
    unblinded: bool
    arm_labels: dict[str, str]  # real arm name -> label shown now (masked before unblinding)


def study_setting(study: Study, name: str):  # noqa: ANN201
    return (study.settings or {}).get(name, DEFAULT_SETTINGS[name])


def study_settings(session: Session, actor: Actor, study_key: str) -> dict:
    """The study's workflow settings, defaults filled in."""
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    return {k: study_setting(study, k) for k in DEFAULT_SETTINGS}


def update_settings(session: Session, actor: Actor, study_key: str, **values) -> dict:  # noqa: ANN003
    """Change study settings (double-coded share, consensus tolerance, arm guess, due days, consensus rater)."""
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    unknown = set(values) - set(DEFAULT_SETTINGS)
    if unknown:
        raise ServiceError(f"Unknown study setting(s): {', '.join(sorted(unknown))}; known: {', '.join(DEFAULT_SETTINGS)}.")
    share = values.get("double_code_share")
    if share is not None and not 0 <= float(share) <= 1:
        raise ServiceError("The double-coded share must be between 0 and 1 (0.2 = 20%).")
    tol = values.get("consensus_tolerance")
    if tol is not None and float(tol) < 0:
        raise ServiceError("The consensus tolerance must be 0 or more points.")
    settings = dict(study.settings or {})
    settings.update(values)
    study.settings = settings
    audit.record(session, actor, "study.settings", study_id=study.id, **{k: v for k, v in values.items()})
    return {k: settings.get(k, d) for k, d in DEFAULT_SETTINGS.items()}


def arm_labels(study: Study) -> dict[str, str]:
    """Arm name -> what may be shown now: the real name after unblinding, else a stable mask."""
    if study.status == "unblinded":
        return {a.name: a.name for a in study.arms}
    return arm_mask(study)


def arm_mask(study: Study) -> dict[str, str]:
    """Arm name -> "Arm A", "Arm B", …: drawn at random once per study and kept, so masked views
    (before or, on request, after unblinding) always use the same letters."""
    names = [a.name for a in study.arms]
    mask = (study.settings or {}).get("arm_mask")
    if not mask or set(mask) != set(names):
        order = names[:]
        random.Random(secrets.randbits(64)).shuffle(order)
        mask = {n: f"Arm {string.ascii_uppercase[i]}" for i, n in enumerate(order)}
        study.settings = {**(study.settings or {}), "arm_mask": mask}
    return dict(mask)


def gate(session: Session, actor: Actor, study_key: str) -> StudyGate:
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    return StudyGate(study.key, study.status, study.status == "unblinded", arm_labels(study))


def require_unblinded(study: Study, what: str) -> None:
    if study.status != "unblinded":
        raise PermissionDenied(
            f"{what} joins ratings to arms, so it is available only after unblinding (the study is {study.status}). "
            "Before that, use the blinded or the masked (Arm A / Arm B) version."
        )


def set_status(session: Session, actor: Actor, study_key: str, new_status: str, reason: str = "") -> StudyGate:
    study = get_study(session, study_key)
    move = (study.status, new_status)
    if move not in TRANSITIONS:
        allowed = [b for (a, b) in TRANSITIONS if a == study.status]
        raise ServiceError(
            f"A {study.status} study cannot become {new_status}; "
            + (f"next step: {', '.join(allowed)}." if allowed else "this is the last step.")
        )
    require_role(actor, TRANSITIONS[move])
    if new_status in ("unblinded", "rating") and move[0] == "locked" and not reason.strip():
        raise ReasonRequired(f"Give a reason for making the study {new_status} (it is kept in the audit log).")
    if new_status == "unblinded":
        study.settings = {
            **(study.settings or {}),
            "unblinded_at": utcnow().isoformat(timespec="seconds"),
            "unblinded_by": actor.username,
            "unblind_reason": reason.strip(),
        }
    study.status = new_status
    audit.record(session, actor, f"study.{new_status}", study_id=study.id, reason=reason.strip(), previous=move[0])
    return gate(session, actor, study_key)


def correct_locked_rating(
    session: Session, actor: Actor, assignment_id: int, dimension: str, value: float, reason: str
) -> None:
    """An admin's change to a frozen rating: kept in the history and flagged in exports."""
    require_role(actor, "admin")
    if not reason.strip():
        raise ReasonRequired("Give a reason for changing a frozen rating.")
    a = session.get(Assignment, assignment_id)
    if a is None:
        raise ServiceError(f"No assignment {assignment_id}.")
    study = session.get(Study, a.study_id)
    if study.status != "locked":
        raise ServiceError(f"Only a locked study's ratings are corrected this way (this one is {study.status}).")
    dim = scheme_model(session.get(SchemeRow, a.scheme_id)).dimension(dimension)
    value = float(dim.check_value(value))
    row = session.scalar(select(Rating).where(Rating.assignment_id == a.id, Rating.dimension == dimension))
    if row is None:
        raise ServiceError("There is no rating to correct for this dimension.")
    session.add(
        RatingHistory(
            assignment_id=a.id, dimension=dimension,
            old_value=None if row.value is None else f"{row.value:g}", new_value=f"{value:g}",
            changed_by=actor.user_id, reason=f"after lock: {reason.strip()}",
        )
    )
    row.value, row.version, row.updated_at, row.changed_after_lock = value, row.version + 1, utcnow(), True
    audit.record(session, actor, "rating.correct_after_lock", study_id=study.id, assignment=a.id, dimension=dimension)
