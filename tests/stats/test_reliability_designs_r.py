"""REML variance components against R lme4 and psych fixtures, and against statsmodels MixedLM.

The fixtures (data and R results) are made by ``tests/stats/fixtures/reliability_designs_r.R``
(lme4 1.1-31, psych 2.2.9, R 4.2.2 from Debian): seeded incomplete crossed designs, nested
designs (segments in films), a complete design with ``psych::ICC``, and Brennan's Synthetic
Data Set No. 4.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from annotate.stats.reliability_design import long_ratings
from annotate.stats.reliability_incomplete import incomplete_iccs
from annotate.stats.reliability_oneway import oneway_icc
from annotate.stats.reliability_reml import VarianceComponents, fit_reml

FIXTURE = Path(__file__).parent / "fixtures" / "reliability_designs_r.json"
R_RESULTS = json.loads(FIXTURE.read_text())
DESIGNS = [name for name in R_RESULTS if name != "meta"]


def data_of(name: str) -> pd.DataFrame:
    return pd.DataFrame(R_RESULTS[name]["data"])


def ratings_of(name: str):
    frame = data_of(name)
    return long_ratings(frame, cluster="cluster" if "cluster" in frame else None)


@pytest.mark.parametrize("name", DESIGNS)
def test_variance_components_match_lme4(name: str) -> None:
    fit = fit_reml(ratings_of(name))
    expected = R_RESULTS[name]["lme4"]
    for component, value in fit.components.as_dict().items():
        assert value == pytest.approx(expected[component], abs=1e-4), component
    # The same criterion: ours is lme4's REMLcrit, and our optimum is at least as good.
    assert fit.criterion == pytest.approx(expected["REMLcrit"], abs=1e-6)
    assert fit.criterion <= expected["REMLcrit"] + 1e-8
    # lme4 orders its terms by number of levels; compare the relative SDs as a set
    assert sorted(fit.theta) == pytest.approx(sorted(expected["theta"]), abs=1e-3)


@pytest.mark.parametrize("name", DESIGNS)
def test_criterion_at_lme4_estimates_equals_lme4(name: str) -> None:
    """Our -2 REML log-likelihood evaluated at lme4's estimates is lme4's REMLcrit."""
    expected = R_RESULTS[name]["lme4"]
    fit = fit_reml(ratings_of(name))
    at = VarianceComponents(expected["unit"], expected["rater"], expected["residual"], expected.get("cluster"))
    assert fit.criterion_at(at) == pytest.approx(expected["REMLcrit"], abs=1e-6)


def test_complete_design_matches_psych_icc() -> None:
    """REML = ANOVA on complete data: ICC(A,1), ICC(C,1), ICC(A,k), ICC(C,k) = psych ICC2, ICC3, ICC2k, ICC3k.

    ``psych::ICC`` builds its mean squares from lme4 variance components by default
    (``lmer = TRUE``, agreeing to ~1e-6); ``lmer = FALSE`` is the plain ANOVA, which the
    one-way ICC must match to rounding.
    """
    data = ratings_of("complete_psych")
    iccs = incomplete_iccs(data, seed=0)
    for source in ("psych", "psych_aov"):
        psych = R_RESULTS["complete_psych"][source]
        for ours, theirs in (("ICC(A,1)", "ICC2"), ("ICC(C,1)", "ICC3"), ("ICC(A,k)", "ICC2k"), ("ICC(C,k)", "ICC3k")):
            assert iccs[ours].value == pytest.approx(psych[theirs]["ICC"], abs=1e-5), (source, ours)
    psych = R_RESULTS["complete_psych"]["psych_aov"]
    one_way = oneway_icc(data)
    for value, ci, theirs in ((one_way.icc1, one_way.icc1_ci95, "ICC1"), (one_way.icck, one_way.icck_ci95, "ICC1k")):
        assert value == pytest.approx(psych[theirs]["ICC"], abs=1e-12)
        assert ci == pytest.approx((psych[theirs]["lower"], psych[theirs]["upper"]), abs=1e-12)
        assert one_way.f_statistic == pytest.approx(psych[theirs]["F"], rel=1e-12)
        assert one_way.p_value == pytest.approx(psych[theirs]["p"], rel=1e-8)
        assert (one_way.df1, one_way.df2) == (psych[theirs]["df1"], psych[theirs]["df2"])


def _mixedlm(frame: pd.DataFrame) -> dict[str, float]:
    statsmodels = pytest.importorskip("statsmodels.regression.mixed_linear_model")
    frame = frame.assign(group=1)
    formulas = {"unit": "0 + C(unit)", "rater": "0 + C(rater)"}
    if "cluster" in frame:
        formulas["cluster"] = "0 + C(cluster)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = statsmodels.MixedLM.from_formula(
            "score ~ 1", groups="group", vc_formula=formulas, re_formula="0", data=frame
        )
        result = model.fit(reml=True, method=["lbfgs"])
    out = dict(zip(model.exog_vc.names, (float(v) for v in result.vcomp), strict=True))
    out["residual"] = float(result.scale)
    return out


@pytest.mark.parametrize("name", ["crossed_continuous", "nested_continuous"])
def test_variance_components_match_statsmodels_mixedlm(name: str) -> None:
    theirs = _mixedlm(data_of(name))
    ours = fit_reml(ratings_of(name)).components.as_dict()
    assert set(ours) == set(theirs)
    for component in ours:
        assert ours[component] == pytest.approx(theirs[component], abs=1e-4), component


def test_nested_fit_differs_from_crossed_fit_on_nested_data() -> None:
    """Dropping the cluster term moves the cluster variance into the unit variance (not the residual)."""
    data = ratings_of("nested_continuous")
    nested = fit_reml(data).components
    crossed = fit_reml(data.without_clusters()).components
    assert crossed.unit == pytest.approx(nested.unit + (nested.cluster or 0.0), rel=0.1)
    assert crossed.residual == pytest.approx(nested.residual, rel=0.05)
    assert np.isfinite(crossed.rater)
