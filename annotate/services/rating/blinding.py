"""Blinding checks: raters report possible unblinding, and (optionally) guess each film's arm.

The guesses give Bang's blinding index per arm and James' index (annotate.stats.blinding), so a
trial can report how well the blind held. Raters only ever write here; only researchers read.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import Arm, Assignment, BlindingReport, Participant, Recording, Segment, Study, User
from annotate.services.accounts import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ServiceError
from annotate.services.policy import READ_ROLES, Operation
from annotate.services.rating.scores import own_assignment
from annotate.services.studies.gate import arm_labels, require_operation, settings_of
from annotate.services.studies.setup import get_study
from annotate.stats.blinding import BangIndex, GuessCounts, JamesIndex, bang_index, james_index

GUESSES = ("treatment", "control", "dont_know")


@dataclass(frozen=True)
class ReportRow:
    film: str
    rater: str
    kind: str
    guess: str | None
    reason: str
    at: str


@dataclass(frozen=True)
class BlindingSummary:
    reports: list[ReportRow]
    n_guesses: int
    treatment_label: str
    control_label: str
    bang_treatment: BangIndex | None
    bang_control: BangIndex | None
    james: JamesIndex | None


def report_unblinding(session: Session, actor: Actor, assignment_id: int, reason: str) -> None:
    """A rater's "I may have been unblinded" for the film of one of their items."""
    a = own_assignment(session, actor, assignment_id)
    if not reason.strip():
        raise ServiceError("Say what may have unblinded you (e.g. 'the mother mentions the video sessions').")
    session.add(
        BlindingReport(
            study_id=a.study_id,
            recording_id=a.segment.recording_id,
            rater_id=actor.user_id,
            kind="unblinded",
            reason=reason.strip(),
        )
    )
    audit.record(session, actor, "blinding.report", study_id=a.study_id)


def guess_wanted(session: Session, actor: Actor, assignment_id: int) -> bool:
    """True when the study asks for arm guesses, the rater has finished every item of this film,
    and has not guessed for it yet."""
    a = own_assignment(session, actor, assignment_id)
    study = session.get_one(Study, a.study_id)
    if not settings_of(study).ask_arm_guess:
        return False
    rec_id = a.segment.recording_id
    # One statement, however long the queue: is any of this rater's items of this film not done?
    open_on_film = session.scalar(
        select(Assignment.id)
        .join(Segment, Assignment.segment_id == Segment.id)
        .where(
            Assignment.rater_id == actor.user_id,
            Assignment.study_id == a.study_id,
            Segment.recording_id == rec_id,
            Assignment.status != "done",
        )
        .limit(1)
    )
    if open_on_film is not None:
        return False
    return not session.scalar(
        select(BlindingReport.id).where(
            BlindingReport.recording_id == rec_id,
            BlindingReport.rater_id == actor.user_id,
            BlindingReport.kind == "guess",
        )
    )


def record_guess(session: Session, actor: Actor, assignment_id: int, guess: str) -> None:
    a = own_assignment(session, actor, assignment_id)
    if guess not in GUESSES:
        raise ServiceError(f"A guess is one of: intervention (treatment), control, don't know; got {guess!r}.")
    if not guess_wanted(session, actor, assignment_id):
        raise ServiceError("A guess is asked once per film, after all its segments are done.")
    session.add(
        BlindingReport(
            study_id=a.study_id, recording_id=a.segment.recording_id, rater_id=actor.user_id, kind="guess", guess=guess
        )
    )


def blinding_summary(session: Session, actor: Actor, study_key: str) -> BlindingSummary:
    """Reports and guesses, with Bang's index per arm and James' index (arms masked before unblinding).

    The first arm of the study is taken as the intervention arm, so the summary tells which masked
    label is the intervention: only those who see the allocation get it before unblinding.
    """
    require_role(actor, *READ_ROLES)
    study = get_study(session, study_key)
    require_operation(actor, Operation.VIEW_ALLOCATION, study)
    labels = arm_labels(study)
    if len(study.arms) < 2:
        raise ServiceError("Blinding indices need two arms.")
    treatment, control = study.arms[0].name, study.arms[1].name
    rows = session.execute(
        select(BlindingReport, Recording, User, Arm.name)
        .join(Recording, BlindingReport.recording_id == Recording.id)
        .join(User, BlindingReport.rater_id == User.id)
        .outerjoin(Participant, Recording.participant_id == Participant.id)
        .outerjoin(Arm, Participant.arm_id == Arm.id)
        .where(BlindingReport.study_id == study.id)
        .order_by(BlindingReport.created_at)
    ).all()
    reports, counts = [], {treatment: [0, 0, 0], control: [0, 0, 0]}
    for rep, rec, user, arm in rows:
        reports.append(
            ReportRow(
                rec.blind_code,
                user.username,
                rep.kind,
                rep.guess,
                rep.reason,
                rep.created_at.isoformat(timespec="minutes"),
            )
        )
        if rep.kind == "guess" and arm in counts:
            counts[arm][GUESSES.index(rep.guess)] += 1
    t, c = GuessCounts("treatment", *counts[treatment]), GuessCounts("control", *counts[control])
    n = sum(counts[treatment]) + sum(counts[control])
    have_t, have_c = sum(counts[treatment]) > 0, sum(counts[control]) > 0
    return BlindingSummary(
        reports=reports,
        n_guesses=n,
        treatment_label=labels[treatment],
        control_label=labels[control],
        bang_treatment=bang_index(t) if have_t else None,
        bang_control=bang_index(c) if have_c else None,
        james=james_index(t, c) if have_t and have_c else None,
    )
