"""Rater monitoring for researchers: each rater's severity and their drift over calendar months.

* **Severity** (:func:`annotate.stats.severity.rater_severity`): on the study's double-coded
  segments, a rater's mean of (their score - the mean of the other raters' scores on the same
  segment), with a t-based 95% CI; a CI that excludes 0 marks a rater who scores systematically
  higher (lenient) or lower (severe) than colleagues.
* **Drift** (:func:`annotate.stats.severity.rater_drift`): per rater and calendar month, agreement
  with reference scores: the master scores of the study's calibration sets (calibration ratings)
  and the resolved consensus scores of double-coded segments (the rater's own primary or second
  rating). A month is flagged ``below`` when ICC(A,1) or the share within one point falls under
  the study's certification criterion (its latest calibration set's, else the defaults ICC(A,1)
  >= .70 and 80% within one point): the rater should be recalibrated.

Consensus is only asked for when two scores differ by more than the study's tolerance, so
agreement with consensus scores reads low by design; master scores are the unbiased reference.
Nothing here reads arms or time points.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import Assignment, ConsensusTask, Rating, Segment, User
from annotate.db.models_calibration import CalibrationItem, CalibrationSet
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ServiceError
from annotate.services.reliability.certification import Criterion
from annotate.services.reliability.study import _as_utc, reliability_ratings
from annotate.services.studies.setup import get_study, pick_dimension, study_scheme
from annotate.stats.reliability_data import ReliabilityInputError
from annotate.stats.reliability_design import long_ratings
from annotate.stats.severity import DriftCheck, RaterSeverity, rater_drift, rater_severity

REFERENCE_COLUMNS = ["rater", "date", "score", "reference", "source"]


@dataclass(frozen=True, eq=False)
class RaterMonitoring:
    """Severity of each rater and drift per rater and month against master / consensus scores."""

    study_key: str
    dimension: str
    dimension_label: str
    criterion: Criterion
    severity: tuple[RaterSeverity, ...]
    severity_note: str | None  # why severity is empty
    drift: tuple[DriftCheck, ...]
    drift_note: str | None  # why drift is empty
    references: pd.DataFrame  # REFERENCE_COLUMNS: every score with its reference score

    @property
    def flagged(self) -> tuple[str, ...]:
        """Raters with a month below the criterion: recalibrate them."""
        return tuple(sorted({str(c.rater) for c in self.drift if c.status == "below"}))

    @property
    def deviating(self) -> tuple[str, ...]:
        """Raters whose severity CI excludes zero (systematically lenient or severe)."""
        return tuple(str(s.rater) for s in self.severity if s.ci95 is not None and (s.ci95[0] > 0 or s.ci95[1] < 0))


def study_criterion(session: Session, study_id: int) -> Criterion:
    """The criterion of the study's latest calibration set, else the default criterion."""
    latest = session.scalar(
        select(CalibrationSet)
        .where(CalibrationSet.study_id == study_id)
        .order_by(CalibrationSet.created_at.desc(), CalibrationSet.id.desc())
        .limit(1)
    )
    if latest is None:
        return Criterion()
    return Criterion(min_icc_a1=latest.min_icc, min_within_1=latest.min_within_1, min_exact=latest.min_exact)


def _references(session: Session, study_id: int, scheme_id: int, dimension: str) -> pd.DataFrame:
    """Scores with a reference score: calibration ratings vs master, scoring ratings vs consensus."""
    rows: list[tuple[str, object, float, float, str]] = []
    masters = session.execute(
        select(CalibrationItem.segment_id, CalibrationItem.master_scores, CalibrationSet.id)
        .join(CalibrationSet, CalibrationItem.set_id == CalibrationSet.id)
        .where(CalibrationSet.study_id == study_id, CalibrationSet.scheme_id == scheme_id)
    ).all()
    master = {seg: float(scores[dimension]) for seg, scores, _ in masters if scores.get(dimension) is not None}
    if master:
        for user, value, done, seg in session.execute(
            select(User.username, Rating.value, Assignment.done_at, Rating.segment_id)
            .join(Assignment, Rating.assignment_id == Assignment.id)
            .join(User, Rating.rater_id == User.id)
            .where(
                Assignment.study_id == study_id,
                Assignment.purpose == "calibration",
                Assignment.status == "done",
                Rating.scheme_id == scheme_id,
                Rating.dimension == dimension,
                Rating.value.is_not(None),
                Rating.segment_id.in_(list(master)),
            )
        ):
            if done is not None and value is not None:
                rows.append((user, _as_utc(done), float(value), master[seg], "master"))
    consensus = dict(
        session.execute(
            select(ConsensusTask.segment_id, ConsensusTask.value).where(
                ConsensusTask.study_id == study_id,
                ConsensusTask.scheme_id == scheme_id,
                ConsensusTask.dimension == dimension,
                ConsensusTask.status == "resolved",
                ConsensusTask.value.is_not(None),
            )
        ).all()
    )
    if consensus:
        for user, value, done, seg in session.execute(
            select(User.username, Rating.value, Assignment.done_at, Rating.segment_id)
            .join(Assignment, Rating.assignment_id == Assignment.id)
            .join(User, Rating.rater_id == User.id)
            .join(Segment, Rating.segment_id == Segment.id)
            .where(
                Assignment.study_id == study_id,
                Assignment.purpose.in_(("primary", "reliability")),
                Assignment.status == "done",
                Rating.scheme_id == scheme_id,
                Rating.dimension == dimension,
                Rating.value.is_not(None),
                Rating.segment_id.in_(list(consensus)),
            )
        ):
            agreed = consensus[seg]
            if done is not None and value is not None and agreed is not None:
                rows.append((user, _as_utc(done), float(value), float(agreed), "consensus"))
    return pd.DataFrame(rows, columns=REFERENCE_COLUMNS)


def rater_monitoring(
    session: Session, actor: Actor, study_key: str, *, dimension: str | None, scheme: str | None = None
) -> RaterMonitoring:
    """Severity and drift of every rater of a study on one dimension (see the module docstring).

    Examples
    --------
    >>> from annotate.services.actor import Actor
    >>> rater_monitoring(None, Actor(3, "rob", "Rob", "rater"), "T1", dimension="x")
    Traceback (most recent call last):
    ...
    annotate.services.errors.PermissionDenied: This needs the researcher role; rob is a rater.
    """
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    scheme_row, model = study_scheme(session, study, scheme)
    dim = pick_dimension(model, dimension)
    categories = [float(v) for v in dim.allowed_values()]
    criterion = study_criterion(session, study.id)
    frame = reliability_ratings(session, actor, study_key, dimension=dim.name, scheme=scheme)
    severity: tuple[RaterSeverity, ...] = ()
    severity_note = None
    if frame.empty:
        severity_note = "severity compares raters on segments finished by two raters, and there are none yet"
    else:
        try:
            severity = rater_severity(long_ratings(frame, categories=categories))
        except ReliabilityInputError as exc:
            raise ServiceError(f"Rater severity of {dim.label}: {exc}") from None
    references = _references(session, study.id, scheme_row.id, dim.name)
    drift: tuple[DriftCheck, ...] = ()
    drift_note = None
    if references.empty:
        drift_note = (
            "drift compares a rater with master scores (calibration sets) or resolved consensus scores, "
            "and there are no reference scores yet"
        )
    else:
        try:
            drift = rater_drift(
                references,
                categories=categories,
                icc_min=criterion.min_icc_a1,
                within_1_min=criterion.min_within_1,
            )
        except ReliabilityInputError as exc:
            raise ServiceError(f"Rater drift of {dim.label}: {exc}") from None
    return RaterMonitoring(
        study_key=study.key,
        dimension=dim.name,
        dimension_label=dim.label,
        criterion=criterion,
        severity=severity,
        severity_note=severity_note,
        drift=drift,
        drift_note=drift_note,
        references=references,
    )
