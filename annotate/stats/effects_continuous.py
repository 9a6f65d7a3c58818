"""Continuous outcomes: per-group descriptives, Welch mean difference and Hedges' *g*.

Sources
-------
* Quartiles and median: Hyndman, R. J. & Fan, Y. (1996). Sample quantiles in statistical
  packages. *The American Statistician*, 50, 361-365, definition 7 (linear interpolation
  between order statistics at ``h = (n - 1) p``; R's default ``quantile(type = 7)`` and
  ``numpy.quantile(method="linear")``).
* Welch interval: Welch, B. L. (1947). The generalization of "Student's" problem when several
  different population variances are involved. *Biometrika*, 34, 28-35, with the
  Satterthwaite (1946, *Biometrics Bulletin*, 2, 110-114) degrees of freedom
  ``nu = (s1^2/n1 + s2^2/n2)^2 / [(s1^2/n1)^2/(n1-1) + (s2^2/n2)^2/(n2-1)]``.
* Hedges' *g*: Borenstein, M., Hedges, L. V., Higgins, J. P. T. & Rothstein, H. R. (2009).
  *Introduction to Meta-Analysis*. Wiley, chapter 4, equations 4.18-4.25 (symbols as there):

  - ``S_within = sqrt{[(n1 - 1) S1^2 + (n2 - 1) S2^2] / (n1 + n2 - 2)}``, ``d = (X1 - X2) / S_within``;
  - ``V_d = (n1 + n2) / (n1 n2) + d^2 / (2 (n1 + n2))``;
  - ``J = 1 - 3 / (4 df - 1)`` with ``df = n1 + n2 - 2`` (Hedges 1981 approximation);
  - ``g = J d``, ``V_g = J^2 V_d``, ``SE_g = sqrt(V_g)``, 95 % CI ``g +/- 1.96 SE_g``.

  Note ``V_g = J^2 V_d`` is the book's variance; the often-quoted
  ``1/n1 + 1/n2 + g^2 / (2 (n1 + n2))`` (Hedges & Olkin 1985, eq. 5.15 with *g* plugged in)
  differs from it in the third decimal for small samples. The book's worked example
  (means 103 vs 100, SD 5.5 vs 4.5, n 50 vs 50) gives ``d = 0.5970``, ``V_d = 0.0418``,
  ``J = 0.9923``, ``g = 0.5924``, ``V_g = 0.0411``; :func:`hedges_g_from_summary` reproduces it.

Group 1 is the treatment arm and group 2 the control arm throughout: differences are
treatment - control.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from annotate.stats.effects_input import Z_975, EffectsInputError, count, observed

QUANTILE_DEFINITION = "Hyndman & Fan (1996) definition 7: linear interpolation, as R type 7 and numpy 'linear'"


@dataclass(frozen=True)
class Descriptives:
    """Summary of one group's observed scores (missing scores excluded).

    ``sd`` uses the ``n - 1`` divisor and is ``None`` for ``n < 2``; every other field is
    ``None`` when ``n == 0``. ``q1``/``median``/``q3`` follow :data:`QUANTILE_DEFINITION`.
    """

    n: int
    mean: float | None
    sd: float | None
    median: float | None
    q1: float | None
    q3: float | None
    minimum: float | None
    maximum: float | None


def describe(scores: Sequence[float | None] | np.ndarray) -> Descriptives:
    """n, mean, SD (n - 1), median, quartiles (R type 7), min and max of the observed scores.

    Parameters
    ----------
    scores : sequence of float or None
        One group's scores; ``None``/NaN are missing and not counted.

    Returns
    -------
    Descriptives

    Examples
    --------
    >>> r = describe([1, 2, 3, 4, None])
    >>> r.n, r.mean, round(r.sd, 4), r.median, r.q1, r.q3, r.minimum, r.maximum
    (4, 2.5, 1.291, 2.5, 1.75, 3.25, 1.0, 4.0)
    >>> describe([]).mean is None
    True
    """
    x = observed(scores, "scores")
    n = int(x.size)
    if n == 0:
        return Descriptives(0, None, None, None, None, None, None, None)
    q1, median, q3 = np.quantile(x, [0.25, 0.5, 0.75], method="linear")
    return Descriptives(
        n=n,
        mean=float(x.mean()),
        sd=float(x.std(ddof=1)) if n >= 2 else None,
        median=float(median),
        q1=float(q1),
        q3=float(q3),
        minimum=float(x.min()),
        maximum=float(x.max()),
    )


@dataclass(frozen=True)
class MeanDifference:
    """Treatment - control difference in means with the Welch 95 % CI.

    ``difference`` is ``None`` when an arm has no scores; the interval, ``se`` and ``df`` are
    ``None`` when an arm has fewer than two scores or both arms have zero variance.
    """

    difference: float | None
    se: float | None
    df: float | None
    ci95_low: float | None
    ci95_high: float | None
    n1: int
    n2: int


def welch_mean_difference(
    treatment: Sequence[float | None] | np.ndarray, control: Sequence[float | None] | np.ndarray
) -> MeanDifference:
    """Difference in means (treatment - control) with Welch's unequal-variance 95 % CI.

    Parameters
    ----------
    treatment, control : sequence of float or None
        Observed scores of each arm; missing values are dropped.

    Returns
    -------
    MeanDifference

    Examples
    --------
    >>> r = welch_mean_difference([5, 6, 7, 8], [4, 4, 5, 6, 6])
    >>> r.difference, round(r.df, 3), round(r.ci95_low, 3), round(r.ci95_high, 3)
    (1.5, 5.603, -0.455, 3.455)
    """
    x1 = observed(treatment, "treatment scores")
    x2 = observed(control, "control scores")
    n1, n2 = int(x1.size), int(x2.size)
    if n1 == 0 or n2 == 0:
        return MeanDifference(None, None, None, None, None, n1, n2)
    difference = float(x1.mean() - x2.mean())
    if n1 < 2 or n2 < 2:
        return MeanDifference(difference, None, None, None, None, n1, n2)
    v1, v2 = x1.var(ddof=1) / n1, x2.var(ddof=1) / n2
    if v1 + v2 == 0:
        return MeanDifference(difference, None, None, None, None, n1, n2)
    se = math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    half = float(sps.t.ppf(0.975, df)) * se
    return MeanDifference(difference, se, float(df), difference - half, difference + half, n1, n2)


@dataclass(frozen=True)
class HedgesG:
    """Standardised mean difference in Borenstein et al. (2009, ch. 4) symbols.

    ``d`` is Cohen's *d* on the pooled within-group SD ``s_within``; ``j`` the small-sample
    correction; ``g = j * d``; ``variance_g = j**2 * variance_d``. Undefined parts are
    ``None`` (an empty arm, ``df < 2``, or ``s_within == 0``).
    """

    g: float | None
    variance_g: float | None
    se_g: float | None
    ci95_low: float | None
    ci95_high: float | None
    d: float | None
    variance_d: float | None
    j: float | None
    s_within: float | None
    n1: int
    n2: int


def hedges_g_from_summary(mean1: float, sd1: float, n1: int, mean2: float, sd2: float, n2: int) -> HedgesG:
    """Hedges' *g* with its Borenstein et al. (2009) variance and 95 % CI from summary data.

    Parameters
    ----------
    mean1, sd1, n1 : float, float, int
        Treatment arm mean, SD (n - 1 divisor) and size.
    mean2, sd2, n2 : float, float, int
        Control arm mean, SD and size.

    Returns
    -------
    HedgesG

    Examples
    --------
    Borenstein et al. (2009), chapter 4 worked example:

    >>> r = hedges_g_from_summary(103, 5.5, 50, 100, 4.5, 50)
    >>> [round(v, 4) for v in (r.s_within, r.d, r.variance_d, r.j, r.g, r.variance_g, r.se_g)]
    [5.0249, 0.597, 0.0418, 0.9923, 0.5924, 0.0411, 0.2028]
    """
    n1, n2 = count(n1, "n1"), count(n2, "n2")
    for name, value in (("mean1", mean1), ("sd1", sd1), ("mean2", mean2), ("sd2", sd2)):
        if not math.isfinite(float(value)):
            raise EffectsInputError(f"{name} must be a finite number; got {value!r}")
    if sd1 < 0 or sd2 < 0:
        raise EffectsInputError(f"standard deviations must not be negative; got {sd1!r} and {sd2!r}")
    df = n1 + n2 - 2
    if n1 == 0 or n2 == 0 or df < 2:
        return HedgesG(None, None, None, None, None, None, None, None, None, n1, n2)
    s_within = math.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / df)
    j = 1 - 3 / (4 * df - 1)
    if s_within == 0:
        return HedgesG(None, None, None, None, None, None, None, j, 0.0, n1, n2)
    d = (mean1 - mean2) / s_within
    variance_d = (n1 + n2) / (n1 * n2) + d**2 / (2 * (n1 + n2))
    g = j * d
    variance_g = j**2 * variance_d
    se_g = math.sqrt(variance_g)
    return HedgesG(
        g=g,
        variance_g=variance_g,
        se_g=se_g,
        ci95_low=g - Z_975 * se_g,
        ci95_high=g + Z_975 * se_g,
        d=d,
        variance_d=variance_d,
        j=j,
        s_within=s_within,
        n1=n1,
        n2=n2,
    )


def hedges_g(treatment: Sequence[float | None] | np.ndarray, control: Sequence[float | None] | np.ndarray) -> HedgesG:
    """Hedges' *g* (treatment - control) from raw scores; see :func:`hedges_g_from_summary`.

    Examples
    --------
    >>> r = hedges_g([5, 6, 7, 8], [4, 4, 5, 6, 6])
    >>> round(r.d, 4), round(r.g, 4), round(r.ci95_low, 3), round(r.ci95_high, 3)
    (1.3229, 1.1759, -0.113, 2.465)
    """
    x1 = observed(treatment, "treatment scores")
    x2 = observed(control, "control scores")
    sd1 = float(x1.std(ddof=1)) if x1.size >= 2 else 0.0
    sd2 = float(x2.std(ddof=1)) if x2.size >= 2 else 0.0
    mean1 = float(x1.mean()) if x1.size else 0.0
    mean2 = float(x2.mean()) if x2.size else 0.0
    return hedges_g_from_summary(mean1, sd1, int(x1.size), mean2, sd2, int(x2.size))


__all__ = [
    "QUANTILE_DEFINITION",
    "Descriptives",
    "HedgesG",
    "MeanDifference",
    "describe",
    "hedges_g",
    "hedges_g_from_summary",
    "welch_mean_difference",
]
