"""The unblinding gate: setup -> rating -> locked -> unblinded, every step audited.

Before unblinding, anything that joins ratings to allocation shows arms masked as "Arm A",
"Arm B", … in an order drawn at random once per study, so a researcher may review the data
without learning which arm is which. Unblinding is an explicit act with a reason.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import Assignment, Rating, RatingHistory, Study, utcnow
from annotate.db.models import Scheme as SchemeRow
from annotate.services import accounts
from annotate.services.accounts import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import PermissionDenied, ReasonRequired, ServiceError
from annotate.services.policy import (
    Operation,
    StudySettings,
    StudyStatus,
    next_steps,
    permits,
    roles_for,
    sees_allocation,
    transition,
)
from annotate.services.studies.setup import get_study, scheme_model


@dataclass(frozen=True)
class StudyGate:
    key: str
    status: StudyStatus
    unblinded: bool
    arm_labels: dict[str, str]  # real arm name -> label shown now (masked before unblinding)

    @property
    def next_steps(self) -> list[StudyStatus]:
        return next_steps(self.status)


def settings_of(study: Study) -> StudySettings:
    """The study's workflow settings (defaults where none was set)."""
    return StudySettings.from_stored(study.settings)


def status_of(study: Study) -> StudyStatus:
    return StudyStatus(study.status)


def study_settings(session: Session, actor: Actor, study_key: str) -> StudySettings:
    """The study's workflow settings, defaults filled in."""
    study = get_study(session, study_key)
    require_operation(actor, Operation.READ_STUDY, study)
    return settings_of(study)


def allocation_visible(actor: Actor, study: Study) -> bool:
    """Whether ``actor`` sees the real arm names and the allocation of ``study`` now (the policy)."""
    return sees_allocation(actor.role, study.status, settings_of(study))


def require_operation(actor: Actor, operation: Operation, study: Study | None = None) -> None:
    """PermissionDenied unless the role x operation matrix allows ``operation`` on ``study`` now."""
    status = study.status if study is not None else None
    settings = settings_of(study) if study is not None else None
    if permits(actor.role, operation, status, settings):
        return
    allocation_ops = (Operation.VIEW_ALLOCATION, Operation.EXPORT_FULL, Operation.STUDY_PACKAGE)
    blinded_now = study is not None and not status_of(study).is_unblinded
    if study is not None and blinded_now and operation in allocation_ops and actor.role in ("researcher", "analyst"):
        who = "admins hold" if actor.role == "researcher" else "the study team holds"
        raise PermissionDenied(
            f"{study.key} is blinded for {actor.username} ({actor.role}) until unblinding: {who} the allocation. "
            "Use the masked view (Arm A / Arm B, pseudonymised participants) or the blinded export."
        )
    needed = " or ".join(roles_for(operation)) or "admin"
    raise PermissionDenied(f"This needs the {needed} role; {actor.username} is a {actor.role}.")


def operations(session: Session, actor: Actor, study_key: str | None = None) -> frozenset[Operation]:
    """What ``actor`` may do now, on ``study_key`` (its state and settings) or on no study: pages
    ask this to decide what to show, instead of restating the rule."""
    study = get_study(session, study_key) if study_key else None
    status = study.status if study is not None else None
    settings = settings_of(study) if study is not None else None
    return frozenset(op for op in Operation if permits(actor.role, op, status, settings))


def pseudonymizer(study: Study) -> Callable[[str], str]:
    """participant id -> its study-specific pseudonym (``S-`` and 10 letters/digits) for masked views.

    An HMAC keyed by a random secret drawn once per study and kept in its settings, so pseudonyms
    are stable within the study, differ between studies, and cannot be computed from the ids by
    anyone without the database: a masked table cannot be joined to the allocation. (50 bits: a
    clash among 10,000 participants has odds below 1 in 10 million.)
    """
    key = (study.settings or {}).get("pseudonym_key")
    if not key:
        key = secrets.token_hex(16)
        study.settings = {**(study.settings or {}), "pseudonym_key": key}
    secret = bytes.fromhex(key)
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols, no 0/O or 1/I

    def pseudonym(external_id: str) -> str:
        if not external_id:
            return ""
        digest = hmac.new(secret, external_id.encode("utf-8"), hashlib.sha256).digest()
        return "S-" + "".join(alphabet[b % 32] for b in digest[:10])

    return pseudonym


def update_settings(session: Session, actor: Actor, study_key: str, **values: Any) -> StudySettings:
    """Change study settings (double-coded share, consensus tolerance, arm guess, due days, consensus rater)."""
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    old = settings_of(study)
    if "researchers_blinded" in values and bool(values["researchers_blinded"]) != old.researchers_blinded:
        # The researchers cannot lift their own blinding: admins hold the allocation.
        require_role(actor, "admin")
    new = old.changed(**values)
    study.settings = {**(study.settings or {}), **new.model_dump()}
    audit.record(session, actor, "study.settings", study_id=study.id, **values)
    return new


def arm_labels(study: Study) -> dict[str, str]:
    """Arm name -> what may be shown now: the real name after unblinding, else a stable mask."""
    if status_of(study).is_unblinded:
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
    """The study's state; ``arm_labels`` maps the real names only for those who see the allocation
    (for the analyst and blinded researchers it maps each masked label to itself)."""
    study = get_study(session, study_key)
    require_operation(actor, Operation.READ_STUDY, study)
    status = status_of(study)
    labels = arm_labels(study)
    if not allocation_visible(actor, study):
        labels = {v: v for v in sorted(labels.values())}
    return StudyGate(study.key, status, status.is_unblinded, labels)


def require_unblinded(study: Study, what: str) -> None:
    if not status_of(study).is_unblinded:
        raise PermissionDenied(
            f"{what} joins ratings to arms, so it is available only after unblinding (the study is {study.status}). "
            "Before that, use the blinded or the masked (Arm A / Arm B) version."
        )


def set_status(
    session: Session,
    actor: Actor,
    study_key: str,
    new_status: str,
    reason: str = "",
    *,
    signature: accounts.Signature | None = None,
) -> StudyGate:
    """Move the study through the gate. Locking and unblinding are irreversible acts: a person signs
    them (:func:`annotate.services.accounts.sign`, 21 CFR Part 11 §11.50), stored with the audit entry."""
    study = get_study(session, study_key)
    current = status_of(study)
    rule = transition(current, new_status)
    target = StudyStatus(new_status)
    require_role(actor, rule.role)
    if rule.needs_reason and not reason.strip():
        raise ReasonRequired(f"Give a reason for making the study {target.value} (it is kept in the audit log).")
    signed: dict[str, str] = {}
    if target in (StudyStatus.LOCKED, StudyStatus.UNBLINDED):
        verb = "Locking" if target is StudyStatus.LOCKED else "Unblinding"
        signed = accounts.signature_detail(actor, signature, f"{verb} study {study.key}")
    if target is StudyStatus.UNBLINDED:
        study.settings = {
            **(study.settings or {}),
            "unblinded_at": utcnow().isoformat(timespec="seconds"),
            "unblinded_by": actor.username,
            "unblind_reason": reason.strip(),
        }
    study.status = target.value
    audit.record(
        session,
        actor,
        f"study.{target.value}",
        study_id=study.id,
        reason=reason.strip(),
        previous=current.value,
        signature=signed or None,
    )
    return gate(session, actor, study_key)


def correct_locked_rating(
    session: Session,
    actor: Actor,
    assignment_id: int,
    dimension: str,
    value: float,
    reason: str,
    *,
    signature: accounts.Signature | None = None,
) -> None:
    """An admin's change to a frozen rating: kept in the history, flagged in exports, e-signed."""
    require_role(actor, "admin")
    if not reason.strip():
        raise ReasonRequired("Give a reason for changing a frozen rating.")
    signed = accounts.signature_detail(actor, signature, f"Correcting a rating of locked assignment {assignment_id}")
    a = session.get(Assignment, assignment_id)
    if a is None:
        raise ServiceError(f"No assignment {assignment_id}.")
    study = session.get_one(Study, a.study_id)
    if status_of(study) is not StudyStatus.LOCKED:
        raise ServiceError(f"Only a locked study's ratings are corrected this way (this one is {study.status}).")
    dim = scheme_model(session.get_one(SchemeRow, a.scheme_id)).dimension(dimension)
    value = float(dim.check_value(value))
    row = session.scalar(select(Rating).where(Rating.assignment_id == a.id, Rating.dimension == dimension))
    if row is None:
        raise ServiceError("There is no rating to correct for this dimension.")
    session.add(
        RatingHistory(
            assignment_id=a.id,
            dimension=dimension,
            old_value=None if row.value is None else f"{row.value:g}",
            new_value=f"{value:g}",
            changed_by=actor.user_id,
            reason=f"after lock: {reason.strip()}",
        )
    )
    old = row.value
    row.value, row.version, row.updated_at, row.changed_after_lock = value, row.version + 1, utcnow(), True
    audit.record(
        session,
        actor,
        "rating.correct_after_lock",
        study_id=study.id,
        assignment=a.id,
        dimension=dimension,
        old=old,
        new=value,
        reason=reason.strip(),
        signature=signed or None,
    )
