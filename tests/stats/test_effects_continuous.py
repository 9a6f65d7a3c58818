"""Descriptives, Welch mean difference and Hedges' g against published values and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from annotate.stats.effects import (
    EffectsInputError,
    describe,
    hedges_g,
    hedges_g_from_summary,
    welch_mean_difference,
)


def test_describe_matches_numpy_and_r_type_7_quantiles():
    scores = [2, 9, 4, 7, 5, 5, 3, None, 8]
    r = describe(scores)
    x = np.array([2, 9, 4, 7, 5, 5, 3, 8], dtype=float)
    assert r.n == 8
    assert r.mean == pytest.approx(x.mean())
    assert r.sd == pytest.approx(x.std(ddof=1))
    # R: quantile(c(2,9,4,7,5,5,3,8)) -> 25% 3.75, 50% 5, 75% 7.25 (type 7)
    assert (r.q1, r.median, r.q3) == pytest.approx((3.75, 5.0, 7.25))
    assert (r.minimum, r.maximum) == (2.0, 9.0)


def test_describe_small_groups():
    one = describe([4])
    assert (one.n, one.mean, one.sd, one.median, one.q1) == (1, 4.0, None, 4.0, 4.0)
    empty = describe([None, float("nan")])
    assert empty.n == 0 and empty.mean is None and empty.maximum is None


def test_describe_rejects_text_and_infinity():
    with pytest.raises(EffectsInputError, match="must be numbers"):
        describe([1, "five"])
    with pytest.raises(EffectsInputError, match="infinite"):
        describe([1, float("inf")])
    with pytest.raises(EffectsInputError, match="must be numbers"):
        describe([True, False])


def test_welch_difference_matches_scipy():
    treatment = [5.5, 6.0, 7.2, 8.1, 6.6, 7.7]
    control = [4.0, 4.4, 5.1, 6.3, 6.0, 3.9, 5.2]
    r = welch_mean_difference(treatment, control)
    ref = sps.ttest_ind(treatment, control, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert r.difference == pytest.approx(np.mean(treatment) - np.mean(control))
    assert r.df == pytest.approx(ref.df)
    assert (r.ci95_low, r.ci95_high) == pytest.approx((ci.low, ci.high))
    assert (r.n1, r.n2) == (6, 7)


def test_welch_difference_undefined_parts_are_none():
    assert welch_mean_difference([], [1, 2]).difference is None
    single = welch_mean_difference([5], [1, 2])
    assert single.difference == 3.5 and single.ci95_low is None
    constant = welch_mean_difference([3, 3], [2, 2])
    assert constant.difference == 1.0 and constant.ci95_high is None


def test_hedges_g_borenstein_2009_chapter_4_example():
    # Borenstein, Hedges, Higgins & Rothstein (2009), Introduction to Meta-Analysis, ch. 4:
    # S_within 5.0249, d 0.5970, V_d 0.0418, J 0.9923, g 0.5924, V_g 0.0411, SE_g 0.2028.
    r = hedges_g_from_summary(103, 5.5, 50, 100, 4.5, 50)
    assert r.s_within == pytest.approx(5.0249, abs=5e-5)
    assert r.d == pytest.approx(0.5970, abs=5e-5)
    assert r.variance_d == pytest.approx(0.0418, abs=5e-5)
    assert r.j == pytest.approx(0.9923, abs=5e-5)
    assert r.g == pytest.approx(0.5924, abs=5e-5)
    assert r.variance_g == pytest.approx(0.0411, abs=5e-5)
    assert r.se_g == pytest.approx(0.2028, abs=5e-5)
    assert (r.ci95_low, r.ci95_high) == pytest.approx((0.5924 - 1.96 * 0.2028, 0.5924 + 1.96 * 0.2028), abs=1e-3)


def test_hedges_g_variance_is_j_squared_times_v_d_not_the_plug_in_formula():
    r = hedges_g_from_summary(10, 2, 6, 8, 3, 5)
    plug_in = 1 / 6 + 1 / 5 + r.g**2 / (2 * 11)
    assert r.variance_g == pytest.approx(r.j**2 * r.variance_d)
    assert abs(r.variance_g - plug_in) > 1e-3


def test_hedges_g_from_raw_scores_equals_summary_route():
    treatment = [5.5, 6.0, 7.2, 8.1, 6.6, 7.7]
    control = [4.0, 4.4, 5.1, 6.3, 6.0, 3.9, 5.2]
    raw = hedges_g(treatment, control + [None])
    summary = hedges_g_from_summary(
        np.mean(treatment), np.std(treatment, ddof=1), 6, np.mean(control), np.std(control, ddof=1), 7
    )
    assert raw == summary
    assert raw.g < 0 if np.mean(treatment) < np.mean(control) else raw.g > 0


def test_hedges_g_undefined_cases():
    assert hedges_g([], [1, 2, 3]).g is None
    assert hedges_g([1], [2]).g is None  # df = 0
    flat = hedges_g([4, 4], [4, 4, 4])
    assert flat.g is None and flat.s_within == 0.0
    with pytest.raises(EffectsInputError, match="negative"):
        hedges_g_from_summary(1, -1, 5, 0, 1, 5)
