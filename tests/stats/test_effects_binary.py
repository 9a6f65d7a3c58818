"""Risk ratio (Katz) and risk difference (Newcombe method 10) against published examples."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.proportion import proportion_confint

from annotate.stats.effects import (
    EffectsInputError,
    risk_difference_newcombe,
    risk_ratio_katz,
    threshold_comparison,
    wilson_interval,
)


def test_vipp_pmh_month_5_risk_ratio():
    # Barnicot et al. (2022) Br J Clin Psychol 61:1188: RR 1.94 (95% CI 0.67-5.63); 9/17 vs 3/11.
    r = risk_ratio_katz(9, 17, 3, 11)
    assert round(r.value, 2) == 1.94
    assert (round(r.ci95_low, 2), round(r.ci95_high, 2)) == (0.67, 5.63)
    assert not r.corrected
    assert r.se_log == pytest.approx(math.sqrt(1 / 9 - 1 / 17 + 1 / 3 - 1 / 11))


def test_katz_adds_half_to_every_cell_when_a_cell_is_zero():
    r = risk_ratio_katz(0, 10, 4, 12)
    a, n1, c, n2 = 0.5, 11.0, 4.5, 13.0
    expected = (a / n1) / (c / n2)
    se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
    assert r.corrected
    assert r.value == pytest.approx(expected)
    assert r.ci95_low == pytest.approx(expected * math.exp(-1.959964 * se), rel=1e-6)
    assert r.ci95_high == pytest.approx(expected * math.exp(1.959964 * se), rel=1e-6)


def test_katz_corrects_when_every_participant_is_an_event():
    r = risk_ratio_katz(8, 8, 3, 10)  # b = 0
    assert r.corrected
    assert r.value == pytest.approx((8.5 / 9) / (3.5 / 11))


def test_katz_rejects_impossible_counts():
    with pytest.raises(EffectsInputError, match="exceed"):
        risk_ratio_katz(5, 4, 1, 3)
    with pytest.raises(EffectsInputError, match="n = 0"):
        risk_ratio_katz(0, 0, 1, 3)
    with pytest.raises(EffectsInputError, match="whole number"):
        risk_ratio_katz(1.5, 4, 1, 3)


@pytest.mark.parametrize(
    ("a", "n1", "c", "n2", "low", "high"),
    [
        # Newcombe (1998) Stat Med 17:873, Table II, method 10 (hybrid score, no CC).
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (0, 10, 0, 10, -0.2775, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0000),
        (10, 10, 0, 10, 0.6075, 1.0000),
    ],
)
def test_newcombe_method_10_published_examples(a, n1, c, n2, low, high):
    r = risk_difference_newcombe(a, n1, c, n2)
    assert r.value == pytest.approx(a / n1 - c / n2)
    assert r.ci95_low == pytest.approx(low, abs=5e-5)
    assert r.ci95_high == pytest.approx(high, abs=5e-5)


def test_wilson_interval_matches_statsmodels():
    for events, n in [(0, 7), (3, 11), (9, 17), (17, 17)]:
        r = wilson_interval(events, n)
        low, high = proportion_confint(events, n, alpha=0.05, method="wilson")
        assert (r.ci95_low, r.ci95_high) == pytest.approx((low, high))


def test_threshold_is_inclusive_and_ignores_missing_scores():
    treatment = [5, 5, 7, 9, 6, 5, 8, 9, 5] + [4.99] + [1] * 7 + [None, None]  # 9 of 17 at >= 5
    control = [5, 6, 7] + [4] * 8 + [float("nan")]  # 3 of 11
    r = threshold_comparison(treatment, control, threshold=5)
    assert (r.treatment_events, r.treatment_n, r.control_events, r.control_n) == (9, 17, 3, 11)
    assert round(r.risk_ratio.value, 2) == 1.94
    assert r.risk_difference.value == pytest.approx(9 / 17 - 3 / 11)


def test_threshold_with_an_empty_arm_gives_no_ratio():
    r = threshold_comparison([5, 6], [None], threshold=5)
    assert r.control_n == 0 and r.risk_ratio is None and r.risk_difference is None


def test_threshold_must_be_a_number():
    with pytest.raises(EffectsInputError, match="threshold"):
        threshold_comparison([1], [2], threshold="high")
    with pytest.raises(EffectsInputError, match="finite"):
        threshold_comparison([1], [2], threshold=float("nan"))
