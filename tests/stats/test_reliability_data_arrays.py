"""The array path of ``ratings_from_long`` gives exactly what the row loop gives, or defers to it.

Both are run on the same input: the array path on NumPy arrays and pandas Series, the loop on
``list()`` of them (which is what the loop itself iterates). Equal means the same ids (values
and types, in the same order), the same scale and the same codes; an input the loop refuses is
refused with the same message.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.stats.reliability_data import ReliabilityInputError, _from_numeric_arrays, ratings_from_long

UNIT_IDS = st.one_of(st.sampled_from(["s1", "s2", "s3", "K7Q2M-1", "😀", ""]), st.integers(0, 4))
RATER_IDS = st.one_of(st.sampled_from(["ann", "bob", "cy"]), st.integers(0, 2))
SCORES = st.sampled_from([1.0, 2.0, 3.0, 4.5, 7.0, math.nan, -0.0, 0.0, 9.0])
SCALES = st.one_of(st.none(), st.just([1, 2, 3, 4, 5, 6, 7]), st.just([0.0, 1.0, 2.0, 3.0, 4.5, 7.0, 9.0]))


def _outcome(units, raters, scores, categories):
    try:
        r = ratings_from_long(units, raters, scores, categories)
    except ReliabilityInputError as exc:
        return ("refused", str(exc))
    return (
        [(u, type(u)) for u in r.units],
        [(x, type(x)) for x in r.raters],
        [(c, type(c)) for c in r.categories],
        r.codes.tolist(),
    )


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.tuples(UNIT_IDS, RATER_IDS, SCORES), min_size=1, max_size=14),
    categories=SCALES,
    as_series=st.booleans(),
)
def test_array_path_equals_the_row_loop(rows, categories, as_series):
    units = [u for u, _, _ in rows]
    raters = [r for _, r, _ in rows]
    scores = np.array([s for _, _, s in rows], dtype=float)
    if as_series:
        given_units, given_raters, given_scores = (
            pd.Series(units, dtype=object),
            pd.Series(raters, dtype=object),
            pd.Series(scores),
        )
    else:
        given_units, given_raters, given_scores = units, raters, scores
    expected = _outcome(list(given_units), list(given_raters), list(given_scores), categories)
    assert _outcome(given_units, given_raters, given_scores, categories) == expected


def test_the_array_path_is_taken_for_a_study_sized_table():
    """A guard that the fast path is not silently skipped (it would still be correct, only slow)."""
    rng = np.random.default_rng(1)
    n = 20_000
    raters = pd.Series(np.where(np.arange(n) % 2, "ann", "bob"), dtype="str")  # Arrow-backed text, as read
    frame = pd.DataFrame(
        {"unit": [f"u{i // 2}" for i in range(n)], "rater": raters, "score": rng.integers(1, 8, n) * 1.0}
    )
    got = _from_numeric_arrays(frame["unit"], frame["rater"], frame["score"], range(1, 8))
    assert got is not None and got.n_units == n // 2 and got.n_raters == 2
    assert got.units[:2] == ("u0", "u1") and type(got.units[0]) is str
    reference = ratings_from_long(list(frame["unit"]), list(frame["rater"]), list(frame["score"]), range(1, 8))
    assert np.array_equal(got.codes, reference.codes) and got.units == reference.units


@pytest.mark.parametrize("bad", ["duplicate", "off scale", "one rater", "bool"])
def test_what_the_array_path_does_not_take_is_refused_as_before(bad):
    units, raters, scores = ["a", "a", "b", "b"], ["x", "y", "x", "y"], np.array([1.0, 2.0, 3.0, 3.0])
    if bad == "duplicate":
        raters = ["x", "x", "x", "y"]
    elif bad == "off scale":
        scores = np.array([1.0, 2.0, 3.0, 8.0])
    elif bad == "one rater":
        raters = ["x"] * 4
    elif bad == "bool":
        scores = np.array([True, False, True, True])
    assert _from_numeric_arrays(units, raters, scores, [1, 2, 3]) is None
    with pytest.raises(ReliabilityInputError):
        ratings_from_long(units, raters, scores, [1, 2, 3])


def _design_outcome(frame, **kw):
    from annotate.stats.reliability_design import DesignInputError, long_ratings

    try:
        d = long_ratings(frame, **kw)
    except DesignInputError as exc:
        return ("refused", str(exc))
    arrays = [d.unit, d.rater, d.score] + ([] if d.unit_cluster is None else [d.unit_cluster])
    return (d.unit_ids, d.rater_ids, d.cluster_ids, d.categories, [a.tolist() for a in arrays])


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.tuples(UNIT_IDS, RATER_IDS, SCORES, st.sampled_from(["f1", "f2", None])), min_size=1, max_size=14),
    categories=SCALES,
    cluster=st.booleans(),
)
def test_design_input_array_path_equals_the_row_loop(rows, categories, cluster):
    """``long_ratings`` checks a numeric score column in array operations and any other one value
    by value; the same scores as an object column (the loop) give the same table or refusal."""
    frame = pd.DataFrame(
        {
            "unit": pd.Series([r[0] for r in rows], dtype=object),
            "rater": pd.Series([r[1] for r in rows], dtype=object),
            "score": np.array([r[2] for r in rows], dtype=float),
            "film": pd.Series([r[3] for r in rows], dtype=object),
        }
    )
    looped = frame.assign(score=frame["score"].astype(object))
    kw = {"categories": categories, "cluster": "film" if cluster else None}
    assert _design_outcome(frame, **kw) == _design_outcome(looped, **kw)
