"""One-way random-effects ICC for unbalanced designs (units rated by different raters).

Shrout & Fleiss (1979) Case 1 is the model for units each rated by its own set of raters,
which is what a double-coded subset with raters drawn from a pool is when rater identity is
ignored. With a varying number of ratings per unit the one-way ANOVA uses the effective group
size ``k0`` (Searle 1971; Donner 1986).

Sources
-------
* Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
  reliability. *Psychological Bulletin*, 86, 420-428 (ICC(1,1), ICC(1,k)).
* Searle, S. R. (1971). *Linear Models*. Wiley, ch. 9 (unbalanced one-way ANOVA, ``k0``, the
  F-based interval for the intraclass correlation).
* Donner, A. (1986). A review of inference procedures for the intraclass correlation
  coefficient in the one-way random effects model. *International Statistical Review*, 54,
  67-82.
* Brennan, R. L. (2001). *Generalizability Theory*. Springer. Synthetic Data Set No. 2 (an
  i:p design, 10 persons x 8 items nested in persons) is the published example below.

Definitions (units with at least two ratings only; ``n`` units, ``N`` ratings, ``n_i`` ratings
of unit ``i``)::

    MSB = sum_i n_i (ybar_i - ybar)^2 / (n - 1)       MSW = sum_it (y_it - ybar_i)^2 / (N - n)
    k0 = (N - sum_i n_i^2 / N) / (n - 1)
    ICC(1) = (MSB - MSW) / (MSB + (k0 - 1) MSW)       ICC(1,k) = (MSB - MSW) / MSB
    F = MSB / MSW with (n - 1, N - n) df;  F_L = F / F_.975(n - 1, N - n),  F_U = F * F_.975(N - n, n - 1)
    ICC(1) in [(F_L - 1) / (F_L + k0 - 1), (F_U - 1) / (F_U + k0 - 1)];  ICC(1,k) in [1 - 1/F_L, 1 - 1/F_U]

On balanced data (every unit rated ``k`` times) ``k0 = k`` and these are the Shrout & Fleiss
ICC(1,1) and ICC(1,k) with the intervals R ``psych::ICC`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from annotate.stats.reliability_data import NotApplicable
from annotate.stats.reliability_design import LongRatings


@dataclass(frozen=True)
class OneWayIcc:
    """Unbalanced one-way ICC(1) and ICC(1,k) with Searle's F-based intervals.

    ``None`` marks a value that is undefined for the data; ``note`` says why. ``sigma2_unit``
    ``= (MSB - MSW) / k0`` and ``sigma2_within = MSW`` are the ANOVA variance components.
    """

    icc1: float | None
    icc1_ci95: tuple[float | None, float | None]
    icck: float | None
    icck_ci95: tuple[float | None, float | None]
    f_statistic: float | None
    df1: int
    df2: int
    p_value: float | None
    k0: float
    msb: float
    msw: float
    sigma2_unit: float
    sigma2_within: float
    n_units: int
    n_ratings: int
    note: str | None


def _bound(numerator: float, denominator: float) -> float | None:
    if denominator == 0 or not np.isfinite(numerator / denominator):
        return None
    return float(numerator / denominator)


def oneway_icc(data: LongRatings, confidence: float = 0.95) -> OneWayIcc:
    """ICC(1) and ICC(1,k) of the one-way random model on all units with two or more ratings.

    Parameters
    ----------
    data : LongRatings
        Rater ids are ignored (one-way model).
    confidence : float
        Coverage of the two-sided interval.

    Raises
    ------
    NotApplicable
        Fewer than two units have two or more ratings.

    Examples
    --------
    Shrout & Fleiss (1979), 6 targets x 4 judges (balanced, so these are ICC(1,1) and ICC(1,k);
    published .17 and .44, with F = 1.79, df 5 and 18, 95% CI -.133 to .72 as R psych prints):

    >>> import pandas as pd
    >>> from annotate.stats.reliability_design import long_ratings
    >>> sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> frame = pd.DataFrame([(i, j, s) for i, row in enumerate(sf) for j, s in enumerate(row)],
    ...                      columns=["unit", "rater", "score"])
    >>> r = oneway_icc(long_ratings(frame))
    >>> round(r.icc1, 3), round(r.icck, 3), round(r.f_statistic, 2), r.df1, r.df2, r.k0
    (0.166, 0.443, 1.79, 5, 18, 4.0)
    >>> round(r.icc1_ci95[0], 3), round(r.icc1_ci95[1], 2)
    (-0.133, 0.72)

    Brennan (2001) Synthetic Data Set No. 2 (i:p, 10 persons x 8 items): MS(p) = 6.9111,
    MS(i:p) = 2.0250, sigma2(p) = .6108 and E rho^2 = .71 for 8 items:

    >>> b2 = [[2, 6, 7, 5, 2, 5, 5, 5], [4, 5, 6, 7, 6, 7, 5, 7], [5, 5, 4, 6, 5, 4, 5, 5],
    ...       [5, 9, 8, 6, 5, 7, 7, 6], [4, 3, 5, 6, 4, 5, 6, 4], [4, 4, 4, 7, 6, 4, 7, 8],
    ...       [2, 6, 6, 5, 2, 7, 7, 5], [3, 4, 4, 5, 6, 6, 6, 4], [0, 5, 4, 5, 5, 5, 5, 3],
    ...       [6, 8, 7, 6, 6, 8, 8, 6]]
    >>> frame = pd.DataFrame([(p, f"p{p}i{i}", s) for p, row in enumerate(b2) for i, s in enumerate(row)],
    ...                      columns=["unit", "rater", "score"])
    >>> r = oneway_icc(long_ratings(frame))
    >>> round(r.msb, 4), round(r.msw, 4), round(r.sigma2_unit, 4), round(r.icck, 2)
    (6.9111, 2.025, 0.6108, 0.71)
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    n_i_all = data.ratings_per_unit
    multi = n_i_all >= 2
    n = int(multi.sum())
    if n < 2:
        raise NotApplicable(
            f"the one-way ICC needs at least two units with two or more ratings; {n} has. Double-code more units."
        )
    keep = multi[data.unit]
    unit = data.unit[keep]
    y = data.score[keep]
    y = y - y.mean()  # shift invariant; centring keeps the sums of squares accurate
    n_i = n_i_all[multi].astype(float)
    big_n = int(n_i.sum())
    sums = np.bincount(unit, weights=y, minlength=data.n_units)[multi]
    means = sums / n_i
    grand = float(y.sum() / big_n)
    ssb = float(np.sum(n_i * (means - grand) ** 2))
    within = y - np.bincount(unit, weights=y, minlength=data.n_units)[unit] / n_i_all[unit]
    ssw = float(np.sum(within**2))
    # A sum of squares at rounding level of the total is zero: unit means that are equal in exact
    # arithmetic must give MSB = 0 (ICC(1,k) undefined) whatever the scale of the scores.
    rounding = 1e-12 * (ssb + ssw)
    ssb, ssw = (0.0 if ssb <= rounding else ssb), (0.0 if ssw <= rounding else ssw)
    df1, df2 = n - 1, big_n - n
    msb, msw = ssb / df1, ssw / df2
    k0 = float((big_n - np.sum(n_i**2) / big_n) / df1)
    note = None
    icc1 = _bound(msb - msw, msb + (k0 - 1) * msw)
    icck = _bound(msb - msw, msb)
    f_stat = p_value = None
    icc1_ci: tuple[float | None, float | None] = (None, None)
    icck_ci: tuple[float | None, float | None] = (None, None)
    if msw > 0:
        f_stat = msb / msw
        p_value = float(sps.f.sf(f_stat, df1, df2))
        q = 1 - (1 - confidence) / 2
        f_low = f_stat / float(sps.f.ppf(q, df1, df2))
        f_high = f_stat * float(sps.f.ppf(q, df2, df1))
        icc1_ci = (_bound(f_low - 1, f_low + k0 - 1), _bound(f_high - 1, f_high + k0 - 1))
        icck_ci = (
            None if f_low <= 0 else float(1 - 1 / f_low),
            None if f_high <= 0 else float(1 - 1 / f_high),
        )
        if f_stat == 0:
            note = "every unit has the same mean score, so the average-measures interval is undefined"
    elif msb > 0:
        note = "the ratings of each unit agree exactly (no within-unit variance): F and its interval are undefined"
    else:
        note = "all scores are equal: the ICC is undefined"
    return OneWayIcc(
        icc1=icc1,
        icc1_ci95=icc1_ci,
        icck=icck,
        icck_ci95=icck_ci,
        f_statistic=None if f_stat is None else float(f_stat),
        df1=df1,
        df2=df2,
        p_value=p_value,
        k0=k0,
        msb=msb,
        msw=msw,
        sigma2_unit=(msb - msw) / k0,
        sigma2_within=msw,
        n_units=n,
        n_ratings=big_n,
        note=note,
    )
