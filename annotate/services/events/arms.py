"""Per-arm summaries of coded events, per time point, through the study's masking rule (issue 19).

Per code: the rate per minute (points and states), and for states the share of time and the
mean bout length (:mod:`annotate.stats.timing_summary`), averaged first over the raters of a
coded segment, then over segments, per arm and time point. Arms are shown as in every per-arm
view: masked ("Arm A", "Arm B", the study's stable mask) before unblinding; by name only after
(:func:`annotate.services.studies.require_unblinded`), or masked on request.
Only done event coding counts, as for the timing agreement.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import Participant, Recording
from annotate.services import studies
from annotate.services.actor import Actor, require_role
from annotate.services.errors import NotEnoughData
from annotate.services.events.study import study_events, timing_frame
from annotate.services.policy import StudyStatus
from annotate.stats.timing_input import read_timing_events
from annotate.stats.timing_summary import ArmCodeSummary, arm_summaries, code_summaries


@dataclass(frozen=True)
class ArmEventRow:
    """One code in one arm at one time point."""

    timepoint: str
    summary: ArmCodeSummary


EVENT_ARMS_COLUMNS = (
    "arm",
    "timepoint",
    "group",
    "code",
    "kind",
    "n_sessions",
    "rate_per_min",
    "rate_per_min_sd",
    "share_of_time",
    "share_of_time_sd",
    "mean_bout_s",
    "n_sessions_with_bouts",
)
"""Columns of the per-arm event table, in the CLI's JSON rows and the CSV export alike."""


@dataclass(frozen=True)
class ArmEventSummaries:
    study: str
    scheme_key: str
    masked: bool
    rows: tuple[ArmEventRow, ...]

    def records(self) -> list[tuple[object, ...]]:
        """One tuple per row in :data:`EVENT_ARMS_COLUMNS` order (for the serializers)."""
        return [
            (
                r.summary.arm,
                r.timepoint,
                r.summary.group,
                r.summary.code,
                r.summary.kind,
                r.summary.n_sessions,
                r.summary.rate_per_min,
                r.summary.rate_per_min_sd,
                r.summary.share_of_time,
                r.summary.share_of_time_sd,
                r.summary.mean_bout_s,
                r.summary.n_sessions_with_bouts,
            )
            for r in self.rows
        ]


def arm_event_summaries(
    session: Session, actor: Actor, study_key: str, *, scheme: str | None = None, masked: bool | None = None
) -> ArmEventSummaries:
    """Event summaries per arm and time point (researchers; masked before unblinding)."""
    require_role(actor, "researcher")
    study = studies.get_study(session, study_key)
    if masked is None:
        masked = not StudyStatus(study.status).is_unblinded
    if masked:
        labels = studies.arm_mask(study)
    else:
        studies.require_unblinded(study, "A per-arm event summary with real arm names")
        labels = {a.name: a.name for a in study.arms}
    found = study_events(session, actor, study_key, scheme=scheme)
    if not found.rows:
        raise NotEnoughData(f"Study {study_key} has no done event coding on scheme {found.scheme_key} yet.")
    arm_name = {a.id: a.name for a in study.arms}
    tp_name = {t.id: t.name for t in study.timepoints}
    alloc = {
        code: (labels.get(arm_name.get(arm_id or -1, ""), ""), tp_name.get(tp_id or -1, ""))
        for code, arm_id, tp_id in session.execute(
            select(Recording.blind_code, Participant.arm_id, Recording.timepoint_id)
            .outerjoin(Participant, Recording.participant_id == Participant.id)
            .where(Recording.study_id == study.id)
        ).all()
    }
    frame = timing_frame(found.rows)
    frame["offset"] = frame["offset"].astype(float)
    # every coded segment counts, double-coded or not (the table reader asks for one double-coded segment)
    table = read_timing_events(frame)
    per_code = code_summaries(table)
    session_film = {r.session: r.blind_code for r in found.rows}
    out: list[ArmEventRow] = []
    for tp in [t.name for t in study.timepoints] + [""]:
        chosen = tuple(s for s in per_code if alloc.get(session_film[s.session], ("", ""))[1] == tp)
        if not chosen:
            continue
        arm_of = {s.session: alloc.get(session_film[s.session], ("", ""))[0] or "(no arm)" for s in chosen}
        out.extend(ArmEventRow(tp or "(no time point)", row) for row in arm_summaries(chosen, arm_of))
    return ArmEventSummaries(study.key, found.scheme_key, masked, tuple(out))
