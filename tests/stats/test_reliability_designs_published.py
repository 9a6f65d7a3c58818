"""Published values reproduced by the incomplete/nested-design statistics (issue 14).

Each tolerance is half a unit in the last published decimal (plus 1e-12).

* shared/reference/reliability_published.json (balanced special case): the one-way ICC(1)
  equals Shrout & Fleiss ICC(1,1)/ICC(1,k) with F, df, p and the psych intervals; the REML ICCs
  equal ICC(2,1), ICC(3,1), ICC(2,k), ICC(3,k) (ANOVA estimates are non-negative there).
* Brennan (2001) Synthetic Data Sets No. 1 (p x i), No. 2 (i:p) and No. 4 (p x i, Tables 6.2
  and 6.5; and read as a nested (u:c) x r design against Brennan's p x (r:t) mean squares).
* Bonett (2002) and implementations quoting his formula; Donner & Eliasziw (1992) via kappaSize.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from annotate.stats.gstudy import d_study
from annotate.stats.planning import bonett_sample_size, bonett_width, kappa_sample_size
from annotate.stats.reliability import intraclass_correlations, ratings_from_wide
from annotate.stats.reliability_design import long_ratings
from annotate.stats.reliability_designs import design_reliability, design_reliability_to_json
from annotate.stats.reliability_incomplete import incomplete_iccs
from annotate.stats.reliability_oneway import oneway_icc
from annotate.stats.reliability_reml import fit_reml

# The committed copy of shared/reference/reliability_published.json.
PUBLISHED = Path(__file__).resolve().parent / "fixtures" / "reliability_published.json"


def _entries() -> list[dict]:
    entries = json.loads(PUBLISHED.read_text())
    return [e for e in entries if "icc_1_1" in e["expected"]]


def close(got: float | None, published: str) -> bool:
    """``got`` within half a unit in the last printed decimal of ``published`` (given as printed)."""
    exponent = Decimal(published).as_tuple().exponent
    assert isinstance(exponent, int)
    return got is not None and abs(got - float(published)) <= 0.5 * 10.0**exponent + 1e-12


def long_frame(matrix: list[list[float | None]]) -> pd.DataFrame:
    rows = [(i, j, s) for i, row in enumerate(matrix) for j, s in enumerate(row) if s is not None]
    return pd.DataFrame(rows, columns=["unit", "rater", "score"])


@pytest.mark.parametrize("entry", _entries(), ids=lambda e: e["id"])
def test_oneway_icc_reproduces_published_icc1(entry: dict) -> None:
    r = oneway_icc(long_ratings(long_frame(entry["data"])))
    for key, value, ci in (("icc_1_1", r.icc1, r.icc1_ci95), ("icc_1_k", r.icck, r.icck_ci95)):
        expected = entry["expected"][key]
        assert value == pytest.approx(expected["value"], abs=expected["tolerance"])
        ci_tol = expected.get("ci95_tolerance")
        assert ci[0] == pytest.approx(expected["ci95_lower"], abs=expected.get("ci95_lower_tolerance", ci_tol))
        assert ci[1] == pytest.approx(expected["ci95_upper"], abs=expected.get("ci95_upper_tolerance", ci_tol))
        assert (r.df1, r.df2) == (expected["df1"], expected["df2"])
        if "F" in expected:
            assert r.f_statistic == pytest.approx(expected["F"], abs=expected["F_tolerance"])
        else:
            assert round(r.f_statistic) == expected["F_rounded_to_integer"]
        p_tol = expected["p_tolerance"]
        p_tol = 1.5e-7 if isinstance(p_tol, str) else p_tol  # "assert_almost_equal default (7 decimals)"
        assert r.p_value == pytest.approx(expected["p"], abs=p_tol)


@pytest.mark.parametrize("entry", _entries(), ids=lambda e: e["id"])
def test_oneway_icc_equals_shrout_fleiss_case_1_when_balanced(entry: dict) -> None:
    ours = oneway_icc(long_ratings(long_frame(entry["data"])))
    table = intraclass_correlations(ratings_from_wide(entry["data"]))
    for value, ci, form in ((ours.icc1, ours.icc1_ci95, "ICC(1,1)"), (ours.icck, ours.icck_ci95, "ICC(1,k)")):
        theirs = table[form]
        assert value == pytest.approx(theirs.value, abs=1e-12)
        assert ci == pytest.approx((theirs.ci95_low, theirs.ci95_high), abs=1e-12)
        assert ours.f_statistic == pytest.approx(theirs.f_statistic, rel=1e-12)
        assert ours.p_value == pytest.approx(theirs.p_value, rel=1e-9)
        assert (ours.df1, ours.df2) == (theirs.df1, theirs.df2)


@pytest.mark.parametrize("entry", _entries(), ids=lambda e: e["id"])
def test_reml_iccs_reproduce_published_two_way_forms(entry: dict) -> None:
    """Complete design with non-negative ANOVA estimates: REML ICCs = ICC(2,1), (3,1), (2,k), (3,k)."""
    iccs = incomplete_iccs(long_ratings(long_frame(entry["data"])), seed=3)
    pairs = {"ICC(A,1)": "icc_2_1", "ICC(C,1)": "icc_3_1", "ICC(A,k)": "icc_2_k", "ICC(C,k)": "icc_3_k"}
    for ours, key in pairs.items():
        expected = entry["expected"][key]
        assert iccs[ours].value == pytest.approx(expected["value"], abs=expected["tolerance"])
    table = intraclass_correlations(ratings_from_wide(entry["data"]))
    for ours, theirs in (
        ("ICC(A,1)", "ICC(2,1)"),
        ("ICC(C,1)", "ICC(3,1)"),
        ("ICC(A,k)", "ICC(2,k)"),
        ("ICC(C,k)", "ICC(3,k)"),
    ):
        assert iccs[ours].value == pytest.approx(table[theirs].value, abs=1e-6)
    assert iccs.k == len(entry["data"][0])


# Brennan (2001) Synthetic Data Set No. 4: 10 persons (columns) x 12 items (rows); as a p x i
# design in Table 6.2, p. 182 (values as asserted in julian-urbano/gt4ireval tests).
BRENNAN4_ITEMS = [
    [5, 9, 3, 7, 9, 3, 7, 5, 9, 4],
    [6, 3, 4, 5, 2, 4, 3, 8, 9, 4],
    [5, 7, 3, 5, 9, 3, 7, 5, 8, 4],
    [5, 7, 3, 3, 7, 5, 7, 7, 8, 3],
    [5, 7, 5, 3, 7, 3, 7, 7, 6, 3],
    [3, 5, 3, 1, 7, 3, 5, 5, 6, 5],
    [4, 5, 3, 4, 3, 6, 5, 5, 6, 6],
    [5, 5, 5, 3, 7, 3, 7, 4, 5, 5],
    [6, 7, 6, 5, 2, 4, 5, 3, 5, 5],
    [7, 7, 5, 3, 7, 5, 5, 2, 8, 7],
    [3, 5, 1, 3, 5, 1, 5, 1, 1, 1],
    [3, 2, 6, 5, 3, 2, 4, 1, 1, 1],
]
BRENNAN1_PERSONS = [  # Synthetic Data Set No. 1, 10 persons x 12 dichotomous items
    [1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0],
    [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
    [1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0],
    [1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0],
    [1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0],
    [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
    [1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0],
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0],
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
]


def brennan4_pxi() -> pd.DataFrame:
    rows = [(p, i, s) for i, row in enumerate(BRENNAN4_ITEMS) for p, s in enumerate(row)]
    return pd.DataFrame(rows, columns=["unit", "rater", "score"])


def test_brennan_synthetic_4_pxi_g_and_d_study() -> None:
    """Table 6.2: sigma2(p) .6258, sigma2(i) .8840, sigma2(pi,e) 2.7872; Table 6.5: E rho2 .729, Phi .672."""
    fit = fit_reml(long_ratings(brennan4_pxi()))
    vc = fit.components
    assert close(vc.unit, "0.6258") and close(vc.rater, "0.8840") and close(vc.residual, "2.7872")
    d = d_study(vc, raters=[12])
    assert close(d.g_relative[0][0], "0.729") and close(d.phi[0][0], "0.672")


def test_brennan_synthetic_1_pxi() -> None:
    """sigma2(p) .0574, sigma2(i) .0754, sigma2(pi) .1269; E rho2 .844 and Phi .773 for 12 items."""
    rows = [(p, i, s) for p, row in enumerate(BRENNAN1_PERSONS) for i, s in enumerate(row)]
    vc = fit_reml(long_ratings(pd.DataFrame(rows, columns=["unit", "rater", "score"]))).components
    assert close(vc.unit, "0.0574") and close(vc.rater, "0.0754") and close(vc.residual, "0.1269")
    d = d_study(vc, raters=[12])
    assert close(d.g_relative[0][0], "0.844") and close(d.phi[0][0], "0.773")


def test_brennan_synthetic_2_ip_one_way() -> None:
    """i:p: MS(p) 6.9111, MS(i:p) 2.0250, sigma2(p) .6108, sigma2(i:p) 2.0250, E rho2 = Phi = .71 (8 items)."""
    items = [
        [2, 4, 5, 5, 4, 4, 2, 3, 0, 6],
        [6, 5, 5, 9, 3, 4, 6, 4, 5, 8],
        [7, 6, 4, 8, 5, 4, 6, 4, 4, 7],
        [5, 7, 6, 6, 6, 7, 5, 5, 5, 6],
        [2, 6, 5, 5, 4, 6, 2, 6, 5, 6],
        [5, 7, 4, 7, 5, 4, 7, 6, 5, 8],
        [5, 5, 5, 7, 6, 7, 7, 6, 5, 8],
        [5, 7, 5, 6, 4, 8, 5, 4, 3, 6],
    ]
    rows = [(p, f"p{p}:i{i}", s) for i, row in enumerate(items) for p, s in enumerate(row)]
    r = oneway_icc(long_ratings(pd.DataFrame(rows, columns=["unit", "rater", "score"])))
    assert close(r.msb, "6.9111") and close(r.msw, "2.0250") and close(r.sigma2_unit, "0.6108")
    assert close(r.sigma2_within, "2.0250") and close(r.icck, "0.71")
    assert (r.df1, r.df2) == (9, 70)


def test_brennan_synthetic_4_as_nested_design_matches_published_mean_squares() -> None:
    """p x (r:t) read as (u:c) x r: c = task, u = rater within task, the persons crossed.

    Our nested model has no c x r term, so its residual pools Brennan's pt and pr:t; on balanced
    data REML equals the ANOVA estimates built from his published mean squares (MS p 10.2963,
    t 24.1000, r:t 8.8556, pt 4.6185 with 18 df, pr:t 2.3802 with 81 df).
    """
    rows = [(i, p, i // 4, s) for i, row in enumerate(BRENNAN4_ITEMS) for p, s in enumerate(row)]
    frame = pd.DataFrame(rows, columns=["unit", "rater", "cluster", "score"])
    vc = fit_reml(long_ratings(frame, cluster="cluster")).components
    residual = (18 * 4.6185 + 81 * 2.3802) / 99
    expected = {
        "residual": residual,
        "rater": (10.2963 - residual) / 12,
        "unit": (8.8556 - residual) / 10,
        "cluster": (24.1000 - 8.8556) / 40,
    }
    for name, value in expected.items():
        assert vc.as_dict()[name] == pytest.approx(value, abs=5e-5), name


def test_bonett_examples() -> None:
    # Bonett (2002): rho .85, k 4, w .2 -> 20 (also R presize::prec_icc test "Bonett example")
    assert bonett_sample_size(0.85, 4, 0.2).n_units == 20
    # R ICC::Nest("h", w = .2, ICC = .7, k = 2) -> 101 (printed in an ASA Connect answer)
    assert bonett_sample_size(0.7, 2, 0.2).n_units == 101
    # ptenklooster.nl calculator (Bonett 2002): rho .8, k 2, w .2 -> 51, and 51 + 5 rho = 55
    assert bonett_sample_size(0.8, 2, 0.2).n_units == 51
    assert bonett_sample_size(0.8, 2, 0.2, small_k_adjustment=True).n_units == 55
    # presize::prec_icc(rho = .5, k = 3, n = 50)$conf.width == 0.3233102; n = 25 for Bonett's example -> .2
    assert close(bonett_width(0.5, 3, 50), "0.3233102")
    assert close(bonett_width(0.85, 4, 25), "0.2")


def test_donner_eliasziw_kappa_sample_size() -> None:
    # kappaSize::PowerBinary(kappa0 = .4, kappa1 = .7, props = .5, raters = 2, alpha = .05, power = .8):
    # N = 73.26 -> 74; props = .2 -> 107 (kappaSize 1.2, as quoted in a study-planning guide)
    plan = kappa_sample_size(0.4, 0.7, 0.5)
    assert close(plan.n_exact, "73.26")
    assert plan.n_units == 74
    assert kappa_sample_size(0.4, 0.7, 0.2).n_units == 107
    assert close((1.959963984540054 + 0.8416212335729143) ** 2, "7.849")  # the multiplier quoted with it


def test_design_json_on_shrout_fleiss_example() -> None:
    sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    out = design_reliability_to_json(design_reliability(long_frame(sf), categories=range(1, 11), seed=1))
    assert out["design"]["complete"] is True
    assert round(out["icc_oneway"]["ICC(1)"]["value"], 2) == 0.17
    assert round(out["icc_incomplete"]["ICC(A,1)"]["value"], 2) == 0.29
    assert np.isclose(out["d_study"]["phi"][0][0], out["icc_incomplete"]["ICC(A,1)"]["value"])
