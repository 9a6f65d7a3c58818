"""Planning a study's double-coding: how many segments, and which share the assignment engine uses.

:func:`reliability_plan` answers the Plan panel (also before any rating): for an expected ICC,
``k`` ratings per double-coded segment and a desired width of the ICC's 95% CI, Bonett's (2002)
number of segments (:func:`annotate.stats.planning.bonett_sample_size`), optionally the number
for the CI's lower limit to exceed a threshold with a given assurance (exact F; Zou 2012), and,
given the study's ready assessment segments, the double-coding share the engine should use
(:func:`annotate.services.policy.double_code_share_for`) next to the study's current setting.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotate.db.models import Recording, Segment
from annotate.errors import AnnotateError
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ServiceError
from annotate.services.policy import double_code_share_for, expected_double_coded
from annotate.services.studies.gate import settings_of
from annotate.services.studies.setup import get_study
from annotate.stats.planning import SamplePlan, bonett_sample_size, icc_assurance_sample_size


@dataclass(frozen=True)
class StudyPlan:
    """How many double-coded segments a study needs, and the share that gives them."""

    study_key: str
    precision: SamplePlan
    lower_bound: SamplePlan | None
    n_units: int  # the larger of the two plans
    n_segments: int  # ready assessment segments now
    share: float | None  # share the engine should use (None: no segments yet)
    current_share: float  # the study's double_code_share setting
    current_double_coded: int  # segments the current share is expected to double-code

    @property
    def enough_segments(self) -> bool:
        """Whether the study has at least as many segments as the plan needs double-coded."""
        return self.n_segments >= self.n_units


def ready_segments(session: Session, study_id: int) -> int:
    """Segments of the study's ready assessment films (the ones the engine assigns)."""
    return int(
        session.scalar(
            select(func.count(Segment.id))
            .join(Recording, Segment.recording_id == Recording.id)
            .where(Recording.study_id == study_id, Recording.status == "ready", Recording.purpose == "assessment")
        )
        or 0
    )


def reliability_plan(
    session: Session,
    actor: Actor,
    study_key: str,
    *,
    rho: float,
    k: int = 2,
    width: float = 0.2,
    confidence: float = 0.95,
    rho0: float | None = None,
    assurance: float = 0.8,
) -> StudyPlan:
    """Segments to double-code for an ICC CI of ``width`` (and optionally a lower limit above
    ``rho0``), and the engine's share for the study's segments.

    Examples
    --------
    >>> from annotate.services.actor import Actor
    >>> reliability_plan(None, Actor(3, "rob", "Rob", "rater"), "T1", rho=0.8)
    Traceback (most recent call last):
    ...
    annotate.services.errors.PermissionDenied: This needs the researcher role; rob is a rater.
    """
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    try:
        precision = bonett_sample_size(rho, k, width, confidence)
        lower = None if rho0 is None else icc_assurance_sample_size(rho, k, rho0, assurance, confidence)
    except AnnotateError as exc:
        raise ServiceError(f"Plan: {exc}.") from None
    n_units = max(precision.n_units, 0 if lower is None else lower.n_units)
    n_segments = ready_segments(session, study.id)
    current = float(settings_of(study).double_code_share)
    return StudyPlan(
        study_key=study.key,
        precision=precision,
        lower_bound=lower,
        n_units=n_units,
        n_segments=n_segments,
        share=double_code_share_for(n_units, n_segments) if n_segments else None,
        current_share=current,
        current_double_coded=expected_double_coded(current, n_segments),
    )
