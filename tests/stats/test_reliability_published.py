"""Every published value in shared/reference/reliability_published.json is reproduced.

The test is parametrised over (example, statistic) pairs of the JSON file. For each pair every
numeric field of the expectation (value, CI bounds, F, df, p, D_o, D_e, p_a, p_e, SE, z, ...)
must be produced by our code; a field we do not compute fails the test rather than being
skipped. Tolerances come from the file (``tolerance``, ``<field>_tolerance``,
``ci95_tolerance``); fields without one are compared to half a unit in their last printed
decimal place, at least 3 decimals.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from annotate.stats.reliability import (
    agreement_coefficient,
    cohen_kappa,
    fleiss_kappa,
    intraclass_correlations,
    krippendorff_alpha,
    percent_agreement,
    ratings_from_wide,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
# A copy of shared/reference/reliability_published.json (published values with their sources).
PUBLISHED = Path(__file__).resolve().parent / "fixtures" / "reliability_published.json"

NOT_VALUES = {"source", "published_decimals", "definition", "Do_De_source", "disagreement_weights"}


def _entries() -> list[dict]:
    return json.loads(PUBLISHED.read_text())


def _cases():
    entries = _entries()
    if not entries:
        return [
            pytest.param(
                None,
                None,
                marks=pytest.mark.skip(reason=f"published reference file not found at {PUBLISHED}"),
            )
        ]
    return [
        pytest.param(entry, key, id=f"{entry['id']}::{key}", marks=_known_gap(key))
        for entry in entries
        for key in entry["expected"]
    ]


def _known_gap(key: str):
    if key.startswith("conger_kappa"):
        # The irrCAC 1.0 vignette prints p_e = 0.2334252 (kappa 0.76282); the conger.kappa.raw
        # source of the same release (and Conger 1980: mean over rater pairs of
        # sum_kl w_kl p_gk p_hl) gives p_e = 0.2358433 (kappa 0.76207) on the printed data.
        # Conger's kappa is not among the statistics the tool reports; kept visible here.
        return [
            pytest.mark.xfail(strict=True, reason="irrCAC vignette Conger value not reproducible from its own source")
        ]
    return []


def _icc(ratings, form: str) -> dict:
    r = intraclass_correlations(ratings)[form]
    return {
        "value": r.value,
        "value_2dp_SF1979": r.value,
        "ci95_lower": r.ci95_low,
        "ci95_upper": r.ci95_high,
        "F": r.f_statistic,
        "F_rounded_to_integer": r.f_statistic,
        "df1": r.df1,
        "df2": r.df2,
        "p": r.p_value,
    }


def _family(ratings, coefficient: str, weights: str = "unweighted") -> dict:
    c = agreement_coefficient(ratings, coefficient, weights)
    return {"value": c.value, "pa": c.p_a, "pe": c.p_e, "se": c.se, "ci95": [c.ci95_low, c.ci95_high]}


def _alpha(ratings, level: str) -> dict:
    a = krippendorff_alpha(ratings, level)
    return {"value": a.value, "Do": a.d_o, "De": a.d_e}


def _fleiss(ratings) -> dict:
    k = fleiss_kappa(ratings)
    return {
        "value": k.value,
        "value_3dp_Fleiss1971": k.value,
        "z": k.z_null,
        "se": k.se,
        "ci95": [k.ci95_low, k.ci95_high],
        "pe": k.p_e,
    }


def _computed(entry: dict, key: str) -> dict:
    ratings = ratings_from_wide(entry["data"], categories=entry["scale"]["categories"])
    expected = entry["expected"][key]
    icc_forms = {
        "icc_1_1": "ICC(1,1)",
        "icc_2_1": "ICC(2,1)",
        "icc_3_1": "ICC(3,1)",
        "icc_1_k": "ICC(1,k)",
        "icc_2_k": "ICC(2,k)",
        "icc_3_k": "ICC(3,k)",
    }
    if key in icc_forms:
        return _icc(ratings, icc_forms[key])
    if key.startswith("kripp_alpha_") and key.endswith("_irrCAC"):
        weights = "quadratic" if "quadratic" in key else "unweighted"
        return _family(ratings, "krippendorff", weights)
    if key.startswith("kripp_alpha_"):
        return _alpha(ratings, key.removeprefix("kripp_alpha_"))
    if key == "observed_agreement_krippendorff_Ao":
        return {"value": 1 - krippendorff_alpha(ratings, "nominal").d_o}
    if key == "percent_agreement_pairwise_gwet":
        return _family(ratings, "percent")
    if key == "percent_agreement_pairwise_gwet_quadratic":
        return _family(ratings, "percent", "quadratic")
    if key == "percent_agreement_all_raters_exact":
        return {"value": percent_agreement(ratings).value}
    if key == "gwet_ac1":
        return _family(ratings, "gwet")
    if key == "gwet_ac2_quadratic":
        return _family(ratings, "gwet", "quadratic")
    if key == "fleiss_kappa":
        return _fleiss(ratings)
    if key == "fleiss_kappa_quadratic":
        return _family(ratings, "fleiss", "quadratic")
    if key == "fleiss_mean_observed_agreement_P":
        return {"value": fleiss_kappa(ratings).p_a}
    if key == "fleiss_expected_agreement_Pe":
        return {"value": fleiss_kappa(ratings).p_e}
    if key == "fleiss_category_kappas":
        return {"value": list(fleiss_kappa(ratings).category_kappas)}
    if key in ("conger_kappa", "conger_kappa_quadratic"):
        return _family(ratings, "conger", "quadratic" if "quadratic" in key else "unweighted")
    if key in ("brennan_prediger", "brennan_prediger_quadratic"):
        weights = "quadratic" if "quadratic" in key else "unweighted"
        return _family(ratings, "brennan_prediger", weights)
    if key == "cohen_kappa":
        k = cohen_kappa(ratings)
        return {"value": k.value, "Po": k.p_o, "Pe": k.p_e}
    if key.startswith("cohen_kappa_custom"):
        k = cohen_kappa(ratings, np.array(expected["disagreement_weights"]))
        return {"value": k.value}
    raise AssertionError(f"no computation mapped to published statistic {key!r}")


def _default_tolerance(published: float) -> float:
    shown = -Decimal(repr(float(published))).normalize().as_tuple().exponent
    return 0.5 * 10.0 ** -max(int(shown), 3) + 1e-12


def _tolerance(expected: dict, field: str, published: float) -> float:
    if field == "value":
        return float(expected["tolerance"])
    if field == "value_2dp_SF1979":
        return 0.005 + 1e-9
    for name in (f"{field}_tolerance", "ci95_tolerance" if field.startswith("ci95_") else None):
        if name and name in expected:
            given = expected[name]
            if isinstance(given, str) and "7 decimals" in given:
                return 1.5e-7  # numpy assert_almost_equal(decimal=7)
            return float(given)
    return _default_tolerance(published)


def _close(computed, published, tolerance) -> bool:
    return computed is not None and math.isfinite(computed) and abs(computed - published) <= tolerance


@pytest.mark.parametrize(("entry", "key"), _cases())
def test_published_value_is_reproduced(entry, key):
    expected = entry["expected"][key]
    computed = _computed(entry, key)
    checked = 0
    for field, published in expected.items():
        if field in NOT_VALUES or field.endswith("_tolerance") or field == "tolerance":
            continue
        assert field in computed, f"{key}.{field} = {published} is published but not computed"
        got = computed[field]
        if field == "F_rounded_to_integer":
            assert round(got) == published, f"{key}: F = {got} does not round to {published}"
        elif field in ("df1", "df2"):
            assert got == published, f"{key}.{field}: {got} != {published}"
        elif isinstance(published, list):
            tol = float(expected.get("tolerance")) if field == "value" else None
            assert len(got) == len(published)
            for g, p in zip(got, published, strict=True):
                t = tol if tol is not None else _default_tolerance(p)
                assert _close(g, p, t), f"{key}.{field}: {got} vs published {published} (tol {t})"
        else:
            tol = _tolerance(expected, field, published)
            assert _close(got, published, tol), f"{key}.{field}: {got} vs published {published} (tol {tol})"
        checked += 1
    assert checked >= 1


def test_every_published_statistic_is_mapped():
    """Guards against the JSON growing a statistic that the parametrised test would miss."""
    for entry in _entries():
        for key in entry["expected"]:
            assert _computed(entry, key), key
