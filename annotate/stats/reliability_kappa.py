"""Chance-corrected agreement: Cohen's kappa, Fleiss' kappa, Gwet's AC1/AC2 and relatives.

Sources
-------
* Cohen, J. (1960). A coefficient of agreement for nominal scales. *Educ. Psychol. Meas.* 20,
  37-46; Cohen, J. (1968). Weighted kappa. *Psychol. Bull.* 70, 213-220. Linear/quadratic
  disagreement weights ``|i - j|`` and ``(i - j)^2`` on the category *positions* of the declared
  scale, as scikit-learn ``cohen_kappa_score(labels=...)``, R ``irr::kappa2`` and ``psych`` do.
* Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. *Psychol. Bull.*
  76, 378-382 (kappa, category kappas, and the null-hypothesis z as R ``irr::kappam.fleiss``).
* Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence of
  high agreement. *Br. J. Math. Stat. Psychol.* 61, 29-48; Gwet, K. L. (2014). *Handbook of
  Inter-Rater Reliability*, 4th ed., ch. 2-5. The multi-rater family below (percent agreement,
  AC1/AC2, Fleiss' generalised kappa, Krippendorff's alpha in Gwet's form, Conger's kappa,
  Brennan-Prediger) follows R ``irrCAC`` 1.0 ``*.raw`` functions term by term, including
  their handling of a varying number of ratings per unit and their standard errors
  (t-based CI with n - 1 df, upper bound capped at 1).

Symbols: ``r_ik`` raters putting unit i in category k, ``r_i`` ratings of unit i, ``w_kl``
agreement weights, ``p_a`` observed and ``p_e`` chance agreement, ``pi_k`` mean over units of
``r_ik / r_i``, coefficient ``(p_a - p_e) / (1 - p_e)``. Agreement weights for linear and
quadratic use the category values when numeric and positions 1..q for text (irrCAC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as sps

from annotate.stats.reliability_data import MISSING, NotApplicable, Ratings

WeightName = Literal["unweighted", "linear", "quadratic"]
Coefficient = Literal["percent", "gwet", "fleiss", "krippendorff", "conger", "brennan_prediger"]
COEFFICIENTS: tuple[Coefficient, ...] = (
    "percent",
    "gwet",
    "fleiss",
    "krippendorff",
    "conger",
    "brennan_prediger",
)


@dataclass(frozen=True)
class CohenKappa:
    """Two-rater kappa; ``p_o``/``p_e`` are (weighted) agreement ``1 - q / max(w)``."""

    value: float | None
    weights: str
    p_o: float
    p_e: float
    n_units: int


@dataclass(frozen=True)
class AgreementCoefficient:
    """A multi-rater coefficient in Gwet's (p_a, p_e) form with its irrCAC standard error.

    ``se``, ``ci95_*`` and ``p_value`` are None where not computed (Conger's kappa) or not
    defined (zero standard error, fewer than two units).
    """

    coefficient: str
    weights: str
    value: float | None
    p_a: float
    p_e: float
    se: float | None
    ci95_low: float | None
    ci95_high: float | None
    p_value: float | None
    n_units: int


@dataclass(frozen=True)
class FleissKappa:
    """Fleiss' kappa (generalised to a varying number of ratings per unit, as irrCAC).

    ``category_kappas`` (Fleiss 1971, eq. 11, per declared category; None for a category
    nobody used) are given for unweighted kappa. ``z_null`` is the z of R
    ``irr::kappam.fleiss`` (Fleiss, Nee & Landis 1979 null variance); it is only defined when
    every unit has the same number of ratings, else None.
    """

    value: float | None
    p_a: float
    p_e: float
    se: float | None
    ci95_low: float | None
    ci95_high: float | None
    p_value: float | None
    category_kappas: tuple[float | None, ...] | None
    z_null: float | None
    n_units: int


def _weight_positions(ratings: Ratings) -> np.ndarray:
    if ratings.numeric:
        return ratings.category_values
    return np.arange(1, len(ratings.categories) + 1, dtype=float)


def agreement_weights(ratings: Ratings, weights: WeightName | np.ndarray) -> np.ndarray:
    """``q x q`` agreement weights as irrCAC (identity, linear, quadratic or a custom matrix).

    Examples
    --------
    >>> from annotate.stats.reliability_data import ratings_from_wide
    >>> agreement_weights(ratings_from_wide([[1, 2], [3, 3]]), "linear").tolist()
    [[1.0, 0.5, 0.0], [0.5, 1.0, 0.5], [0.0, 0.5, 1.0]]
    """
    q = len(ratings.categories)
    if isinstance(weights, str):
        if weights == "unweighted":
            return np.eye(q)
        if weights not in ("linear", "quadratic"):
            raise ValueError(f"unknown weights {weights!r}; use unweighted, linear or quadratic")
        x = _weight_positions(ratings)
        span = x.max() - x.min()
        if span == 0:
            return np.ones((q, q))
        distance = np.abs(x[:, None] - x[None, :]) / span
        weighted: np.ndarray = 1 - distance if weights == "linear" else 1 - distance**2
        return weighted
    matrix = np.asarray(weights, dtype=float)
    if matrix.shape != (q, q):
        raise ValueError(f"a custom weight matrix must be {q} x {q} (one row per category)")
    return matrix


def _weights_name(weights: WeightName | np.ndarray) -> str:
    return weights if isinstance(weights, str) else "custom"


def cohen_kappa(ratings: Ratings, weights: WeightName | np.ndarray = "unweighted") -> CohenKappa:
    """Cohen's kappa for two raters over the declared categories (units rated by both).

    Parameters
    ----------
    ratings : Ratings
        Exactly two raters.
    weights : {"unweighted", "linear", "quadratic"} or array
        Disagreement weights ``|i - j|`` / ``(i - j)^2`` on category positions, or a custom
        ``q x q`` *disagreement* matrix (Cohen 1968; zero diagonal, need not be symmetric,
        rows = first rater).

    Examples
    --------
    Cohen (1960), n = 200 (contingency table 88 14 18 / 10 40 10 / 2 6 12):

    >>> from annotate.stats.reliability_data import ratings_from_wide
    >>> table = [[88, 14, 18], [10, 40, 10], [2, 6, 12]]
    >>> pairs = [[i + 1, j + 1] for i in range(3) for j in range(3) for _ in range(table[i][j])]
    >>> k = cohen_kappa(ratings_from_wide(pairs))
    >>> round(k.value, 3), round(k.p_o, 2), round(k.p_e, 2)
    (0.492, 0.7, 0.41)
    >>> round(cohen_kappa(ratings_from_wide(pairs), [[0, 1, 3], [1, 0, 6], [3, 6, 0]]).value, 3)
    0.348
    """
    if ratings.n_raters != 2:
        raise NotApplicable(
            f"Cohen's kappa is for two raters, these ratings have {ratings.n_raters}; "
            "use Fleiss' kappa, Krippendorff's alpha or select a rater pair"
        )
    both = (ratings.codes != MISSING).all(axis=1)
    pairs = ratings.codes[both]
    n = pairs.shape[0]
    if n == 0:
        raise NotApplicable("no unit was scored by both raters; Cohen's kappa needs paired scores")
    q = len(ratings.categories)
    observed = np.bincount(pairs[:, 0] * q + pairs[:, 1], minlength=q * q).reshape(q, q) / n
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    if isinstance(weights, str):
        position = np.arange(q, dtype=float)
        gap = np.abs(position[:, None] - position[None, :])
        table = {"unweighted": (gap > 0).astype(float), "linear": gap, "quadratic": gap**2}
        if weights not in table:
            raise ValueError(f"unknown weights {weights!r}; use unweighted, linear or quadratic")
        disagreement = table[weights]
    else:
        disagreement = np.asarray(weights, dtype=float)
        if disagreement.shape != (q, q):
            raise ValueError(f"custom disagreement weights must be a {q} x {q} matrix")
    w_max = disagreement.max() if disagreement.max() > 0 else 1.0
    q_o = float((disagreement * observed).sum())
    q_e = float((disagreement * expected).sum())
    value = None if q_e == 0 else 1 - q_o / q_e
    return CohenKappa(value, _weights_name(weights), float(1 - q_o / w_max), float(1 - q_e / w_max), n)


def _t_interval(coef: float, se: float, n: int, confidence: float) -> tuple[float | None, float | None, float | None]:
    if n < 2 or not np.isfinite(se) or se == 0:
        return None, None, None
    t_crit = sps.t.ppf(1 - (1 - confidence) / 2, n - 1)
    p_value = float(2 * sps.t.sf(abs(coef / se), n - 1))
    return float(coef - se * t_crit), float(min(1.0, coef + se * t_crit)), p_value


def _conger_chance(ratings: Ratings, w: np.ndarray) -> float:
    q, r = len(ratings.categories), ratings.n_raters
    present = ratings.codes != MISSING
    classified = np.zeros((r, q))
    rater_of = np.broadcast_to(np.arange(r), ratings.codes.shape)[present]
    np.add.at(classified, (rater_of, ratings.codes[present]), 1)
    p_gk = classified / classified.sum(axis=1, keepdims=True)
    p_mean = p_gk.mean(axis=0)
    s2 = (p_gk.T @ p_gk - r * np.outer(p_mean, p_mean)) / (r - 1)
    return float((w * (np.outer(p_mean, p_mean) - s2 / r)).sum())


def agreement_coefficient(
    ratings: Ratings,
    coefficient: Coefficient,
    weights: WeightName | np.ndarray = "unweighted",
    confidence: float = 0.95,
) -> AgreementCoefficient:
    """One coefficient of Gwet's family, computed as R ``irrCAC`` ``<coefficient>.raw``.

    Parameters
    ----------
    ratings : Ratings
    coefficient : {"percent", "gwet", "fleiss", "krippendorff", "conger", "brennan_prediger"}
        ``"gwet"`` is AC1 when unweighted and AC2 when weighted.
    weights : {"unweighted", "linear", "quadratic"} or array
        Agreement weights (1 on the diagonal), see :func:`agreement_weights`.
    confidence : float
        Coverage of the t-based interval around the coefficient.

    Examples
    --------
    Krippendorff's example C (= irrCAC ``cac.raw4raters``):

    >>> from annotate.stats.reliability_data import ratings_from_wide
    >>> c = [[1, 1, None, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...      [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [None, 5, 5, 5],
    ...      [None, None, 1, 1], [None, 3, None, None]]
    >>> ac1 = agreement_coefficient(ratings_from_wide(c), "gwet")
    >>> round(ac1.value, 5), round(ac1.se, 5), round(ac1.ci95_low, 3)
    (0.77544, 0.14295, 0.461)
    """
    if coefficient not in COEFFICIENTS:
        raise ValueError(f"unknown coefficient {coefficient!r}; use one of {list(COEFFICIENTS)}")
    w = agreement_weights(ratings, weights)
    q = w.shape[0]
    counts = ratings.counts.astype(float)
    n = counts.shape[0]
    r_i = counts.sum(axis=1)
    weighted = counts @ w.T
    sum_q = (counts * (weighted - 1)).sum(axis=1)
    two = r_i >= 2
    n2 = int(two.sum())
    pair_count = r_i * (r_i - 1)
    if coefficient == "krippendorff":
        return _krippendorff_gwet_form(counts[two], weighted[two], w, weights, confidence)
    p_a = float((sum_q[two] / pair_count[two]).sum() / n2)
    pi = (counts / r_i[:, None]).mean(axis=0)
    if coefficient == "percent":
        p_e = 0.0
    elif coefficient == "gwet":
        p_e = float(w.sum() * (pi * (1 - pi)).sum() / (q * (q - 1))) if q >= 2 else 1 - 1e-15
    elif coefficient == "fleiss":
        p_e = float((w * np.outer(pi, pi)).sum())
    elif coefficient == "brennan_prediger":
        p_e = float(w.sum() / q**2)
    else:
        p_e = _conger_chance(ratings, w)
    value = None if p_e >= 1 else (p_a - p_e) / (1 - p_e)
    se = low = high = p_value = None
    if value is not None and coefficient != "conger" and n >= 2:
        # Linearised per-unit terms of Gwet (2008) / irrCAC; units with r_i < 2 contribute
        # zero agreement (irrCAC replaces their 0 denominator by -1 with a zero numerator).
        pa_i = np.where(two, sum_q / np.where(two, pair_count, 1), 0.0)
        coef_i = (n / n2) * (pa_i - p_e * two) / (1 - p_e)
        if coefficient == "gwet":
            pe_i = (w.sum() / (q * (q - 1))) * (counts @ (1 - pi)) / r_i
            coef_i = coef_i - 2 * (1 - value) * (pe_i - p_e) / (1 - p_e)
        elif coefficient == "fleiss":
            pi_w = (w @ pi + w.T @ pi) / 2
            pe_i = (counts @ pi_w) / r_i
            coef_i = coef_i - 2 * (1 - value) * (pe_i - p_e) / (1 - p_e)
        elif coefficient == "percent":
            coef_i = (n / n2) * pa_i
        se = float(np.sqrt(((coef_i - value) ** 2).sum() / (n * (n - 1))))
        low, high, p_value = _t_interval(value, se, n, confidence)
        if low is None:
            se = None
    return AgreementCoefficient(coefficient, _weights_name(weights), value, p_a, p_e, se, low, high, p_value, n)


def _krippendorff_gwet_form(
    counts: np.ndarray, weighted: bool, w: np.ndarray, weights: WeightName | np.ndarray, confidence: float
) -> AgreementCoefficient:
    r_i = counts.sum(axis=1)
    n = counts.shape[0]
    r_mean = r_i.mean()
    epsilon = 1 / r_i.sum()
    sum_q = (counts * (weighted - 1)).sum(axis=1)
    pa_prime = float((sum_q / (r_mean * (r_i - 1))).sum() / n)
    p_a = (1 - epsilon) * pa_prime + epsilon
    pi = (counts / r_mean).mean(axis=0)
    p_e = float((w * np.outer(pi, pi)).sum())
    value = None if p_e >= 1 else (p_a - p_e) / (1 - p_e)
    se = low = high = p_value = None
    if value is not None and n >= 2 and w.shape[0] >= 2:
        alpha_prime = (pa_prime - p_e) / (1 - p_e)
        pa_i = sum_q / (r_mean * (r_i - 1)) - p_a * (r_i - r_mean) / r_mean
        coef_i = (pa_i - p_e) / (1 - p_e)
        pi_w = (w @ pi + w.T @ pi) / 2
        pe_i = (counts @ pi_w) / r_mean - p_e * (r_i - r_mean) / r_mean
        coef_i = coef_i - 2 * (1 - alpha_prime) * (pe_i - p_e) / (1 - p_e)
        se = float(np.sqrt(((coef_i - alpha_prime) ** 2).sum() / (n * (n - 1))))
        low, high, p_value = _t_interval(value, se, n, confidence)
        if low is None:
            se = None
    return AgreementCoefficient("krippendorff", _weights_name(weights), value, p_a, p_e, se, low, high, p_value, n)


def gwet_ac(ratings: Ratings, weights: WeightName | np.ndarray = "unweighted") -> AgreementCoefficient:
    """Gwet's AC1 (unweighted) or AC2 (weighted), as R ``irrCAC::gwet.ac1.raw``.

    Examples
    --------
    >>> from annotate.stats.reliability_data import ratings_from_wide
    >>> round(gwet_ac(ratings_from_wide([[1, 1], [2, 2], [1, 2], [2, 2]])).value, 4)
    0.5294
    """
    return agreement_coefficient(ratings, "gwet", weights)


def fleiss_kappa(ratings: Ratings, weights: WeightName | np.ndarray = "unweighted") -> FleissKappa:
    """Fleiss' kappa for any number of raters, ratings per unit may vary.

    With the same number of ratings m on every unit this is Fleiss (1971) exactly. With a
    varying number it is Gwet's generalisation (irrCAC ``fleiss.kappa.raw``): ``p_a`` averages
    the share of agreeing pairs over units with at least two ratings, ``pi_k`` averages
    ``r_ik / r_i`` over all units, ``p_e = sum_kl w_kl pi_k pi_l``.

    Examples
    --------
    >>> from annotate.stats.reliability_data import ratings_from_wide
    >>> k = fleiss_kappa(ratings_from_wide([[1, 1, 1], [1, 2, 2], [2, 2, 2], [1, 1, 2]]))
    >>> round(k.value, 4), round(k.p_a, 4), round(k.p_e, 4)
    (0.3333, 0.6667, 0.5)
    """
    family = agreement_coefficient(ratings, "fleiss", weights)
    category_kappas = z_null = None
    if isinstance(weights, str) and weights == "unweighted":
        counts = ratings.counts.astype(float)
        r_i = counts.sum(axis=1)
        two = r_i >= 2
        pi = (counts / r_i[:, None]).mean(axis=0)
        disagree = (counts[two] * (r_i[two, None] - counts[two])) / (r_i[two, None] * (r_i[two, None] - 1))
        spread = two.sum() * pi * (1 - pi)
        category_kappas = tuple(
            None if s == 0 else float(1 - d / s) for d, s in zip(disagree.sum(axis=0), spread, strict=False)
        )
        if np.all(r_i == r_i[0]):
            m, big_n = r_i[0], counts.shape[0]
            pq = pi * (1 - pi)
            variance = 2 / (pq.sum() ** 2 * big_n * m * (m - 1)) * (pq.sum() ** 2 - (pq * (1 - 2 * pi)).sum())
            if family.value is not None and variance > 0:
                z_null = float(family.value / np.sqrt(variance))
    return FleissKappa(
        family.value,
        family.p_a,
        family.p_e,
        family.se,
        family.ci95_low,
        family.ci95_high,
        family.p_value,
        category_kappas,
        z_null,
        family.n_units,
    )
