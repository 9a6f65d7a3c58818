"""The rules of the house in one place: pages and services read them here and nowhere else.

* :class:`StudyStatus` — the gate setup -> rating -> locked -> unblinded, which moves exist, who
  may make them, and in which states ratings can still change;
* :class:`StudySettings` — a study's workflow settings with their defaults and limits;
* :class:`ExportMode` and :func:`export_modes` — which exports a study's state allows;
* :data:`SCORING_PURPOSES` — which assignments' ratings count as scores (calibration never does);
* :func:`visible_recordings` / :func:`may_view_recording` — who may see which film;
* :class:`Operation`, :data:`ROLE_OPERATIONS` and :func:`permits` — the role x operation matrix,
  with :func:`sees_allocation` (who sees real arm names and the allocation, and when).

A page never decides any of these itself: it asks (e.g. ``policy.export_modes(gate.status)``)
and renders the answer, so a rule changes in one line here.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import ColumnElement, and_, false, select, true
from sqlalchemy.orm import Session

from annotate.db.models import Assignment, Participant, Recording, Segment
from annotate.services.errors import ServiceError

# --------------------------------------------------------------------------- study status


class StudyStatus(enum.StrEnum):
    """Where a study stands. Stored as its value (a plain string) in ``study.status``.

    Examples
    --------
    >>> StudyStatus("rating").ratings_editable, StudyStatus.LOCKED.ratings_editable
    (True, False)
    >>> [s.value for s in StudyStatus.UNBLINDED.path()]
    ['setup', 'rating', 'locked', 'unblinded']
    """

    SETUP = "setup"
    RATING = "rating"
    LOCKED = "locked"
    UNBLINDED = "unblinded"

    @property
    def ratings_editable(self) -> bool:
        """Raters (and imports) may still add or change scores."""
        return self in (StudyStatus.SETUP, StudyStatus.RATING)

    @property
    def is_unblinded(self) -> bool:
        return self is StudyStatus.UNBLINDED

    @staticmethod
    def path() -> tuple[StudyStatus, ...]:
        """The states in the order a study goes through them (for the status line of the page)."""
        return tuple(StudyStatus)


@dataclass(frozen=True)
class Transition:
    role: str  # the least role that may make the move (admin may make every move)
    needs_reason: bool  # the reason is kept in the audit log
    label: str  # the button's text


TRANSITIONS: dict[tuple[StudyStatus, StudyStatus], Transition] = {
    (StudyStatus.SETUP, StudyStatus.RATING): Transition("researcher", False, "Open for rating"),
    (StudyStatus.RATING, StudyStatus.LOCKED): Transition("researcher", False, "Lock ratings"),
    # reopening frozen ratings is exceptional
    (StudyStatus.LOCKED, StudyStatus.RATING): Transition("admin", True, "Reopen (admin)"),
    (StudyStatus.LOCKED, StudyStatus.UNBLINDED): Transition("researcher", True, "Unblind"),
}


def next_steps(status: StudyStatus | str) -> list[StudyStatus]:
    """The states a study can move to from ``status``.

    Examples
    --------
    >>> [s.value for s in next_steps("locked")]
    ['rating', 'unblinded']
    >>> next_steps(StudyStatus.UNBLINDED)
    []
    """
    current = StudyStatus(status)
    return [b for (a, b) in TRANSITIONS if a is current]


def transition(current: StudyStatus | str, target: StudyStatus | str) -> Transition:
    """The rule of one move; a :class:`ServiceError` naming the next steps when there is none."""
    a = StudyStatus(current)
    try:
        b = StudyStatus(target)
    except ValueError:
        known = ", ".join(s.value for s in StudyStatus)
        raise ServiceError(f"Unknown study status {target!r}; the states are {known}.") from None
    rule = TRANSITIONS.get((a, b))
    if rule is None:
        allowed = [s.value for s in next_steps(a)]
        raise ServiceError(
            f"A {a.value} study cannot become {b.value}; "
            + (f"next step: {', '.join(allowed)}." if allowed else "this is the last step.")
        )
    return rule


# --------------------------------------------------------------------------- study settings


class StudySettings(BaseModel):
    """A study's workflow settings; a stored study without a value gets the default here.

    Examples
    --------
    >>> StudySettings.from_stored({"double_code_share": 0.3, "arm_mask": {"A": "Arm B"}}).double_code_share
    0.3
    >>> StudySettings().due_days
    14
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    double_code_share: float = Field(0.2, ge=0, le=1, description="Share of segments double-coded (0.2 = 20%).")
    consensus_tolerance: float = Field(1.0, ge=0, description="Consensus when two scores differ by more than this.")
    ask_arm_guess: bool = Field(False, description="Ask raters to guess the arm after each film.")
    due_days: int = Field(14, ge=1, le=365, description="An item is overdue this many days after it was assigned.")
    consensus_rater: str | None = Field(None, description="Senior rater who decides consensus (none: the two raters).")
    researchers_blinded: bool = Field(
        False,
        description=(
            "Researchers see only the analyst's masked view until unblinding (arms as Arm A / Arm B, no "
            "allocation, no Films list with arms); the allocation is held by admins."
        ),
    )

    @classmethod
    def names(cls) -> list[str]:
        return list(cls.model_fields)

    @classmethod
    def from_stored(cls, stored: dict[str, Any] | None) -> StudySettings:
        """The settings kept in ``study.settings`` (which also holds internal keys such as the arm mask)."""
        known = {k: v for k, v in (stored or {}).items() if k in cls.model_fields}
        return cls.model_validate(known)

    def changed(self, **values: Any) -> StudySettings:
        """A copy with ``values`` changed, validated; the error names the setting and its limits."""
        unknown = sorted(set(values) - set(type(self).model_fields))
        if unknown:
            raise ServiceError(f"Unknown study setting(s): {', '.join(unknown)}; known: {', '.join(self.names())}.")
        try:
            return self.model_validate({**self.model_dump(), **values})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ServiceError(f"Study settings not changed: {problems}.") from None


# --------------------------------------------------------------------------- exports


SHARE_STEP = 0.05  # the Assign page's double-coding slider moves in 5% steps


def double_code_share_for(n_units: int, n_segments: int) -> float:
    """The double-coding share that gives at least ``n_units`` double-coded segments out of
    ``n_segments``, rounded up to the slider's step and capped at 1 (every segment).

    Examples
    --------
    >>> double_code_share_for(101, 400), double_code_share_for(20, 20), double_code_share_for(30, 20)
    (0.3, 1.0, 1.0)
    """
    if n_segments < 1:
        raise ValueError("the number of segments must be at least 1")
    steps = math.ceil(round(n_units / n_segments / SHARE_STEP, 9))
    return min(1.0, round(steps * SHARE_STEP, 2))


def expected_double_coded(share: float, n_segments: int) -> int:
    """Double-coded segments the engine is expected to create at ``share`` out of ``n_segments``
    (rounded half up, as the engine rounds each arm x time point stratum; strata can round to
    a segment more or less in all).

    Examples
    --------
    >>> expected_double_coded(0.2, 12), expected_double_coded(0.04, 10), expected_double_coded(0.0, 50)
    (2, 0, 0)
    """
    return int(math.floor(share * n_segments + 0.5))


class ExportMode(enum.StrEnum):
    """How much of the allocation an export carries."""

    BLINDED = "blinded"  # film codes only: no participant, arm or time point (any time)
    MASKED = "masked"  # participant and time point, arms as Arm A / Arm B (before unblinding)
    FULL = "full"  # real arm names (only after unblinding)


EXPORT_MODE_LABELS = {
    ExportMode.BLINDED: "Blinded: film codes only (no participant, arm or time point)",
    ExportMode.MASKED: "Masked: participant and time point, arms as Arm A / Arm B (full after unblinding)",
    ExportMode.FULL: "Full: participant, arm and time point",
}


def export_modes(status: StudyStatus | str) -> tuple[ExportMode, ...]:
    """The export modes a study in ``status`` offers, the fullest last (the page's default).

    Examples
    --------
    >>> [m.value for m in export_modes("rating")]
    ['blinded', 'masked']
    >>> [m.value for m in export_modes("unblinded")]
    ['blinded', 'full']
    """
    last = ExportMode.FULL if StudyStatus(status).is_unblinded else ExportMode.MASKED
    return (ExportMode.BLINDED, last)


def resolve_export_mode(status: StudyStatus | str, mode: str) -> ExportMode:
    """``auto`` -> the fullest mode allowed now; a named mode is checked by the caller's gate.

    Examples
    --------
    >>> resolve_export_mode("rating", "auto").value
    'masked'
    >>> resolve_export_mode("rating", "sideways")
    Traceback (most recent call last):
    ...
    annotate.services.errors.ServiceError: Export mode must be one of auto, blinded, masked, full; got 'sideways'.
    """
    if mode == "auto":
        return export_modes(status)[-1]
    try:
        return ExportMode(mode)
    except ValueError:
        names = ", ".join(["auto", *(m.value for m in ExportMode)])
        raise ServiceError(f"Export mode must be one of {names}; got {mode!r}.") from None


def study_package_allowed(status: StudyStatus | str, role: str) -> bool:
    """The study package holds the real allocation: admins any time, researchers after unblinding."""
    return role == "admin" or StudyStatus(status).is_unblinded


# --------------------------------------------------------------------------- roles x operations


class Operation(enum.StrEnum):
    """What a service does, for the role x operation matrix (:data:`ROLE_OPERATIONS`)."""

    RATE = "rate"  # own queue, scores, notes, consensus tasks
    CASELOAD = "caseload"  # a clinician's families, clips, feedback sessions
    READ_STUDY = "read_study"  # studies list, progress, study status, settings (read)
    RELIABILITY = "reliability"  # reliability reports (never read allocation)
    MASKED_SUMMARY = "masked_summary"  # per-arm summaries with arms as Arm A / Arm B
    EXPORT_BLINDED = "export_blinded"  # film codes only
    EXPORT_MASKED = "export_masked"  # pseudonymised participants, time points, masked arms
    MANAGE_STUDY = "manage_study"  # create, settings, ingest, assign, imports, status moves
    VIEW_ALLOCATION = "view_allocation"  # real arm names, participants' arms, the Films list with arms
    EXPORT_FULL = "export_full"  # participant, real arm, time point (after unblinding)
    STUDY_PACKAGE = "study_package"  # everything, allocation included
    MANAGE_USERS = "manage_users"


_READ = frozenset(
    {
        Operation.READ_STUDY,
        Operation.RELIABILITY,
        Operation.MASKED_SUMMARY,
        Operation.EXPORT_BLINDED,
        Operation.EXPORT_MASKED,
    }
)
_ALLOCATION = frozenset({Operation.VIEW_ALLOCATION, Operation.EXPORT_FULL, Operation.STUDY_PACKAGE})

ROLE_OPERATIONS: dict[str, frozenset[Operation]] = {
    "rater": frozenset({Operation.RATE}),
    "clinician": frozenset({Operation.CASELOAD}),
    "researcher": _READ | {Operation.MANAGE_STUDY} | _ALLOCATION,
    "analyst": _READ,
    "admin": frozenset(Operation),
}
"""What each role may do at all. Allocation operations are further gated by :func:`sees_allocation`
(the study's state and its ``researchers_blinded`` setting); :func:`permits` combines the two."""

ANALYST_AFTER_UNBLINDING: frozenset[Operation] = _ALLOCATION
"""After unblinding the analyst sees what researchers see (read-only: no study management)."""


def sees_allocation(role: str, status: StudyStatus | str, settings: StudySettings | None = None) -> bool:
    """Whether ``role`` sees real arm names and the allocation of a study in ``status``.

    Admins always (they hold the allocation). Researchers before unblinding unless the study's
    ``researchers_blinded`` setting says otherwise; the analyst only after unblinding.

    Examples
    --------
    >>> sees_allocation("researcher", "rating"), sees_allocation("analyst", "rating")
    (True, False)
    >>> sees_allocation("researcher", "rating", StudySettings(researchers_blinded=True))
    False
    >>> sees_allocation("analyst", "unblinded"), sees_allocation("rater", "unblinded")
    (True, False)
    """
    if role == "admin":
        return True
    if role not in ("researcher", "analyst"):
        return False
    if StudyStatus(status).is_unblinded:
        return True
    return role == "researcher" and not (settings or StudySettings()).researchers_blinded


def permits(
    role: str, operation: Operation, status: StudyStatus | str | None = None, settings: StudySettings | None = None
) -> bool:
    """The role x operation matrix, in the study's state (``status=None``: an operation on no study).

    Examples
    --------
    >>> permits("analyst", Operation.EXPORT_MASKED, "rating"), permits("analyst", Operation.EXPORT_FULL, "rating")
    (True, False)
    >>> permits("analyst", Operation.EXPORT_FULL, "unblinded"), permits("analyst", Operation.MANAGE_STUDY, "unblinded")
    (True, False)
    >>> permits("researcher", Operation.VIEW_ALLOCATION, "rating", StudySettings(researchers_blinded=True))
    False
    """
    allowed = ROLE_OPERATIONS.get(role, frozenset())
    if role == "analyst" and status is not None and StudyStatus(status).is_unblinded:
        allowed = allowed | ANALYST_AFTER_UNBLINDING
    if operation not in allowed:
        return False
    if operation in _ALLOCATION:
        if status is None:
            return role == "admin"
        if operation is Operation.STUDY_PACKAGE and not study_package_allowed(status, role):
            return False
        if operation is Operation.EXPORT_FULL and not StudyStatus(status).is_unblinded:
            return False
        return sees_allocation(role, status, settings)
    return True


def roles_for(operation: Operation) -> tuple[str, ...]:
    """The roles whose row of the matrix holds ``operation`` (before any study's state is applied)."""
    return tuple(r for r, ops in ROLE_OPERATIONS.items() if operation in ops and r != "admin")


READ_ROLES: tuple[str, ...] = roles_for(Operation.READ_STUDY)
"""Roles that read study data (studies, progress, reliability, masked summaries and exports):
researcher and analyst (admin may do everything)."""


# --------------------------------------------------------------------------- scoring

SCORING_PURPOSES: tuple[str, ...] = ("primary", "reliability")
"""Assignment purposes whose ratings are scores; calibration ratings belong to certification, and a
rater holding both on one segment counts once, with the first (primary) one."""


# --------------------------------------------------------------------------- who sees which film


def visible_recordings(user_id: int | None, role: str) -> ColumnElement[bool]:
    """The SQL condition on :class:`Recording` rows that ``user_id`` (with ``role``) may watch.

    Raters: assessment films they hold an assignment on. Clinicians: intervention films of the
    families in their caseload. Researchers and admins: every film. Anyone else: none.
    This is the one statement of the rule; the media route, the clinician's pages and the
    rater's pages all go through it (directly or through :func:`may_view_recording`).
    """
    if role in ("researcher", "admin"):
        return true()
    if user_id is None:
        return false()
    # Uncorrelated IN-subqueries, so the condition joins into any query over recordings.
    if role == "rater":
        assigned = (
            select(Segment.recording_id)
            .join(Assignment, Assignment.segment_id == Segment.id)
            .where(Assignment.rater_id == user_id)
        )
        return and_(Recording.purpose == "assessment", Recording.id.in_(assigned))
    if role == "clinician":
        caseload = select(Participant.id).where(Participant.clinician_id == user_id)
        return and_(Recording.purpose == "intervention", Recording.participant_id.in_(caseload))
    return false()


def may_view_recording(session: Session, user_id: int | None, role: str, recording_id: int) -> bool:
    """Whether the film ``recording_id`` passes :func:`visible_recordings` for this user."""
    found = session.scalar(
        select(Recording.id).where(Recording.id == recording_id, visible_recordings(user_id, role)).limit(1)
    )
    return found is not None


__all__ = [
    "ANALYST_AFTER_UNBLINDING",
    "EXPORT_MODE_LABELS",
    "READ_ROLES",
    "ROLE_OPERATIONS",
    "SCORING_PURPOSES",
    "TRANSITIONS",
    "ExportMode",
    "Operation",
    "StudySettings",
    "StudyStatus",
    "Transition",
    "export_modes",
    "may_view_recording",
    "next_steps",
    "permits",
    "resolve_export_mode",
    "roles_for",
    "sees_allocation",
    "study_package_allowed",
    "transition",
    "visible_recordings",
]
