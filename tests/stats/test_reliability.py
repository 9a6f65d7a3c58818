"""Cross-checks on seeded random data against pingouin, krippendorff and scikit-learn,
input validation, and the vectorised bootstrap against a direct recomputation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from annotate.stats.reliability import (
    LEVELS,
    NotApplicable,
    ReliabilityInputError,
    agreement_coefficient,
    bland_altman,
    bootstrap_intervals,
    cohen_kappa,
    fleiss_kappa,
    intraclass_correlations,
    krippendorff_alpha,
    percent_agreement,
    ratings_from_long,
    ratings_from_wide,
)
from annotate.stats.reliability_bootstrap import (
    bootstrap_alpha_samples,
    bootstrap_icc_samples,
    resample_multiplicities,
)

pingouin = pytest.importorskip("pingouin")
krippendorff = pytest.importorskip("krippendorff")
sklearn_metrics = pytest.importorskip("sklearn.metrics")

SCALE = list(range(1, 10))


def random_scores(seed: int, n_units: int, n_raters: int, missing: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = rng.normal(5, 1.6, size=(n_units, 1))
    bias = rng.normal(0, 0.5, size=(1, n_raters))
    noisy = truth + bias + rng.normal(0, 1.0, size=(n_units, n_raters))
    scores = np.clip(np.rint(noisy), 1, 9)
    if missing:
        scores[rng.random(scores.shape) < missing] = np.nan
    return scores


def wide(scores: np.ndarray, categories=SCALE):
    return ratings_from_wide([[None if np.isnan(v) else int(v) for v in row] for row in scores], categories=categories)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_icc_matches_pingouin(seed):
    scores = random_scores(seed, 40, 3)
    ours = intraclass_correlations(wide(scores))
    frame = pd.DataFrame(
        [(i, j, scores[i, j]) for i in range(scores.shape[0]) for j in range(scores.shape[1])],
        columns=["unit", "rater", "score"],
    )
    theirs = pingouin.intraclass_corr(frame, targets="unit", raters="rater", ratings="score")
    theirs = theirs.set_index("Type")
    names = {
        "ICC(1,1)": "ICC(1,1)",
        "ICC(2,1)": "ICC(A,1)",
        "ICC(3,1)": "ICC(C,1)",
        "ICC(1,k)": "ICC(1,k)",
        "ICC(2,k)": "ICC(A,k)",
        "ICC(3,k)": "ICC(C,k)",
    }
    for form, row_name in names.items():
        row = theirs.loc[row_name]
        r = ours[form]
        assert r.value == pytest.approx(row["ICC"], abs=1e-10)
        assert r.f_statistic == pytest.approx(row["F"], rel=1e-10)
        assert (r.df1, r.df2) == (row["df1"], row["df2"])
        assert r.p_value == pytest.approx(row["pval"], rel=1e-6, abs=1e-300)
        # pingouin rounds its CI to 2 decimals
        assert r.ci95_low == pytest.approx(row["CI95"][0], abs=0.005 + 1e-9)
        assert r.ci95_high == pytest.approx(row["CI95"][1], abs=0.005 + 1e-9)


def test_icc_drops_units_with_missing_ratings_and_reports_how_many():
    scores = random_scores(4, 30, 4, missing=0.1)
    complete = ~np.isnan(scores).any(axis=1)
    table = intraclass_correlations(wide(scores))
    assert table["ICC(A,1)"].n_units == int(complete.sum()) < 30
    full = intraclass_correlations(wide(scores[complete]))
    assert table["ICC(A,1)"].value == pytest.approx(full["ICC(A,1)"].value)


@pytest.mark.parametrize("seed", [5, 6])
@pytest.mark.parametrize("level", LEVELS)
def test_alpha_matches_krippendorff_package_with_missing_data(seed, level):
    scores = random_scores(seed, 60, 4, missing=0.2)
    ours = krippendorff_alpha(wide(scores), level).value
    theirs = krippendorff.alpha(reliability_data=scores.T, level_of_measurement=level, value_domain=SCALE)
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_ordinal_alpha_uses_declared_categories_in_scale_order():
    r_short = ratings_from_wide([[1, 1], [1, 3], [3, 3], [3, 5]], categories=[1, 3, 5])
    r_long = ratings_from_wide([[1, 1], [1, 3], [3, 3], [3, 5]], categories=[1, 2, 3, 4, 5])
    # unused categories have n_g = 0, so the ordinal metric is unchanged ...
    assert krippendorff_alpha(r_short, "ordinal").value == pytest.approx(krippendorff_alpha(r_long, "ordinal").value)
    # ... while the declared order of text codes is honoured
    text = ratings_from_wide([["lo", "lo"], ["lo", "mid"], ["hi", "hi"], ["mid", "hi"]], categories=["lo", "mid", "hi"])
    numeric = ratings_from_wide([[1, 1], [1, 2], [3, 3], [2, 3]], categories=[1, 2, 3])
    assert krippendorff_alpha(text, "ordinal").value == pytest.approx(krippendorff_alpha(numeric, "ordinal").value)


@pytest.mark.parametrize("weights", ["unweighted", "linear", "quadratic"])
def test_cohen_kappa_matches_sklearn_with_full_label_set(weights):
    scores = random_scores(7, 80, 2)
    ours = cohen_kappa(wide(scores), weights).value
    theirs = sklearn_metrics.cohen_kappa_score(
        scores[:, 0], scores[:, 1], labels=SCALE, weights=None if weights == "unweighted" else weights
    )
    assert ours == pytest.approx(theirs, abs=1e-12)


def test_unused_categories_change_weighted_kappa_and_ac2():
    data = [[1, 2], [2, 2], [3, 3], [2, 3]]
    narrow, wide_scale = ratings_from_wide(data), ratings_from_wide(data, categories=range(1, 10))
    assert agreement_coefficient(narrow, "gwet", "quadratic").value != pytest.approx(
        agreement_coefficient(wide_scale, "gwet", "quadratic").value
    )


def test_fleiss_kappa_equals_statsmodels_for_complete_data():
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    scores = random_scores(8, 50, 5)
    table, _ = inter_rater.aggregate_raters(scores.astype(int), n_cat=None)
    assert fleiss_kappa(wide(scores)).value == pytest.approx(inter_rater.fleiss_kappa(table), abs=1e-12)


def test_percent_agreement_leaves_out_incomplete_units_like_irr_agree():
    r = ratings_from_wide([[1, 1, 1], [1, 2, 2], [3, 3, None], [4, 6, 5], [2, 2, 2]])
    exact = percent_agreement(r)
    assert (exact.value, exact.n_units) == (0.5, 4)
    assert percent_agreement(r, tolerance=1).value == 0.75
    assert percent_agreement(ratings_from_wide([["a", "a"], ["a", "b"]])).value == 0.5


def test_bland_altman_against_hand_computation():
    scores = random_scores(9, 25, 2)
    ba = bland_altman(wide(scores))
    d = scores[:, 0] - scores[:, 1]
    assert ba.mean_difference == pytest.approx(d.mean())
    assert ba.upper_limit == pytest.approx(d.mean() + 1.96 * d.std(ddof=1))
    assert ba.lower_limit_ci95[0] < ba.lower_limit < ba.lower_limit_ci95[1]


def test_not_applicable_statistics_raise_not_applicable():
    three = ratings_from_wide([[1, 2, 3], [2, 2, 3]])
    with pytest.raises(NotApplicable, match="two raters"):
        cohen_kappa(three)
    text = ratings_from_wide([["a", "b"], ["b", "b"]])
    with pytest.raises(NotApplicable, match="numeric"):
        intraclass_correlations(text)
    with pytest.raises(NotApplicable, match="numeric"):
        krippendorff_alpha(text, "interval")


@pytest.mark.parametrize(
    ("units", "raters", "scores", "categories", "message"),
    [
        ([], [], [], None, "no ratings"),
        ([1, 2], ["a", "a"], [1, 2], None, "only one rater"),
        ([1, 1], ["a", "b"], [1, 7], [1, 2, 3], "not on the declared scale"),
        ([1, 1], ["a", "b"], [1, "x"], None, "mix numbers and text"),
        ([1, 1, 1], ["a", "b", "a"], [1, 2, 2], None, "scored unit 1 2 times"),
        ([1, 2], ["a", "b"], [1, 2], None, "no unit was scored by two"),
        ([1, 1], ["a", "b"], [1, 2], [1, 2, 2], "repeats categories"),
        ([1, None], ["a", "b"], [1, 2], None, "no unit"),
        ([1, 1], ["a", "b"], ["low", "high"], ["low", "mid"], "not on the declared scale"),
    ],
)
def test_bad_input_raises_with_a_message_saying_what_to_fix(units, raters, scores, categories, message):
    with pytest.raises(ReliabilityInputError, match=message):
        ratings_from_long(units, raters, scores, categories)


def test_missing_scores_are_dropped_and_string_codes_work():
    r = ratings_from_long(
        ["u1", "u1", "u2", "u2", "u3"], ["A", "B", "A", "B", "A"], ["yes", "yes", "no", None, float("nan")]
    )
    assert (r.n_units, r.n_raters, r.n_ratings) == (2, 2, 3)
    assert r.categories == ("no", "yes")
    assert not r.numeric


def test_bootstrap_samples_equal_direct_recomputation():
    scores = random_scores(10, 30, 4, missing=0.15)
    ratings = wide(scores)
    rng = np.random.default_rng(0)
    complete = scores[~np.isnan(scores).any(axis=1)]
    w_icc = resample_multiplicities(rng, complete.shape[0], 3)
    icc_samples = bootstrap_icc_samples(ratings, w_icc)
    for b in range(3):
        resampled = np.repeat(complete, w_icc[b], axis=0)
        direct = intraclass_correlations(wide(resampled))
        for form in ("ICC(1,1)", "ICC(2,1)", "ICC(3,k)"):
            assert icc_samples[form][b] == pytest.approx(direct[form].value, abs=1e-10)
    pairable = scores[(~np.isnan(scores)).sum(axis=1) >= 2]
    w_alpha = resample_multiplicities(rng, pairable.shape[0], 3)
    alpha_samples = bootstrap_alpha_samples(ratings, w_alpha, LEVELS)
    for b in range(3):
        resampled = np.repeat(pairable, w_alpha[b], axis=0)
        for level in LEVELS:
            direct = krippendorff_alpha(wide(resampled), level).value
            assert alpha_samples[level][b] == pytest.approx(direct, abs=1e-10)


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    ratings = wide(random_scores(11, 200, 4, missing=0.1))
    first = bootstrap_intervals(ratings, seed=42, icc_forms=["ICC(2,1)"], alpha_levels=["interval"])
    again = bootstrap_intervals(ratings, seed=42, icc_forms=["ICC(2,1)"], alpha_levels=["interval"])
    other = bootstrap_intervals(ratings, seed=43, icc_forms=["ICC(2,1)"], alpha_levels=["interval"])
    assert first == again
    assert first.icc["ICC(2,1)"] != other.icc["ICC(2,1)"]
    estimate = intraclass_correlations(ratings)["ICC(2,1)"].value
    assert first.icc["ICC(2,1)"].low < estimate < first.icc["ICC(2,1)"].high
    alpha = krippendorff_alpha(ratings, "interval").value
    ci = first.krippendorff_alpha["interval"]
    assert ci.low < alpha < ci.high and ci.n_valid == 1000


def test_bootstrap_needs_at_least_1000_resamples():
    with pytest.raises(ReliabilityInputError, match="at least 1000"):
        bootstrap_intervals(wide(random_scores(12, 10, 2)), n_resamples=200, alpha_levels=["nominal"])


def test_icc_with_equal_unit_means_gives_none_not_a_crash():
    # Every unit mean and every rater mean equal: MSR = 0, so F = 0 and the bounds are undefined.
    from annotate.stats.reliability import intraclass_correlations, ratings_from_wide

    table = intraclass_correlations(ratings_from_wide([[1, 4], [2, 3], [3, 2], [4, 1], [2, 3], [3, 2]]))
    icc2 = table["ICC(2,1)"]
    assert icc2.value is not None and icc2.ci95_low is None and icc2.ci95_high is None
    assert table["ICC(1,k)"].value is None  # MSR = 0: undefined, not a crash


def test_average_measures_bound_is_undefined_not_absurd_for_tiny_samples():
    from annotate.stats.reliability import intraclass_correlations, ratings_from_wide

    table = intraclass_correlations(ratings_from_wide([[5, 6], [3, 5], [6, 6], [4, 3]]))
    low = table["ICC(2,k)"].ci95_low
    assert low is None or -10 < low <= table["ICC(2,k)"].value
