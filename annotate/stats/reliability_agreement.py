"""Raw agreement: percent agreement (exact / within a tolerance) and Bland-Altman limits.

Sources
-------
* Percent agreement as R ``irr::agree`` (Gamer, Lemon, Fellows & Singh): units with any
  missing rating are left out; a unit agrees when all its ratings are equal (text or numbers)
  or, with a tolerance, when ``max - min <= tolerance`` (numeric scores). Reported as a
  fraction, not a percentage.
* Bland, J. M. & Altman, D. G. (1986). Statistical methods for assessing agreement between two
  methods of clinical measurement. *Lancet* i, 307-310; Bland & Altman (1999). Measuring
  agreement in method comparison studies. *Stat. Methods Med. Res.* 8, 135-160. Differences
  ``d = rater_a - rater_b``; limits ``mean(d) +/- 1.96 SD(d)``; CIs with t(n-1) and standard
  errors ``SD / sqrt(n)`` (mean) and ``SD * sqrt(3 / n)`` (each limit), the 1986 approximation.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from annotate.stats.reliability_data import MISSING, NotApplicable, Ratings


@dataclass(frozen=True)
class PercentAgreement:
    """Share (0-1) of complete units on which all raters agree within ``tolerance``."""

    value: float
    tolerance: float
    n_units: int


@dataclass(frozen=True)
class BlandAltman:
    """Bland-Altman summary for two raters (differences ``rater_a - rater_b``)."""

    rater_a: Hashable
    rater_b: Hashable
    n_units: int
    mean_difference: float
    sd_difference: float
    lower_limit: float
    upper_limit: float
    mean_difference_ci95: tuple[float, float]
    lower_limit_ci95: tuple[float, float]
    upper_limit_ci95: tuple[float, float]


def percent_agreement(ratings: Ratings, tolerance: float = 0) -> PercentAgreement:
    """Share of units (all raters present) whose ratings agree exactly or within a tolerance.

    Parameters
    ----------
    ratings : Ratings
    tolerance : float
        0 for exact agreement (any scale); e.g. 1 for "within one point" (numeric scales).

    Examples
    --------
    >>> from annotate.stats.reliability_data import ratings_from_wide
    >>> r = ratings_from_wide([[1, 1, 1], [1, 2, 2], [3, 3, None], [4, 6, 5]])
    >>> percent_agreement(r).value, percent_agreement(r, tolerance=1).value
    (0.3333333333333333, 0.6666666666666666)
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be 0 or more, got {tolerance}")
    complete = (ratings.codes != MISSING).all(axis=1)
    n = int(complete.sum())
    if n == 0:
        raise NotApplicable(
            f"no unit was scored by all {ratings.n_raters} raters; percent agreement (as irr::agree) "
            "needs complete units"
        )
    if tolerance == 0:
        codes = ratings.codes[complete]
        agree = (codes == codes[:, :1]).all(axis=1)
    else:
        values = ratings.values[complete]
        agree = values.max(axis=1) - values.min(axis=1) <= tolerance + 1e-12
    return PercentAgreement(float(agree.mean()), float(tolerance), n)


def bland_altman(ratings: Ratings, confidence: float = 0.95) -> BlandAltman:
    """Mean difference, SD and 95% limits of agreement between two raters, with CIs.

    Examples
    --------
    >>> from annotate.stats.reliability_data import ratings_from_wide
    >>> ba = bland_altman(ratings_from_wide([[3, 2], [5, 5], [4, 2], [6, 5]]))
    >>> ba.mean_difference, round(ba.sd_difference, 4), round(ba.upper_limit, 3)
    (1.0, 0.8165, 2.6)
    """
    if ratings.n_raters != 2:
        raise NotApplicable(
            f"Bland-Altman compares two raters, these ratings have {ratings.n_raters}; select a rater pair"
        )
    values = ratings.values
    both = ~np.isnan(values).any(axis=1)
    n = int(both.sum())
    if n < 2:
        raise NotApplicable("Bland-Altman needs at least two units scored by both raters")
    differences = values[both, 0] - values[both, 1]
    mean = float(differences.mean())
    sd = float(differences.std(ddof=1))
    z = 1.96  # Bland & Altman's published multiplier for 95% limits
    lower, upper = mean - z * sd, mean + z * sd
    t_crit = float(sps.t.ppf(1 - (1 - confidence) / 2, n - 1))
    se_mean, se_limit = sd / np.sqrt(n), sd * np.sqrt(3 / n)

    def around(centre: float, se: float) -> tuple[float, float]:
        return (float(centre - t_crit * se), float(centre + t_crit * se))

    return BlandAltman(
        rater_a=ratings.raters[0],
        rater_b=ratings.raters[1],
        n_units=n,
        mean_difference=mean,
        sd_difference=sd,
        lower_limit=float(lower),
        upper_limit=float(upper),
        mean_difference_ci95=around(mean, se_mean),
        lower_limit_ci95=around(lower, se_limit),
        upper_limit_ci95=around(upper, se_limit),
    )
