"""Scores of a study's families from its done segment ratings, for the per-arm summaries.

One score per participant and time point under a scoring rule (``consensus_else_mean`` or
``primary_only``), a composite computed per rater and segment with
:meth:`annotate.schemes.Composite.compute`; the rules are set out in full in
:mod:`annotate.services.outcomes.summaries`, which builds its tables from these scores.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import (
    Assignment,
    ConsensusTask,
    Rating,
    Recording,
    Segment,
    Study,
)
from annotate.schemes import Composite
from annotate.schemes import Scheme as SchemeModel
from annotate.services.policy import SCORING_PURPOSES


def _segment_values(
    rows: list[tuple],
    consensus: dict[tuple[int, str], float],
    rule: str,
    comp: Composite | None,
    model: SchemeModel,
    dimension: str,
) -> dict[int, tuple[float, int]]:
    """segment id -> (score, ratings used) by ``rule``; ``rows`` = (segment, assignment, purpose, rater, dim, value)."""
    given: dict[tuple[int, int], dict[str, float]] = {}
    held: dict[int, dict[int, tuple[int, int]]] = {}  # segment -> rater -> (purpose rank, assignment id)
    for seg_id, a_id, purpose, rater_id, dim, value in rows:
        given.setdefault((seg_id, a_id), {})[dim] = float(value)
        rank = (SCORING_PURPOSES.index(purpose), a_id)
        per_rater = held.setdefault(seg_id, {})
        # A rater holding a primary and a reliability assignment on one segment counts once.
        per_rater[rater_id] = min(per_rater.get(rater_id, rank), rank)
    needed = [p.dimension for p in comp.parts] if comp else [dimension]
    out: dict[int, tuple[float, int]] = {}
    for seg_id, per_rater in held.items():
        chosen = sorted(per_rater.values())
        if rule == "primary_only":
            chosen = [c for c in chosen if c[0] == 0][:1]
        values = []
        for _rank, a_id in chosen:
            vector = given[(seg_id, a_id)]
            if rule == "consensus_else_mean":
                vector = {**vector, **{d: consensus[(seg_id, d)] for d in needed if (seg_id, d) in consensus}}
            if all(d in vector for d in needed):
                values.append(comp.compute(vector, model) if comp else vector[dimension])
        if values:
            out[seg_id] = (float(np.mean(values)), len(values))
    return out


def score_rows(
    session: Session,
    study: Study,
    scheme_id: int,
    model: SchemeModel,
    dimension: str,
    comp: Composite | None,
    needed: list[str],
    rule: str,
) -> dict[tuple[int, int], tuple[float, int, int]]:
    """(participant id, time point id) -> (score, n_segments, n_ratings)."""
    rows = session.execute(
        select(
            Segment.id,
            Assignment.id,
            Assignment.purpose,
            Assignment.rater_id,
            Rating.dimension,
            Rating.value,
            Recording.participant_id,
            Recording.timepoint_id,
        )
        .join(Assignment, Rating.assignment_id == Assignment.id)
        .join(Segment, Rating.segment_id == Segment.id)
        .join(Recording, Segment.recording_id == Recording.id)
        .where(
            Assignment.study_id == study.id,
            Assignment.status == "done",
            Assignment.purpose.in_(SCORING_PURPOSES),
            Recording.purpose == "assessment",
            Recording.participant_id.is_not(None),
            Recording.timepoint_id.is_not(None),
            Rating.scheme_id == scheme_id,
            Rating.dimension.in_(needed),
            Rating.value.is_not(None),
        )
    ).all()
    consensus = {
        (seg, dim): float(value)
        for seg, dim, value in session.execute(
            select(ConsensusTask.segment_id, ConsensusTask.dimension, ConsensusTask.value).where(
                ConsensusTask.study_id == study.id,
                ConsensusTask.scheme_id == scheme_id,
                ConsensusTask.status == "resolved",
                ConsensusTask.dimension.in_(needed),
                ConsensusTask.value.is_not(None),
            )
        )
        if value is not None
    }
    film_of = {r[0]: (int(r[6]), int(r[7])) for r in rows if r[6] is not None and r[7] is not None}
    values = _segment_values([r[:6] for r in rows], consensus, rule, comp, model, dimension)
    grouped: dict[tuple[int, int], list[tuple[float, int]]] = {}
    for seg_id in sorted(values):
        grouped.setdefault(film_of[seg_id], []).append(values[seg_id])
    return {
        key: (float(np.mean([v for v, _ in segs])), len(segs), sum(n for _, n in segs)) for key, segs in grouped.items()
    }
