"""Scores of a study's families from its done segment ratings, for the per-arm summaries.

One score per participant and time point under a scoring rule (``consensus_else_mean`` or
``primary_only``), a composite computed per rater and segment with
:meth:`annotate.schemes.Composite.compute`; the rules are set out in full in
:mod:`annotate.services.outcomes.summaries`, which builds its tables from these scores.

Why array code rather than a loop over rows: at a million ratings a dict per rating took ~20 s
and ~700 MB for one outcome (the Summaries page and the wide export, which asks for every
dimension and composite). Here the done ratings are read once into NumPy columns
(:func:`load_done_ratings`: Arrow batches through :mod:`annotate.db.arrow` where ADBC serves
the database, else SQLAlchemy rows in chunks) and every outcome is computed from them with sorts and
group boundaries. A composite is computed once per *distinct* vector of part values (scores
repeat) with the scheme's own ``Composite.compute``. Means keep NumPy's ``mean`` to the last bit:
a segment's mean over up to 7 raters is a running sum (what ``np.add.reduce`` does below 8
values, checked in the tests), larger groups and a family's mean over its segments call
``np.mean`` per group.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from annotate.db import arrow
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

CHUNK_ROWS = 100_000
# np.add.reduce sums fewer than 8 values one after the other; from 8 on it sums pairwise.
_RUNNING_SUM_MAX = 7


@dataclass(frozen=True)
class DoneRatings:
    """The done scoring ratings of a study's assessment films, one array entry per rating.

    ``rank`` is the assignment purpose's place in ``SCORING_PURPOSES`` (0 = primary); ``dim`` indexes
    ``dimensions``; ``consensus`` maps (segment id, dimension) to a resolved consensus value.
    """

    segment: np.ndarray
    assignment: np.ndarray
    rank: np.ndarray
    rater: np.ndarray
    dim: np.ndarray
    value: np.ndarray
    participant: np.ndarray
    timepoint: np.ndarray
    dimensions: tuple[str, ...]
    consensus: dict[tuple[int, str], float]


def load_done_ratings(session: Session, study: Study, scheme_id: int, dimensions: Sequence[str]) -> DoneRatings:
    """Read the done ratings of ``dimensions`` (and their resolved consensus values) once."""
    dims = tuple(dict.fromkeys(dimensions))
    stmt = (
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
            Rating.dimension.in_(dims),
            Rating.value.is_not(None),
        )
    )
    rank_of = {p: i for i, p in enumerate(SCORING_PURPOSES)}
    dim_of = {d: i for i, d in enumerate(dims)}
    parts: list[tuple[np.ndarray, ...]] = []
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    if arrow.available(url):
        session.commit()  # the Arrow reader is another connection: it must see what this one wrote
        parts = [_arrays(batch, rank_of, dim_of) for batch in arrow.record_batches(url, arrow.sql_text(url, stmt))]
    else:
        parts = list(_row_arrays(session, stmt, rank_of, dim_of))
    empty = [np.empty(0, np.float64 if i == 5 else np.int64) for i in range(8)]
    columns = [np.concatenate(c) for c in zip(*parts, strict=True)] if parts else empty

    consensus = {
        (seg, dim): float(value)
        for seg, dim, value in session.execute(
            select(ConsensusTask.segment_id, ConsensusTask.dimension, ConsensusTask.value).where(
                ConsensusTask.study_id == study.id,
                ConsensusTask.scheme_id == scheme_id,
                ConsensusTask.status == "resolved",
                ConsensusTask.dimension.in_(dims),
                ConsensusTask.value.is_not(None),
            )
        )
        if value is not None
    }
    seg, a_id, rank, rater, dim, value, pid, tid = columns
    return DoneRatings(seg, a_id, rank, rater, dim, value, pid, tid, dimensions=dims, consensus=consensus)


def _codes(values: pa.Array, code_of: dict[str, int]) -> np.ndarray:
    """Text column -> integer codes by ``code_of``, one lookup per distinct text."""
    encoded = pc.dictionary_encode(values)
    table = np.array([code_of[v] for v in encoded.dictionary.to_pylist()], np.int64)
    return table[encoded.indices.to_numpy(zero_copy_only=False)]


def _arrays(batch: pa.RecordBatch, rank_of: dict[str, int], dim_of: dict[str, int]) -> tuple[np.ndarray, ...]:
    seg, a_id, purpose, rater, dim, value, pid, tid = batch.columns
    ints = [c.to_numpy(zero_copy_only=False).astype(np.int64) for c in (seg, a_id)]
    return (
        *ints,
        _codes(purpose, rank_of),
        rater.to_numpy(zero_copy_only=False).astype(np.int64),
        _codes(dim, dim_of),
        pc.cast(value, pa.float64()).to_numpy(zero_copy_only=False),
        pid.to_numpy(zero_copy_only=False).astype(np.int64),
        tid.to_numpy(zero_copy_only=False).astype(np.int64),
    )


def _row_arrays(
    session: Session, stmt: Select, rank_of: dict[str, int], dim_of: dict[str, int]
) -> Iterator[tuple[np.ndarray, ...]]:
    """The same arrays through SQLAlchemy rows (an in-memory SQLite, a database without ADBC)."""
    for chunk in session.execute(stmt.execution_options(yield_per=CHUNK_ROWS)).partitions():
        seg, a_id, purpose, rater, dim, value, pid, tid = zip(*chunk, strict=True)
        yield (
            np.array(seg, np.int64),
            np.array(a_id, np.int64),
            np.array([rank_of[p] for p in purpose], np.int64),
            np.array(rater, np.int64),
            np.array([dim_of[d] for d in dim], np.int64),
            np.array(value, np.float64),
            np.array(pid, np.int64),
            np.array(tid, np.int64),
        )


def _group_starts(keys: np.ndarray) -> np.ndarray:
    """Start positions of the runs of equal values in a sorted array."""
    if not len(keys):
        return np.empty(0, np.int64)
    return np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))


def _group_means(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``np.mean`` of each run ``values[starts[i]:starts[i+1]]``, to the last bit."""
    n = len(values)
    sizes = np.diff(np.append(starts, n))
    sums = values[starts].copy()
    for j in range(1, min(int(sizes.max(initial=0)), _RUNNING_SUM_MAX)):
        has = sizes > j
        sums[has] += values[starts[has] + j]
    means = sums / sizes
    for i in np.flatnonzero(sizes > _RUNNING_SUM_MAX):
        means[i] = np.mean(values[starts[i] : starts[i] + sizes[i]])
    return means


def _segment_values(
    done: DoneRatings, rule: str, comp: Composite | None, model: SchemeModel, dimension: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(segment ids ascending, score, ratings used) by ``rule``."""
    needed = [p.dimension for p in comp.parts] if comp else [dimension]
    codes = np.array([done.dimensions.index(d) for d in needed], np.int64)
    use = np.isin(done.dim, codes)
    seg, a_id, rank, rater = done.segment[use], done.assignment[use], done.rank[use], done.rater[use]
    dim, value = done.dim[use], done.value[use]
    # A rater holding a primary and a reliability assignment on one segment counts once: the
    # assignment with the lowest (purpose rank, id) of each (segment, rater).
    order = np.lexsort((a_id, rank, rater, seg))
    s, r = seg[order], rater[order]
    first = np.concatenate(([True], (s[1:] != s[:-1]) | (r[1:] != r[:-1]))) if len(s) else np.empty(0, bool)
    head_seg, head_rank, head_a = s[first], rank[order][first], a_id[order][first]
    if rule == "primary_only":
        keep = head_rank == 0
        head_seg, head_rank, head_a = head_seg[keep], head_rank[keep], head_a[keep]
        o = np.lexsort((head_a, head_seg))
        head_seg, head_rank, head_a = head_seg[o], head_rank[o], head_a[o]
        one = np.concatenate(([True], head_seg[1:] != head_seg[:-1])) if len(head_seg) else np.empty(0, bool)
        head_seg, head_rank, head_a = head_seg[one], head_rank[one], head_a[one]
    # The values of each chosen assignment as a vector over the needed dimensions, within each
    # segment in (purpose rank, id) order: the order the means add them in.
    o = np.lexsort((head_a, head_rank, head_seg))
    head_seg, head_a = head_seg[o], head_a[o]
    vectors = np.full((len(head_a), len(needed)), np.nan)
    by_a = np.argsort(head_a)
    sorted_a = head_a[by_a]
    pos = np.searchsorted(sorted_a, a_id)
    pos[pos == len(sorted_a)] = 0
    hit = (sorted_a[pos] == a_id) if len(sorted_a) else np.zeros(len(a_id), bool)
    col = np.zeros(len(codes) and int(codes.max()) + 1, np.int64)
    col[codes] = np.arange(len(codes))
    col = col[dim]  # each rating's column in the vectors
    vectors[by_a[pos[hit]], col[hit]] = value[hit]  # the last of duplicate (assignment, dimension) rows wins
    if rule == "consensus_else_mean" and done.consensus:
        for j, d in enumerate(needed):
            over = np.array([done.consensus.get((int(g), d), np.nan) for g in head_seg])
            vectors[:, j] = np.where(np.isnan(over), vectors[:, j], over)
    complete = ~np.isnan(vectors).any(axis=1)
    head_seg, vectors = head_seg[complete], vectors[complete]
    if comp is None:
        scores = vectors[:, 0].copy()
    else:
        distinct, inverse = np.unique(vectors, axis=0, return_inverse=True)
        computed = np.array([comp.compute(dict(zip(needed, map(float, row), strict=True)), model) for row in distinct])
        scores = computed[inverse.reshape(-1)] if len(distinct) else np.empty(0)
    starts = _group_starts(head_seg)
    return head_seg[starts], _group_means(scores, starts), np.diff(np.append(starts, len(head_seg)))


def scores_from(
    done: DoneRatings, model: SchemeModel, dimension: str, comp: Composite | None, rule: str
) -> dict[tuple[int, int], tuple[float, int, int]]:
    """(participant id, time point id) -> (score, n_segments, n_ratings) from ratings read once."""
    segs, seg_scores, used = _segment_values(done, rule, comp, model, dimension)
    if not len(segs):
        return {}
    # Each segment's film: its participant and time point (the same on every rating of the segment).
    o = np.argsort(done.segment, kind="stable")
    at = o[np.searchsorted(done.segment[o], segs)]
    pid, tid = done.participant[at], done.timepoint[at]
    order = np.lexsort((segs, tid, pid))  # within a family and time point: segments ascending
    pid, tid, seg_scores, used = pid[order], tid[order], seg_scores[order], used[order]
    key = np.concatenate(([True], (pid[1:] != pid[:-1]) | (tid[1:] != tid[:-1])))
    starts = np.flatnonzero(key)
    ends = np.append(starts[1:], len(pid))
    return {
        (int(pid[b]), int(tid[b])): (float(np.mean(seg_scores[b:e])), int(e - b), int(used[b:e].sum()))
        for b, e in zip(starts, ends, strict=True)
    }


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
    return scores_from(load_done_ratings(session, study, scheme_id, needed), model, dimension, comp, rule)
