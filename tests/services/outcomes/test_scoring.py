"""The array scoring equals the rules read row by row (the reference below, the code it replaced),
to the last bit, for random studies: raters holding two assignments on a segment, primary-only,
consensus overrides, composites with a part missing, many raters on one segment."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.schemes import load_schemes_dir
from annotate.services.outcomes.scoring import DoneRatings, _group_means, scores_from
from annotate.services.policy import SCORING_PURPOSES

SCHEME = load_schemes_dir()["nichd_sensitivity_intrusiveness"][0]
DIMS = SCHEME.dimension_names()
COMP = SCHEME.composites[0]


def reference(rows, consensus, rule, comp, dimension):
    """The rules of annotate.services.outcomes.summaries, one rating at a time."""
    given_: dict = {}
    held: dict = {}
    film: dict = {}
    needed = [p.dimension for p in comp.parts] if comp else [dimension]
    for seg, a_id, purpose, rater, dim, value, pid, tid in rows:
        if dim not in needed:
            continue
        film[seg] = (pid, tid)
        given_.setdefault((seg, a_id), {})[dim] = float(value)
        rank = (SCORING_PURPOSES.index(purpose), a_id)
        per_rater = held.setdefault(seg, {})
        per_rater[rater] = min(per_rater.get(rater, rank), rank)
    seg_values = {}
    for seg, per_rater in held.items():
        chosen = sorted(per_rater.values())
        if rule == "primary_only":
            chosen = [c for c in chosen if c[0] == 0][:1]
        values = []
        for _rank, a_id in chosen:
            vector = given_[(seg, a_id)]
            if rule == "consensus_else_mean":
                vector = {**vector, **{d: consensus[(seg, d)] for d in needed if (seg, d) in consensus}}
            if all(d in vector for d in needed):
                values.append(comp.compute(vector, SCHEME) if comp else vector[dimension])
        if values:
            seg_values[seg] = (float(np.mean(values)), len(values))
    grouped: dict = {}
    for seg in sorted(seg_values):
        grouped.setdefault(film[seg], []).append(seg_values[seg])
    return {k: (float(np.mean([v for v, _ in s])), len(s), sum(n for _, n in s)) for k, s in grouped.items()}


@st.composite
def studies(draw):
    rows = []
    a_id = 0
    for seg in range(1, draw(st.integers(1, 8)) + 1):
        pid, tid = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        for rater in draw(st.lists(st.integers(1, 5), min_size=1, max_size=9)):  # repeats: two assignments
            a_id += 1
            purpose = draw(st.sampled_from(SCORING_PURPOSES))
            for dim in draw(st.lists(st.sampled_from(DIMS), min_size=1, max_size=3, unique=True)):
                rows.append((seg, a_id, purpose, rater, dim, float(draw(st.integers(1, 4))), pid, tid))
    segs = sorted({r[0] for r in rows})
    consensus = {
        (seg, dim): float(draw(st.integers(1, 4)))
        for seg in segs
        for dim in DIMS
        if draw(st.booleans()) and draw(st.booleans())
    }
    return rows, consensus


def done_of(rows, consensus) -> DoneRatings:
    cols = list(zip(*rows, strict=True))
    return DoneRatings(
        segment=np.array(cols[0], np.int64),
        assignment=np.array(cols[1], np.int64),
        rank=np.array([SCORING_PURPOSES.index(p) for p in cols[2]], np.int64),
        rater=np.array(cols[3], np.int64),
        dim=np.array([DIMS.index(d) for d in cols[4]], np.int64),
        value=np.array(cols[5], np.float64),
        participant=np.array(cols[6], np.int64),
        timepoint=np.array(cols[7], np.int64),
        dimensions=tuple(DIMS),
        consensus=consensus,
    )


@settings(max_examples=300, deadline=None)
@given(studies(), st.sampled_from(["consensus_else_mean", "primary_only"]), st.sampled_from([None, *DIMS]))
def test_array_scores_equal_the_row_by_row_rules(study, rule, dimension) -> None:
    rows, consensus = study
    comp = COMP if dimension is None else None
    dim = COMP.name if dimension is None else dimension
    assert scores_from(done_of(rows, consensus), SCHEME, dim, comp, rule) == reference(
        rows, consensus, rule, comp, dimension
    )


@given(st.lists(st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=12), min_size=1, max_size=20))
def test_group_means_are_numpys_mean_to_the_last_bit(groups) -> None:
    values = np.array([v for g in groups for v in g])
    starts = np.cumsum([0] + [len(g) for g in groups[:-1]])
    assert _group_means(values, starts).tolist() == [float(np.mean(g)) for g in groups]


def test_no_ratings_no_scores() -> None:
    empty = DoneRatings(
        *[np.empty(0, np.int64)] * 5, np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64), tuple(DIMS), {}
    )
    assert scores_from(empty, SCHEME, DIMS[0], None, "consensus_else_mean") == {}
