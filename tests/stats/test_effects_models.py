"""ANCOVA against statsmodels' formula interface; paired change against scipy.stats.ttest_rel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats as sps

from annotate.stats.effects import EffectsInputError, ancova_difference, paired_change


@pytest.fixture
def trial() -> pd.DataFrame:
    rng = np.random.default_rng(20220301)
    n = 40
    arm = np.repeat([1, 0], n // 2)
    base = rng.normal(5, 1.5, n)
    age = rng.normal(12, 3, n)
    post = 1.0 + 0.8 * arm + 0.6 * base + 0.05 * age + rng.normal(0, 1, n)
    post[[3, 25]] = np.nan  # missing follow-up
    base[7] = np.nan  # missing baseline
    return pd.DataFrame({"post": post, "arm": arm, "base": base, "age": age})


def test_ancova_matches_statsmodels_formula(trial):
    ref = smf.ols("post ~ arm + base", data=trial, missing="drop").fit()
    r = ancova_difference(trial["post"], trial["arm"], trial["base"])
    assert r.n == int(ref.nobs) == 37
    assert r.difference == pytest.approx(ref.params["arm"])
    assert r.se == pytest.approx(ref.bse["arm"])
    assert (r.ci95_low, r.ci95_high) == pytest.approx(tuple(ref.conf_int().loc["arm"]))
    assert r.p_value == pytest.approx(ref.pvalues["arm"])
    assert r.df_resid == 34


def test_ancova_with_covariate_matches_statsmodels(trial):
    ref = smf.ols("post ~ arm + base + age", data=trial, missing="drop").fit()
    r = ancova_difference(trial["post"], trial["arm"] == 1, trial["base"], covariates=trial[["age"]].to_numpy())
    assert r.difference == pytest.approx(ref.params["arm"])
    assert r.p_value == pytest.approx(ref.pvalues["arm"])
    assert r.n_covariates == 1 and r.n == 37


def test_ancova_not_estimable_gives_none():
    one_arm = ancova_difference([5, 6, 7, 8], [1, 1, 1, 1], [4, 5, 6, 6])
    assert one_arm.difference is None and one_arm.n == 4
    too_few = ancova_difference([5, 6, 7], [1, 0, 1], [4, 5, 6])
    assert too_few.difference is None and too_few.df_resid is None


def test_ancova_rejects_bad_input():
    with pytest.raises(EffectsInputError, match="lengths"):
        ancova_difference([1, 2], [1, 0, 1], [1, 2])
    with pytest.raises(EffectsInputError, match="1/0"):
        ancova_difference([1, 2], [2, 0], [1, 2])


def test_paired_change_matches_ttest_rel():
    before = np.array([4, 5, 3, 6, 5, 4, 7, 5, np.nan, 6])
    after = np.array([6, 5, 5, 7, 7, 4, 8, 6, 7, np.nan])
    keep = ~np.isnan(before) & ~np.isnan(after)
    ref = sps.ttest_rel(after[keep], before[keep])
    ci = ref.confidence_interval(0.95)
    r = paired_change(before, after)
    diff = after[keep] - before[keep]
    assert r.n_pairs == 8
    assert r.mean_change == pytest.approx(diff.mean())
    assert r.t == pytest.approx(ref.statistic)
    assert r.p_value == pytest.approx(ref.pvalue)
    assert (r.ci95_low, r.ci95_high) == pytest.approx((ci.low, ci.high))
    assert r.cohens_dz == pytest.approx(diff.mean() / diff.std(ddof=1))


def test_paired_change_small_and_constant():
    assert paired_change([None, 4], [5, None]).n_pairs == 0
    one = paired_change([3], [5])
    assert (one.n_pairs, one.mean_change, one.p_value) == (1, 2.0, None)
    flat = paired_change([3, 4, 5], [4, 5, 6])
    assert flat.mean_change == 1.0 and flat.sd_change == 0.0
    assert flat.p_value is None and flat.cohens_dz is None


def test_paired_change_needs_matching_lengths():
    with pytest.raises(EffectsInputError, match="same participants"):
        paired_change([1, 2, 3], [1, 2])
