"""Bang's and James' blinding indices against published values, exact hand computations and limits.

Published numbers are compared to half a unit in their last printed decimal. Where no published
value was available (Bang 2004's CRISP table, James 1996's disulfiram data) the indices are
checked against independent computations: exact fractions for the values and the multinomial
delta method (numerical gradient) for the standard errors.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from annotate.stats.blinding import (
    BlindingInputError,
    GuessCounts,
    bang_index,
    guess_counts,
    james_index,
)

HALF_UNIT_3DP = 0.0005

# Houweling, Shapiro, Cohen & Kahn (2014) Clinical Trials 11:547, Table 2 (SOX trial), as given in
# the examples of the R package BI 1.2.0 (rows guessed active / placebo / don't know, columns arm).
HOUWELING = {
    "site investigators": ((48, 4, 330), (22, 30, 319)),
    "research coordinators": ((94, 11, 289), (52, 44, 284)),
    "patients": ((143, 14, 188), (104, 57, 175)),
}
# Bang, Ni & Davis (2004) Controlled Clinical Trials 25:143, Table 7 (CRISP), as given in BI's examples.
CRISP = ((82, 25, 170), (27, 29, 83))


def arms(treatment: tuple[int, int, int], control: tuple[int, int, int]) -> tuple[GuessCounts, GuessCounts]:
    return GuessCounts("treatment", *treatment), GuessCounts("control", *control)


# ----------------------------------------------------------------------------- published values


def test_houweling_investigators_james_index_as_published():
    # BlindingIndex.jl README and test/runtests.jl (port of R BI): 0.896, SE 0.011, CI 0.875-0.918.
    j = james_index(*arms(*HOUWELING["site investigators"]))
    assert j.value == pytest.approx(0.896, abs=HALF_UNIT_3DP)
    assert j.se == pytest.approx(0.011, abs=HALF_UNIT_3DP)
    assert j.ci95_low == pytest.approx(0.875, abs=HALF_UNIT_3DP)
    assert j.ci95_high == pytest.approx(0.918, abs=HALF_UNIT_3DP)
    assert j.n == 753


@pytest.mark.parametrize(
    ("arm", "expected"),
    [
        # same source: treatment 0.115 (0.018) 0.08-0.15; placebo 0.022 (0.019) -0.016-0.06
        ("treatment", (0.115, 0.018, 0.080, 0.150, 382)),
        ("control", (0.022, 0.019, -0.016, 0.060, 371)),
    ],
)
def test_houweling_investigators_bang_index_as_published(arm, expected):
    treatment, control = arms(*HOUWELING["site investigators"])
    b = bang_index(treatment if arm == "treatment" else control)
    value, se, low, high, n = expected
    assert b.arm == arm
    assert b.value == pytest.approx(value, abs=HALF_UNIT_3DP)
    assert b.se == pytest.approx(se, abs=HALF_UNIT_3DP)
    assert b.ci95_low == pytest.approx(low, abs=HALF_UNIT_3DP)
    assert b.ci95_high == pytest.approx(high, abs=HALF_UNIT_3DP)
    assert b.n == n


@pytest.mark.parametrize(
    ("group", "percent_correct"),
    # Houweling et al. (2014) abstract: "Overall rates of correct responses were 10.4% for site
    # investigators, 17.8% for research coordinators and 29.4% for patients" - checks that the
    # tables above are the paper's data.
    [("site investigators", 10.4), ("research coordinators", 17.8), ("patients", 29.4)],
)
def test_houweling_tables_reproduce_the_published_correct_rates(group, percent_correct):
    treatment, control = arms(*HOUWELING[group])
    rate = 100 * (treatment.correct + control.correct) / (treatment.n + control.n)
    assert rate == pytest.approx(percent_correct, abs=0.05)


def test_houweling_patients_unblinded_in_active_and_opposite_guess_in_placebo():
    # Abstract: Bang's index "detected possible unblinding and opposite guess for patients in the
    # active and placebo ... groups, respectively" - the intervals exclude 0 on opposite sides.
    treatment, control = arms(*HOUWELING["patients"])
    assert bang_index(treatment).ci95_low > 0
    assert bang_index(control).ci95_high < 0


# ------------------------------------------------------------------ independent hand computations


def test_crisp_bang_index_equals_hand_computation():
    treatment, control = arms(*CRISP)
    b = bang_index(treatment)
    assert b.value == pytest.approx((82 - 25) / 277, rel=1e-12)
    p1, p2 = 82 / 277, 25 / 277
    assert b.se == pytest.approx(math.sqrt((p1 * (1 - p1) + p2 * (1 - p2) + 2 * p1 * p2) / 277), rel=1e-12)
    assert bang_index(control).value == pytest.approx((29 - 27) / 139, rel=1e-12)


def test_crisp_james_index_equals_exact_hand_computation():
    # 416 answers, 253 "don't know"; of the 163 guesses 109 name treatment and 54 control;
    # 107 treated and 56 control assessors guessed; 25 + 27 guesses were wrong (weight 1/2).
    p_dk = Fraction(253, 416)
    p_do = Fraction(1, 2) * Fraction(25 + 27, 163)
    p_de = Fraction(1, 2) * Fraction(109 * 56 + 54 * 107, 163**2)
    kappa = (p_do - p_de) / p_de
    assert kappa == Fraction(-1703, 5941)
    expected = (1 + p_dk + (1 - p_dk) * kappa) / 2
    assert james_index(*arms(*CRISP)).value == pytest.approx(float(expected), rel=1e-12)


def _james_from_cells(p: np.ndarray) -> float:
    t_t, t_c, t_dk, c_t, c_c, c_dk = p
    p_dk = t_dk + c_dk
    p_do = 0.5 * (t_c + c_t) / (1 - p_dk)
    p_de = 0.5 * ((t_t + c_t) * (c_t + c_c) + (t_c + c_c) * (t_t + t_c)) / (1 - p_dk) ** 2
    return (1 + p_dk + (1 - p_dk) * (p_do - p_de) / p_de) / 2


@pytest.mark.parametrize(
    "table",
    [HOUWELING["site investigators"], HOUWELING["patients"], CRISP, ((5, 3, 5), (3, 7, 3)), ((10, 2, 0), (3, 9, 0))],
)
def test_james_se_equals_multinomial_delta_method(table):
    # James' variance is the delta-method variance of the index under multinomial sampling of
    # the six cells; recompute it from a central-difference gradient of the plain formula.
    counts = np.array(table[0] + table[1], dtype=float)
    total = counts.sum()
    p = counts / total
    step = 1e-6
    gradient = np.array(
        [(_james_from_cells(p + step * e) - _james_from_cells(p - step * e)) / (2 * step) for e in np.eye(6)]
    )
    delta_se = math.sqrt(gradient @ ((np.diag(p) - np.outer(p, p)) / total) @ gradient)
    j = james_index(*arms(*table))
    assert j.value == pytest.approx(_james_from_cells(p), rel=1e-12)
    assert j.se == pytest.approx(delta_se, rel=1e-6)


def test_bang_se_equals_multinomial_delta_method():
    # Bang's index is linear in the cell shares, so its delta-method variance is exact.
    counts = GuessCounts("control", 27, 29, 83)
    p = np.array([counts.correct, counts.incorrect, counts.dont_know]) / counts.n
    gradient = np.array([1.0, -1.0, 0.0])
    se = math.sqrt(gradient @ ((np.diag(p) - np.outer(p, p)) / counts.n) @ gradient)
    assert bang_index(counts).se == pytest.approx(se, rel=1e-12)


def test_confidence_level_sets_the_interval_width():
    counts = GuessCounts("treatment", 82, 25, 170)
    b95, b90 = bang_index(counts), bang_index(counts, confidence=0.90)
    assert b95.ci95_high - b95.value == pytest.approx(1.959964 * b95.se, rel=1e-6)
    assert b90.ci95_high - b90.value == pytest.approx(1.644854 * b90.se, rel=1e-6)
    j90 = james_index(*arms(*CRISP), confidence=0.90)
    assert j90.value - j90.ci95_low == pytest.approx(1.644854 * j90.se, rel=1e-6)


# ------------------------------------------------------------------------- limits and symmetry


def test_perfect_unblinding():
    treatment, control = GuessCounts("treatment", 12, 0, 0), GuessCounts("control", 0, 9, 0)
    assert bang_index(treatment).value == 1.0
    assert bang_index(control).value == 1.0
    j = james_index(treatment, control)
    assert j.value == 0.0
    # every answer in one category: the plug-in variance is 0, so no interval is claimed
    assert (bang_index(treatment).se, bang_index(treatment).ci95_low, j.se, j.ci95_high) == (None, None, None, None)


def test_everyone_guessing_the_other_arm():
    treatment, control = GuessCounts("treatment", 0, 10, 0), GuessCounts("control", 10, 0, 0)
    assert bang_index(treatment).value == -1.0
    assert bang_index(control).value == -1.0
    # BI documentation: "If the index is 1, all responses are incorrect"
    assert james_index(treatment, control).value == 1.0


def test_all_dont_know_is_james_one_and_bang_zero():
    # James (1996) p. 1425 / Bang (2004) p. 146 via BI: only "don't know" answers -> James 1.
    treatment, control = GuessCounts("treatment", 0, 0, 7), GuessCounts("control", 0, 0, 5)
    j = james_index(treatment, control)
    assert (j.value, j.se, j.ci95_low, j.ci95_high, j.n) == (1.0, None, None, None, 12)
    b = bang_index(treatment)
    assert (b.value, b.se, b.n) == (0.0, None, 7)


def test_random_guessing_gives_bang_zero_and_james_one_half():
    treatment, control = GuessCounts("treatment", 25, 25, 0), GuessCounts("control", 25, 25, 0)
    assert bang_index(treatment).value == 0.0
    assert bang_index(control).value == 0.0
    j = james_index(treatment, control)
    assert j.value == 0.5
    assert j.ci95_low < 0.5 < j.ci95_high


def test_random_guessing_with_dont_know_raises_james_by_half_the_dont_know_share():
    # K_d = 0 when guesses are independent of the arm, so BI = (1 + P_dk) / 2.
    j = james_index(GuessCounts("treatment", 20, 20, 10), GuessCounts("control", 20, 20, 10))
    assert j.value == pytest.approx(0.6, abs=1e-12)


def test_james_undefined_when_no_chance_disagreement():
    # Only treated assessors guessed, and all guessed treatment: P_de = 0, kappa undefined.
    j = james_index(GuessCounts("treatment", 5, 0, 2), GuessCounts("control", 0, 0, 4))
    assert (j.value, j.se, j.ci95_low, j.ci95_high, j.n) == (None, None, None, None, 11)


def test_bang_index_is_symmetric_in_arm_labels():
    as_treatment = bang_index(GuessCounts("treatment", 30, 12, 50))
    as_control = bang_index(GuessCounts("control", 12, 30, 50))
    assert as_treatment.value == pytest.approx(as_control.value)
    assert as_treatment.se == pytest.approx(as_control.se)


def test_swapping_right_and_wrong_guesses_negates_bang_index():
    right = bang_index(GuessCounts("treatment", 30, 12, 50))
    wrong = bang_index(GuessCounts("treatment", 12, 30, 50))
    assert wrong.value == pytest.approx(-right.value)
    assert wrong.se == pytest.approx(right.se)
    assert wrong.ci95_low == pytest.approx(-right.ci95_high)


def test_james_index_does_not_depend_on_which_arm_is_called_treatment():
    (t_t, t_c, t_dk), (c_t, c_c, c_dk) = CRISP
    original = james_index(*arms(*CRISP))
    relabelled = james_index(GuessCounts("treatment", c_c, c_t, c_dk), GuessCounts("control", t_c, t_t, t_dk))
    assert relabelled.value == pytest.approx(original.value, rel=1e-12)
    assert relabelled.se == pytest.approx(original.se, rel=1e-12)


def test_more_assessors_with_the_same_shares_shrink_the_se_by_root_n():
    small = james_index(*arms((8, 2, 10), (3, 5, 12)))
    large = james_index(*arms((32, 8, 40), (12, 20, 48)))
    assert large.value == pytest.approx(small.value, rel=1e-12)
    assert large.se == pytest.approx(small.se / 2, rel=1e-12)
    assert bang_index(GuessCounts("treatment", 32, 8, 40)).se == pytest.approx(
        bang_index(GuessCounts("treatment", 8, 2, 10)).se / 2, rel=1e-12
    )


def test_indices_stay_in_range_over_many_tables():
    rng = np.random.default_rng(4)
    for _ in range(200):
        t, c = rng.integers(0, 15, size=3), rng.integers(0, 15, size=3)
        if t.sum() == 0 or c.sum() == 0:
            continue
        treatment, control = GuessCounts("treatment", *map(int, t)), GuessCounts("control", *map(int, c))
        assert -1 <= bang_index(treatment).value <= 1
        j = james_index(treatment, control)
        if j.value is not None:
            assert 0 <= j.value <= 1
            assert j.se is None or j.se > 0


# --------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: GuessCounts("treatment", -1, 2, 3), "must not be negative"),
        (lambda: GuessCounts("control", 1, 2.5, 3), "whole number"),
        (lambda: GuessCounts("control", True, 2, 3), "whole number"),
        (lambda: GuessCounts("intervention", 1, 2, 3), "'treatment' or 'control'"),
    ],
)
def test_bad_counts_are_rejected_with_a_message(build, message):
    with pytest.raises(BlindingInputError, match=message):
        build()


def test_counts_accept_numpy_integers():
    counts = GuessCounts("treatment", np.int64(3), np.int32(1), np.uint8(0))
    assert counts.n == 4 and type(counts.guessed_treatment) is int


def test_arm_without_answers_is_rejected():
    empty = GuessCounts("control", 0, 0, 0)
    with pytest.raises(BlindingInputError, match="control arm has no answers"):
        bang_index(empty)
    with pytest.raises(BlindingInputError, match="control arm has no answers"):
        james_index(GuessCounts("treatment", 3, 1, 2), empty)


def test_swapped_arms_are_rejected():
    treatment, control = arms(*CRISP)
    with pytest.raises(BlindingInputError, match="pass the treatment arm first"):
        james_index(control, treatment)


@pytest.mark.parametrize("confidence", [0, 1, 95, -0.5, "0.95"])
def test_bad_confidence_is_rejected(confidence):
    with pytest.raises(BlindingInputError, match="confidence"):
        bang_index(GuessCounts("treatment", 3, 1, 2), confidence=confidence)


# ------------------------------------------------------------------------------- guess_counts


def test_guess_counts_from_records_and_from_a_frame_agree():
    rows = (
        [{"true_arm": "treatment", "guess": "treatment"}] * 48
        + [{"true_arm": "treatment", "guess": "control"}] * 4
        + [{"true_arm": "treatment", "guess": "dont_know"}] * 330
        + [{"true_arm": "control", "guess": "treatment"}] * 22
        + [{"true_arm": "control", "guess": "control"}] * 30
        + [{"true_arm": "control", "guess": "dont_know"}] * 319
    )
    expected = arms(*HOUWELING["site investigators"])
    assert guess_counts(rows) == expected
    frame = pd.DataFrame(rows).sample(frac=1, random_state=1).rename(columns={"true_arm": "arm", "guess": "g"})
    assert guess_counts(frame, true_arm="arm", guess="g") == expected


def test_guess_counts_keeps_an_arm_without_rows_as_zeros():
    treatment, control = guess_counts([{"true_arm": "treatment", "guess": "dont_know"}])
    assert control == GuessCounts("control", 0, 0, 0)
    assert treatment.dont_know == 1


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"true_arm": "treatment", "guess": "intervention"}], r"row 0: guess must be .*'intervention'"),
        ([{"true_arm": "Arm A", "guess": "control"}], r"row 0: true_arm must be .*'Arm A'"),
        ([{"true_arm": "control", "guess": None}], r"row 0: guess must be .*None"),
        ([{"true_arm": "control"}], r"record 0 has no 'guess'"),
        (["control"], r"record 0 must be a mapping"),
    ],
)
def test_guess_counts_rejects_unknown_values(rows, message):
    with pytest.raises(BlindingInputError, match=message):
        guess_counts(rows)


def test_guess_counts_names_a_missing_column():
    with pytest.raises(BlindingInputError, match="no column 'guess'"):
        guess_counts(pd.DataFrame({"true_arm": ["control"], "answer": ["control"]}))
