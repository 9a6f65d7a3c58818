"""Incomplete and nested rating designs (issue 14): input checks, each statistic against an
independent computation, undefined cases, the composing function and its JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from annotate.errors import InputError
from annotate.stats.gstudy import d_study, dependability, generalizability
from annotate.stats.planning import (
    PlanningInputError,
    bonett_sample_size,
    icc_assurance_sample_size,
    icc_lower_bound_assurance,
    kappa_sample_size,
    plan_to_json,
)
from annotate.stats.reliability import (
    NotApplicable,
    ReliabilityInputError,
    cohen_kappa,
    intraclass_correlations,
    ratings_from_long,
    ratings_from_wide,
)
from annotate.stats.reliability_design import DesignInputError, describe_design, long_ratings
from annotate.stats.reliability_designs import BLOCKS, design_reliability, design_reliability_to_json
from annotate.stats.reliability_incomplete import icc_forms, incomplete_iccs
from annotate.stats.reliability_oneway import oneway_icc
from annotate.stats.reliability_pairwise import pairwise_agreement
from annotate.stats.reliability_reml import VarianceComponents, fit_reml
from annotate.stats.severity import rater_drift, rater_severity

SCALE = list(range(1, 10))


def pool_design(
    seed: int,
    n_units: int = 120,
    n_raters: int = 6,
    single: float = 0.2,
    triple: float = 0.1,
    sd: tuple[float, float, float] = (1.2, 0.5, 0.8),
    integer: bool = True,
) -> pd.DataFrame:
    """Units scored by 1-3 raters drawn from a pool (seeded)."""
    rng = np.random.default_rng(seed)
    u = rng.normal(0, sd[0], n_units)
    r = rng.normal(0, sd[1], n_raters)
    rows = []
    for i in range(n_units):
        draw = rng.random()
        k = 1 if draw < single else (3 if draw > 1 - triple else 2)
        for j in rng.choice(n_raters, k, replace=False):
            value = 5 + u[i] + r[j] + rng.normal(0, sd[2])
            rows.append((f"u{i:03d}", f"R{j}", float(np.clip(np.rint(value), 1, 9)) if integer else round(value, 3)))
    return pd.DataFrame(rows, columns=["unit", "rater", "score"])


def nested_design(seed: int, n_films: int = 30, per_film: int = 4, n_raters: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    film = rng.normal(0, 0.8, n_films)
    seg = rng.normal(0, 0.6, n_films * per_film)
    r = rng.normal(0, 0.4, n_raters)
    rows = []
    for i in range(n_films * per_film):
        k = 1 if rng.random() < 0.2 else 2
        for j in rng.choice(n_raters, k, replace=False):
            value = 4 + film[i // per_film] + seg[i] + r[j] + rng.normal(0, 0.6)
            rows.append((f"f{i // per_film}-s{i % per_film}", f"R{j}", f"f{i // per_film}", round(value, 3)))
    return pd.DataFrame(rows, columns=["unit", "rater", "film", "score"])


def complete_design(seed: int, n_units: int = 25, n_raters: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = rng.normal(5, 1.5, (n_units, 1))
    bias = rng.normal(0, 0.6, (1, n_raters))
    return np.clip(np.rint(truth + bias + rng.normal(0, 0.9, (n_units, n_raters))), 1, 9)


def wide_to_long(matrix: np.ndarray) -> pd.DataFrame:
    rows = [(i, j, float(v)) for i, row in enumerate(matrix) for j, v in enumerate(row) if not np.isnan(v)]
    return pd.DataFrame(rows, columns=["unit", "rater", "score"])


# ---------------------------------------------------------------- input checks


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (pd.DataFrame({"unit": [1], "score": [1]}), {}, "rater column 'rater' is not in the table"),
        (pd.DataFrame({"unit": [1, 1], "rater": ["A", "B"], "score": [1, "x"]}), {}, "not a finite number"),
        (
            pd.DataFrame({"unit": [1, 1], "rater": ["A", "B"], "score": [1, 12]}),
            {"categories": SCALE},
            "not on the declared scale",
        ),
        (
            pd.DataFrame({"unit": [1, 1, 1], "rater": ["A", "B", "A"], "score": [1, 2, 3]}),
            {},
            "scored unit 1 more than once",
        ),
        (pd.DataFrame({"unit": [1, 2], "rater": ["A", "A"], "score": [1, 2]}), {}, "only one rater"),
        (pd.DataFrame({"unit": [1, 2], "rater": ["A", "B"], "score": [1, 2]}), {}, "no unit was scored by two"),
        (pd.DataFrame({"unit": [1, 1], "rater": ["A", None], "score": [1, 2]}), {}, "has a score but no rater"),
        (
            pd.DataFrame({"unit": [1, 1], "rater": ["A", "B"], "score": [1, 2]}),
            {"categories": ["low", "high"]},
            "not a finite number",
        ),
        (pd.DataFrame({"unit": [1, 1], "rater": ["A", "B"], "score": [1, 2]}), {"categories": []}, "is empty"),
        (
            pd.DataFrame(
                {
                    "unit": [1, 1, 2, 2],
                    "rater": ["A", "B", "A", "B"],
                    "score": [1, 2, 3, 4],
                    "film": ["f1", "f2", "f1", "f1"],
                }
            ),
            {"cluster": "film"},
            "appears in clusters",
        ),
        (
            pd.DataFrame({"unit": [1, 1], "rater": ["A", "B"], "score": [1, 2], "film": ["f1", None]}),
            {"cluster": "film"},
            "has a score but no cluster",
        ),
        (pd.DataFrame({"unit": [1, 1], "rater": ["A", "B"], "score": [np.nan, None]}), {}, "has no scores"),
    ],
)
def test_input_errors_say_what_to_fix(frame: pd.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(DesignInputError, match=message) as info:
        long_ratings(frame, **kwargs)
    assert isinstance(info.value, ReliabilityInputError) and isinstance(info.value, InputError)


def test_missing_scores_are_dropped_and_ids_sorted() -> None:
    frame = pd.DataFrame({"unit": ["b", "b", "a", "a", "c"], "rater": [2, 1, 1, 2, 1], "score": [3, 4, np.nan, 5, 2]})
    data = long_ratings(frame)
    assert data.unit_ids == ("a", "b", "c") and data.rater_ids == (1, 2)
    assert data.n_ratings == 4 and data.ratings_per_unit.tolist() == [1, 2, 1]


def test_mixed_id_types_are_sorted_by_text() -> None:
    frame = pd.DataFrame({"unit": [1, 1, "x", "x"], "rater": ["A", 2, "A", 2], "score": [1, 2, 3, 4]})
    data = long_ratings(frame)
    assert set(data.unit_ids) == {1, "x"} and set(data.rater_ids) == {"A", 2}


def test_describe_design() -> None:
    frame = nested_design(3)
    data = long_ratings(frame, cluster="film")
    d = describe_design(data)
    n_i = frame.groupby("unit").size()
    assert d.n_units == len(n_i) and d.n_ratings == len(frame) and d.n_clusters == 30
    assert (d.ratings_per_unit_min, d.ratings_per_unit_max) == (n_i.min(), n_i.max())
    assert d.ratings_per_unit_mean == pytest.approx(n_i.mean())
    assert d.k_harmonic == pytest.approx(len(n_i) / (1 / n_i).sum())
    assert d.n_units_multi == int((n_i >= 2).sum())
    assert d.n_rating_pairs == int((n_i * (n_i - 1) // 2).sum())
    pairs = set()
    for _, g in frame.groupby("unit"):
        raters = sorted(g["rater"])
        pairs |= {(a, b) for a in raters for b in raters if a < b}
    assert d.n_rater_pairs == len(pairs)
    assert not d.complete and (d.units_per_cluster_min, d.units_per_cluster_max) == (4, 4)
    assert describe_design(long_ratings(wide_to_long(complete_design(1)))).complete


# ---------------------------------------------------------------- one-way ICC


def test_oneway_matches_anova_table_on_unbalanced_data() -> None:
    frame = pool_design(11)
    r = oneway_icc(long_ratings(frame))
    multi = frame[frame.groupby("unit")["score"].transform("size") >= 2]
    groups = [g.to_numpy() for _, g in multi.groupby("unit")["score"]]
    f_stat, p_value = sps.f_oneway(*groups)
    n_i = np.array([len(g) for g in groups])
    big_n, n = n_i.sum(), len(groups)
    k0 = (big_n - (n_i**2).sum() / big_n) / (n - 1)
    assert r.f_statistic == pytest.approx(f_stat, rel=1e-10)
    assert r.p_value == pytest.approx(p_value, rel=1e-8, abs=1e-300)
    assert (r.df1, r.df2, r.n_units, r.n_ratings) == (n - 1, big_n - n, n, big_n)
    assert r.k0 == pytest.approx(k0)
    assert r.icc1 == pytest.approx((r.msb - r.msw) / (r.msb + (k0 - 1) * r.msw))
    f_low = f_stat / sps.f.ppf(0.975, n - 1, big_n - n)
    f_high = f_stat * sps.f.ppf(0.975, big_n - n, n - 1)
    assert r.icc1_ci95 == pytest.approx(((f_low - 1) / (f_low + k0 - 1), (f_high - 1) / (f_high + k0 - 1)))
    assert r.icck_ci95 == pytest.approx((1 - 1 / f_low, 1 - 1 / f_high))
    assert r.icc1_ci95[0] < r.icc1 < r.icc1_ci95[1]


def test_oneway_equals_shrout_fleiss_on_random_balanced_data() -> None:
    matrix = complete_design(5)
    ours = oneway_icc(long_ratings(wide_to_long(matrix)))
    table = intraclass_correlations(ratings_from_wide(matrix.tolist()))
    assert ours.icc1 == pytest.approx(table["ICC(1,1)"].value, abs=1e-12)
    assert ours.icck == pytest.approx(table["ICC(1,k)"].value, abs=1e-12)
    assert ours.icc1_ci95 == pytest.approx((table["ICC(1,1)"].ci95_low, table["ICC(1,1)"].ci95_high), abs=1e-12)


def test_oneway_undefined_cases_have_notes() -> None:
    exact = pd.DataFrame({"unit": [1, 1, 2, 2], "rater": ["A", "B", "A", "B"], "score": [3, 3, 5, 5]})
    r = oneway_icc(long_ratings(exact))
    assert r.icc1 == 1.0 and r.f_statistic is None and r.icc1_ci95 == (None, None) and "agree exactly" in r.note
    flat = exact.assign(score=4)
    r = oneway_icc(long_ratings(flat))
    assert r.icc1 is None and r.icck is None and "all scores are equal" in r.note
    with pytest.raises(NotApplicable, match="at least two units"):
        oneway_icc(long_ratings(pd.DataFrame({"unit": [1, 1, 2], "rater": ["A", "B", "A"], "score": [1, 2, 3]})))


# ---------------------------------------------------------------- REML and ICCs


def test_reml_equals_anova_on_complete_data_when_non_negative() -> None:
    for seed in range(6):
        matrix = complete_design(seed)
        table = intraclass_correlations(ratings_from_wide(matrix.tolist()))
        n, k = matrix.shape
        anova = {"unit": (table.msr - table.mse) / k, "rater": (table.msc - table.mse) / n, "residual": table.mse}
        if min(anova.values()) < 0:
            continue
        vc = fit_reml(long_ratings(wide_to_long(matrix))).components.as_dict()
        for name, value in anova.items():
            assert vc[name] == pytest.approx(value, abs=1e-6), (seed, name)
        iccs = incomplete_iccs(long_ratings(wide_to_long(matrix)), seed=seed)
        for ours, theirs in (
            ("ICC(A,1)", "ICC(2,1)"),
            ("ICC(C,1)", "ICC(3,1)"),
            ("ICC(A,k)", "ICC(2,k)"),
            ("ICC(C,k)", "ICC(3,k)"),
        ):
            assert iccs[ours].value == pytest.approx(table[theirs].value, abs=1e-6)


def test_negative_anova_rater_variance_gives_boundary_zero() -> None:
    # rater means identical by construction -> MSC = 0 < MSE: REML puts the rater variance at zero
    matrix = np.array([[1, 3], [3, 1], [2, 4], [4, 2], [5, 7], [7, 5]], dtype=float)
    fit = fit_reml(long_ratings(wide_to_long(matrix)))
    assert fit.components.rater == 0.0 and "rater variance is estimated at or near zero" in fit.note
    iccs = incomplete_iccs(long_ratings(wide_to_long(matrix)), fit=fit)
    assert iccs["ICC(A,1)"].value == pytest.approx(iccs["ICC(C,1)"].value)
    assert iccs["ICC(A,1)"].ci95 == pytest.approx(iccs["ICC(C,1)"].ci95)


def test_incomplete_iccs_use_harmonic_k_and_seeded_draws() -> None:
    data = long_ratings(pool_design(2))
    a = incomplete_iccs(data, seed=5, n_draws=400)
    b = incomplete_iccs(data, seed=5, n_draws=400)
    c = incomplete_iccs(data, seed=6, n_draws=400)
    assert a == b and a.forms != c.forms
    n_i = data.ratings_per_unit
    assert a.k == pytest.approx(len(n_i) / np.sum(1 / n_i)) and a.k < n_i.mean()
    vc = a.components
    expected = icc_forms(vc.unit, vc.rater, vc.residual, a.k)
    for form in a.forms:
        assert form.value == pytest.approx(float(expected[form.name]))
        assert form.ci95[0] < form.value < form.ci95[1]
    assert a["ICC(A,1)"].value <= a["ICC(C,1)"].value and a["ICC(A,1)"].value <= a["ICC(A,k)"].value
    assert a["ICC(A,1)"].k is None and a["ICC(C,k)"].k == a.k
    variance_scale = incomplete_iccs(data, seed=5, n_draws=400, scale="variance")
    assert variance_scale["ICC(A,1)"].value == a["ICC(A,1)"].value
    assert variance_scale["ICC(A,1)"].ci95 != a["ICC(A,1)"].ci95


def test_nested_iccs_count_the_cluster_in_the_unit_variance() -> None:
    data = long_ratings(nested_design(4), cluster="film")
    iccs = incomplete_iccs(data, seed=1)
    vc = iccs.components
    assert vc.cluster is not None and iccs.unit_variance == pytest.approx(vc.cluster + vc.unit)
    assert iccs["ICC(C,1)"].value == pytest.approx(iccs.unit_variance / (iccs.unit_variance + vc.residual))


def test_draws_follow_the_information_matrix() -> None:
    fit = fit_reml(long_ratings(pool_design(8, n_units=400)))
    draws = fit.draws(20000, seed=3)
    assert draws is not None and fit.log_covariance is not None
    logs = np.log(np.column_stack([draws[name] for name in fit.free]))
    centre = np.log([fit.components.as_dict()[name] for name in fit.free])
    white = np.linalg.solve(np.linalg.cholesky(fit.log_covariance), (logs - centre).T)
    assert np.cov(white) == pytest.approx(np.eye(len(fit.free)), abs=0.04)
    assert white.mean(axis=1) == pytest.approx(np.zeros(len(fit.free)), abs=0.03)
    # standard errors on the variance scale are in the range ANOVA-type theory gives
    se_residual = np.sqrt(fit.log_covariance[fit.free.index("residual"), fit.free.index("residual")])
    dof = fit._suff.n - 400  # rough within-unit degrees of freedom
    assert se_residual == pytest.approx(np.sqrt(2 / dof), rel=0.5)


def test_reml_refuses_unidentifiable_designs() -> None:
    one_each = pd.DataFrame({"unit": [1, 1, 2, 2], "rater": ["A", "B", "C", "D"], "score": [1, 2, 3, 5]})
    with pytest.raises(NotApplicable, match="every rater scored a single unit"):
        fit_reml(long_ratings(one_each))
    frame = pool_design(1, n_units=30).assign(film=lambda f: f["unit"])
    with pytest.raises(NotApplicable, match="every cluster holds a single unit"):
        fit_reml(long_ratings(frame, cluster="film"))


def test_row_order_does_not_matter_for_the_fit() -> None:
    frame = nested_design(9)
    a = fit_reml(long_ratings(frame, cluster="film"))
    b = fit_reml(long_ratings(frame.sample(frac=1, random_state=2), cluster="film"))
    assert a.components == b.components and a.criterion == b.criterion  # rows are put in canonical order


# ---------------------------------------------------------------- D-study


def test_d_study_formulas() -> None:
    vc = VarianceComponents(unit=0.4, rater=0.1, residual=0.5, cluster=0.6)
    d = d_study(vc, raters=[1, 3], units=[2, 5])
    for i, n in enumerate([1, 3]):
        for j, m in enumerate([2, 5]):
            assert d.phi[i][j] == pytest.approx(0.6 / (0.6 + 0.4 / m + 0.1 / n + 0.5 / (m * n)))
            assert d.g_relative[i][j] == pytest.approx(0.6 / (0.6 + 0.4 / m + 0.5 / (m * n)))
    crossed = VarianceComponents(unit=0.4, rater=0.1, residual=0.5)
    d = d_study(crossed, raters=[2], units=[1, 4])
    assert d.units == (1,) and "no cluster column" in d.note
    assert d.phi[0][0] == pytest.approx(dependability(crossed, 2)) == pytest.approx(0.4 / (0.4 + 0.3))
    assert d.g_relative[0][0] == pytest.approx(generalizability(crossed, 2))
    with pytest.raises(DesignInputError, match="whole numbers of at least 1"):
        d_study(crossed, raters=[0])
    with pytest.raises(DesignInputError, match="is empty"):
        d_study(crossed, raters=[])
    zero = d_study(VarianceComponents(0.0, 0.0, 0.0), raters=[1])
    assert zero.phi == ((None,),) and "undefined" in zero.note


# ---------------------------------------------------------------- pairwise


def test_pairwise_kappas_match_cohen_kappa_per_pair() -> None:
    frame = pool_design(12)
    s = pairwise_agreement(long_ratings(frame, categories=SCALE))
    by_unit = frame.pivot(index="unit", columns="rater", values="score")
    total = 0
    for pair in s.pairs:
        both = by_unit[[pair.rater_a, pair.rater_b]].dropna()
        assert pair.n_shared == len(both)
        total += len(both)
        long = both.reset_index().melt(id_vars="unit", var_name="rater", value_name="score")
        ratings = ratings_from_long(long["unit"], long["rater"], long["score"].astype(int).tolist(), SCALE)
        for weights, value in (
            ("unweighted", pair.kappa_unweighted),
            ("linear", pair.kappa_linear),
            ("quadratic", pair.kappa_quadratic),
        ):
            assert value == pytest.approx(cohen_kappa(ratings, weights).value, abs=1e-12)
        x, y = both[pair.rater_a].to_numpy(), both[pair.rater_b].to_numpy()
        assert pair.exact == pytest.approx(np.mean(x == y)) and pair.within_1 == pytest.approx(np.mean(abs(x - y) <= 1))
    n_i = frame.groupby("unit").size()
    assert s.n_pairs == total == int((n_i * (n_i - 1) // 2).sum())
    weights = np.array([p.n_shared for p in s.pairs])
    assert s.kappa_quadratic == pytest.approx(np.average([p.kappa_quadratic for p in s.pairs], weights=weights))
    assert s.exact == pytest.approx(np.average([p.exact for p in s.pairs], weights=weights))


def test_pairwise_declared_scale_changes_weighted_kappa() -> None:
    scores = [1, 2, 2, 2, 9, 9, 1, 9, 2, 1, 9, 2]
    frame = pd.DataFrame({"unit": np.repeat(np.arange(6), 2), "rater": ["A", "B"] * 6, "score": scores})
    narrow = pairwise_agreement(long_ratings(frame, categories=[1, 2, 9]))
    wide = pairwise_agreement(long_ratings(frame, categories=SCALE))
    assert narrow.kappa_unweighted == pytest.approx(wide.kappa_unweighted)
    assert narrow.kappa_linear != pytest.approx(wide.kappa_linear)


def test_pairwise_leaves_out_undefined_kappas_and_handles_continuous() -> None:
    frame = pd.DataFrame(
        {
            "unit": [1, 1, 2, 2, 3, 3, 4, 4],
            "rater": ["A", "B", "A", "B", "A", "C", "A", "C"],
            "score": [2, 2, 2, 2, 1, 2, 3, 3],
        }
    )
    s = pairwise_agreement(long_ratings(frame, categories=[1, 2, 3]))
    ab, ac = s.pairs
    assert ab.kappa_unweighted is None and ab.exact == 1.0
    assert s.kappa_unweighted == ac.kappa_unweighted and s.n_pairs_kappa["unweighted"] == 1
    assert s.exact == pytest.approx(3 / 4) and "left out of the kappa average" in s.note
    continuous = pairwise_agreement(long_ratings(pool_design(3, integer=False)))
    assert continuous.kappa_linear is None and continuous.exact is None and continuous.within_1 is None
    assert continuous.n_pairs > 0 and "continuous" in continuous.note


# ---------------------------------------------------------------- severity and drift


def test_severity_matches_direct_computation() -> None:
    frame = pool_design(21)
    severity = {s.rater: s for s in rater_severity(long_ratings(frame))}
    frame = frame.assign(
        n=frame.groupby("unit")["score"].transform("size"), total=frame.groupby("unit")["score"].transform("sum")
    )
    shared = frame[frame["n"] >= 2]
    deviation = shared["score"] - (shared["total"] - shared["score"]) / (shared["n"] - 1)
    for rater, d in deviation.groupby(shared["rater"]):
        s = severity[rater]
        assert s.n == len(d) and s.mean_deviation == pytest.approx(d.mean())
        half = sps.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
        assert s.ci95 == pytest.approx((d.mean() - half, d.mean() + half))


def test_severity_recovers_a_lenient_rater() -> None:
    frame = pool_design(4, n_units=600, n_raters=5, sd=(1.0, 0.0, 0.5), integer=False)
    frame.loc[frame["rater"] == "R2", "score"] += 1.0
    severity = {s.rater: s for s in rater_severity(long_ratings(frame))}
    lenient = severity["R2"]
    assert lenient.ci95[0] < 1.0 + 0.25 and lenient.ci95[1] > 1.0  # others are 0.25 below on average
    assert all(s.mean_deviation < 0 for r, s in severity.items() if r != "R2")


def test_severity_small_n() -> None:
    frame = pd.DataFrame({"unit": [1, 1, 2, 2, 3], "rater": ["A", "B", "A", "B", "C"], "score": [3, 4, 5, 5, 2]})
    s = {x.rater: x for x in rater_severity(long_ratings(frame))}
    assert s["C"].n == 0 and s["C"].mean_deviation is None and s["C"].ci95 is None
    single = pd.DataFrame({"unit": [1, 1, 2, 2], "rater": ["A", "B", "A", "C"], "score": [3, 4, 5, 5]})
    s = {x.rater: x for x in rater_severity(long_ratings(single))}
    assert s["B"].n == 1 and s["B"].mean_deviation == 1.0 and s["B"].ci95 is None


def test_drift_by_month_and_criterion() -> None:
    rng = np.random.default_rng(0)
    reference = rng.integers(1, 8, 30).astype(float)
    rows = []
    for month, noise in (("2024-01", 0.0), ("2024-03", 2.5)):
        for t, ref in enumerate(reference):
            score = float(np.clip(ref + np.rint(rng.normal(0, noise)) if noise else ref, 1, 7))
            rows.append(("A", f"{month}-{t % 28 + 1:02d}", score, ref))
    rows.append(("B", "2024-01-15", 3.0, 3.0))
    frame = pd.DataFrame(rows, columns=["rater", "date", "score", "reference"])
    checks = rater_drift(frame, categories=range(1, 8))
    assert [(c.rater, c.month, c.n) for c in checks] == [
        ("A", "2024-01", 30),
        ("A", "2024-03", 30),
        ("B", "2024-01", 1),
    ]
    good, drifted, alone = checks
    assert good.icc_a1 == pytest.approx(1.0) and good.within_1 == 1.0 and good.status == "meets"
    assert drifted.status == "below" and drifted.within_1 < 0.8
    assert alone.status == "undetermined" and "fewer than two items" in alone.note
    lenient = rater_drift(frame, categories=range(1, 8), icc_min=-1.0, within_1_min=0.0)
    assert lenient[1].status == "meets"
    continuous = rater_drift(frame)
    assert continuous[0].within_1 is None and continuous[0].status == "meets"
    with pytest.raises(DesignInputError, match="cannot be read"):
        rater_drift(frame.assign(date="not a date"))
    with pytest.raises(DesignInputError, match="reference column"):
        rater_drift(frame.drop(columns="reference"))


# ---------------------------------------------------------------- planning


def test_exact_assurance_matches_simulation_of_the_oneway_interval() -> None:
    rho, k, n, rho0 = 0.7, 3, 30, 0.5
    exact = icc_lower_bound_assurance(rho, k, n, rho0)
    rng = np.random.default_rng(2024)
    hits, sims = 0, 2000
    for _ in range(sims):
        y = rng.normal(0, math.sqrt(rho), (n, 1)) + rng.normal(0, math.sqrt(1 - rho), (n, k))
        msb = k * np.var(y.mean(axis=1), ddof=1)
        msw = np.sum((y - y.mean(axis=1, keepdims=True)) ** 2) / (n * (k - 1))
        f_low = msb / msw / sps.f.ppf(0.975, n - 1, n * (k - 1))
        hits += (f_low - 1) / (f_low + k - 1) > rho0
    assert hits / sims == pytest.approx(exact, abs=3 * math.sqrt(exact * (1 - exact) / sims))


def test_exact_assurance_matches_simulation_of_the_consistency_interval() -> None:
    rho, k, n, rho0 = 0.8, 2, 25, 0.6
    exact = icc_lower_bound_assurance(rho, k, n, rho0, model="consistency")
    rng = np.random.default_rng(7)
    hits, sims = 0, 400
    for _ in range(sims):
        y = (
            rng.normal(0, math.sqrt(rho), (n, 1))
            + rng.normal(0, 0.7, (1, k))
            + rng.normal(0, math.sqrt(1 - rho), (n, k))
        )
        hits += intraclass_correlations(ratings_from_wide(y.tolist()))["ICC(C,1)"].ci95_low > rho0
    assert hits / sims == pytest.approx(exact, abs=3 * math.sqrt(exact * (1 - exact) / sims))


def test_assurance_sample_size_is_the_smallest_n() -> None:
    plan = icc_assurance_sample_size(0.75, 3, 0.5, assurance=0.9)
    assert plan.achieved >= 0.9 > icc_lower_bound_assurance(0.75, 3, plan.n_units - 1, 0.5)
    with pytest.raises(PlanningInputError, match="must exceed the threshold"):
        icc_assurance_sample_size(0.5, 2, 0.6)


def test_planning_inputs_are_checked_and_serialised() -> None:
    for bad in ({"rho": 1.2}, {"k": 1}, {"width": 0}, {"k": True}):
        arguments = {"rho": 0.8, "k": 2, "width": 0.2} | bad
        with pytest.raises(PlanningInputError):
            bonett_sample_size(**arguments)
    with pytest.raises(PlanningInputError, match="must differ"):
        kappa_sample_size(0.5, 0.5, 0.3)
    with pytest.raises(PlanningInputError, match="cell probability"):
        kappa_sample_size(-0.9, 0.6, 0.1)
    plan = plan_to_json(kappa_sample_size(0.4, 0.6, 0.3))
    assert list(plan)[:2] == ["n_units", "method"] and plan["method"] == "donner_eliasziw1992"
    assert plan["kappa0"] == 0.4 and plan["prevalence"] == 0.3
    json.dumps(plan, allow_nan=False)
    wider = [bonett_sample_size(0.8, 3, w).n_units for w in (0.1, 0.2, 0.3)]
    assert wider == sorted(wider, reverse=True)


# ---------------------------------------------------------------- composing function and JSON


def test_json_blocks_and_keys_are_exact() -> None:
    result = design_reliability(
        nested_design(5), cluster="film", categories=None, d_raters=[1, 2], d_units=[1, 4], seed=3, n_draws=300
    )
    out = design_reliability_to_json(result)
    json.dumps(out, allow_nan=False)
    assert tuple(out) == BLOCKS
    assert set(out["design"]) == {"complete", "n_units_multi", "ratings_per_unit", "n_rater_pairs"}
    assert set(out["design"]["ratings_per_unit"]) == {"min", "max", "mean"}
    assert set(out["icc_oneway"]) == {"ICC(1)", "ICC(1,k)"}
    assert set(out["icc_oneway"]["ICC(1)"]) == {"value", "ci95", "F", "df1", "df2", "p", "k0"}
    assert set(out["icc_oneway"]["ICC(1,k)"]) == {"value", "ci95"}
    assert set(out["icc_incomplete"]) == {"ICC(A,1)", "ICC(C,1)", "ICC(A,k)", "ICC(C,k)"}
    assert set(out["icc_incomplete"]["ICC(A,1)"]) == {"value", "ci95"}
    assert set(out["icc_incomplete"]["ICC(C,k)"]) == {"value", "ci95", "k"}
    assert set(out["variance_components"]) == {"unit", "rater", "residual", "cluster"}
    assert set(out["d_study"]) == {"raters", "units", "phi", "g_relative"}
    assert out["d_study"]["units"] == [1, 4] and len(out["d_study"]["phi"]) == 2 and len(out["d_study"]["phi"][0]) == 2
    assert set(out["pairwise"]) == {"cohen_kappa", "agreement", "n_pairs"}
    assert set(out["pairwise"]["cohen_kappa"]) == {"unweighted", "linear", "quadratic"}
    assert set(out["pairwise"]["agreement"]) == {"exact", "within_1"}
    assert out["pairwise"]["cohen_kappa"]["linear"] is None and "continuous" in result.notes["pairwise"]
    assert all(set(r) == {"rater", "n", "mean_deviation", "ci95"} and len(r["ci95"]) == 2 for r in out["raters"])
    assert result.variance_components is not None and result.reml is not None and result.reml.nested


def test_crossed_json_has_no_cluster_and_d_study_for_one_unit() -> None:
    out = design_reliability_to_json(design_reliability(pool_design(6), categories=SCALE, d_units=[1, 3], n_draws=200))
    assert set(out["variance_components"]) == {"unit", "rater", "residual"}
    assert out["d_study"]["units"] == [1]
    assert out["pairwise"]["cohen_kappa"]["quadratic"] is not None


def test_not_applicable_blocks_are_none_with_reasons() -> None:
    frame = pd.DataFrame(
        {"unit": [1, 1, 2, 2, 3, 3], "rater": ["A", "B", "C", "D", "E", "F"], "score": [1, 2, 3, 5, 4, 4]}
    )
    result = design_reliability(frame, categories=range(1, 6))
    out = design_reliability_to_json(result)
    assert out["icc_incomplete"] is None and out["variance_components"] is None and out["d_study"] is None
    assert "every rater scored a single unit" in result.notes["icc_incomplete"]
    assert out["icc_oneway"]["ICC(1)"]["value"] is not None
    json.dumps(out, allow_nan=False)
    flat = pd.DataFrame({"unit": [1, 1, 2, 2, 3, 3], "rater": ["A", "B", "A", "B", "A", "B"], "score": [3] * 6})
    result = design_reliability(flat, categories=range(1, 6))
    out = design_reliability_to_json(result)
    json.dumps(out, allow_nan=False)
    assert out["icc_oneway"]["ICC(1)"]["value"] is None and "all scores are equal" in result.notes["icc_oneway"]
    assert out["icc_incomplete"] is None and "all scores are equal" in result.notes["icc_incomplete"]
    assert out["pairwise"]["cohen_kappa"]["unweighted"] is None and out["pairwise"]["agreement"]["exact"] == 1.0
