"""Intraclass correlation coefficients: the six Shrout & Fleiss forms with exact F-based CIs.

Sources
-------
* Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
  reliability. *Psychological Bulletin*, 86, 420-428 (forms ICC(1,1) ... ICC(3,k)).
* McGraw, K. O. & Wong, S. P. (1996). Forming inferences about some intraclass correlation
  coefficients. *Psychological Methods*, 1, 30-46, and the correction (1996), 1, 390
  (names ICC(1), ICC(A,1), ICC(C,1), ICC(k), ICC(A,k), ICC(C,k); F tests and the confidence
  intervals, with the erratum's approximate df ``v`` for ICC(A,1)).
* The CIs are computed exactly as R ``psych::ICC`` (Revelle) and ``irr::icc`` do; the
  ICC(A,k) interval is the Spearman-Brown step-up of the ICC(A,1) bounds, as in psych.

Symbols follow the papers: two-way ANOVA of the n x k complete-case matrix with
``MSR`` (rows = units/targets), ``MSC`` (columns = raters/judges), ``MSE`` (residual) and
``MSW = (SSC + SSE) / (n (k - 1))`` (within units, the one-way model).
Units with any missing rating are dropped (listwise, as psych, irr and pingouin do).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from annotate.stats.reliability_data import MISSING, NotApplicable, Ratings

ICC_FORMS: tuple[tuple[str, str, str], ...] = (
    ("ICC(1,1)", "ICC(1)", "one-way random, single rater, absolute agreement"),
    ("ICC(2,1)", "ICC(A,1)", "two-way random, single rater, absolute agreement"),
    ("ICC(3,1)", "ICC(C,1)", "two-way mixed, single rater, consistency"),
    ("ICC(1,k)", "ICC(k)", "one-way random, mean of k raters, absolute agreement"),
    ("ICC(2,k)", "ICC(A,k)", "two-way random, mean of k raters, absolute agreement"),
    ("ICC(3,k)", "ICC(C,k)", "two-way mixed, mean of k raters, consistency"),
)
"""(Shrout & Fleiss name, McGraw & Wong name, model) for each form, in output order."""


@dataclass(frozen=True)
class IccResult:
    """One ICC form. ``None`` where the statistic is undefined (a zero denominator)."""

    form: str
    mcgraw_wong: str
    model: str
    value: float | None
    ci95_low: float | None
    ci95_high: float | None
    f_statistic: float | None
    df1: int
    df2: int
    p_value: float | None
    n_units: int
    n_raters: int


@dataclass(frozen=True)
class IccTable:
    """All six forms plus the ANOVA mean squares they come from."""

    forms: tuple[IccResult, ...]
    msr: float
    msc: float
    mse: float
    msw: float
    n_units: int
    n_raters: int

    def __getitem__(self, name: str) -> IccResult:
        for result in self.forms:
            if name in (result.form, result.mcgraw_wong):
                return result
        raise KeyError(f"unknown ICC form {name!r}; use one of {[f[0] for f in ICC_FORMS]}")


def complete_case_values(ratings: Ratings) -> np.ndarray:
    """``(n, k)`` float matrix of the units rated by every rater (numeric scales only)."""
    complete = (ratings.codes != MISSING).all(axis=1)
    values: np.ndarray = ratings.values[complete]
    if values.shape[0] < 2:
        raise NotApplicable(
            f"ICC needs at least two units scored by all {ratings.n_raters} raters; "
            f"only {values.shape[0]} are complete. Add double-coded units or drop raters."
        )
    return values


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 or not np.isfinite(denominator) else numerator / denominator


def _mean_squares(y: np.ndarray) -> tuple[float, float, float, float]:
    n, k = y.shape
    y = y - y.mean()  # ICCs are shift invariant; centring keeps sums of squares accurate
    ssr = k * float(np.sum(y.mean(axis=1) ** 2))
    ssc = n * float(np.sum(y.mean(axis=0) ** 2))
    sst = float(np.sum(y**2))
    sse = max(sst - ssr - ssc, 0.0)
    msr = ssr / (n - 1)
    msc = ssc / (k - 1)
    mse = sse / ((n - 1) * (k - 1))
    msw = (ssc + sse) / (n * (k - 1))
    return msr, msc, mse, msw


def intraclass_correlations(ratings: Ratings, confidence: float = 0.95) -> IccTable:
    """All six Shrout & Fleiss ICCs with F test and exact confidence interval.

    Parameters
    ----------
    ratings : Ratings
        Numeric scale; units with a missing rating are left out (``n_units`` says how many
        were used).
    confidence : float
        Coverage of the two-sided interval (0.95 gives the usual 95% CI).

    Returns
    -------
    IccTable
        Index it by either name, e.g. ``table["ICC(2,1)"]`` or ``table["ICC(A,1)"]``.

    Raises
    ------
    NotApplicable
        Text categories, or fewer than two complete units.

    Examples
    --------
    Shrout & Fleiss (1979), 6 targets x 4 judges:

    >>> from annotate.stats.reliability_data import ratings_from_wide
    >>> sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> table = intraclass_correlations(ratings_from_wide(sf))
    >>> [round(r.value, 2) for r in table.forms]
    [0.17, 0.29, 0.71, 0.44, 0.62, 0.91]
    >>> r = table["ICC(A,1)"]
    >>> round(r.ci95_low, 3), round(r.ci95_high, 2), round(r.f_statistic, 2), r.df1, r.df2
    (0.019, 0.76, 11.03, 5, 15)
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    y = complete_case_values(ratings)
    n, k = y.shape
    msr, msc, mse, msw = _mean_squares(y)
    q = 1 - (1 - confidence) / 2
    df_n, df_w, df_e = n - 1, n * (k - 1), (n - 1) * (k - 1)

    # The point estimates come from the one statement of the six formulas (shared with the bootstrap).
    arrays = icc_from_mean_squares(np.array([msr]), np.array([msc]), np.array([mse]), np.array([msw]), n, k)
    point = {name: float(v[0]) if np.isfinite(v[0]) else None for name, v in arrays.items()}
    icc1, icc2, icc3 = point["ICC(1,1)"], point["ICC(2,1)"], point["ICC(3,1)"]
    icc1k, icc2k, icc3k = point["ICC(1,k)"], point["ICC(2,k)"], point["ICC(3,k)"]

    f1 = _ratio(msr, msw)
    f3 = _ratio(msr, mse)
    p1 = None if f1 is None else float(sps.f.sf(f1, df_n, df_w))
    p3 = None if f3 is None else float(sps.f.sf(f3, df_n, df_e))

    Bounds = tuple[float | None, float | None]

    def one_way_bounds(f_obs: float | None, df_den: int) -> tuple[Bounds, Bounds]:
        if f_obs is None:
            return (None, None), (None, None)
        f_low = f_obs / sps.f.ppf(q, df_n, df_den)
        f_high = f_obs * sps.f.ppf(q, df_den, df_n)
        single = (_ratio(f_low - 1, f_low + k - 1), _ratio(f_high - 1, f_high + k - 1))
        # F = 0 (every unit has the same mean) leaves the average-measures bounds undefined.
        average: Bounds = (None if f_low <= 0 else 1 - 1 / f_low, None if f_high <= 0 else 1 - 1 / f_high)
        return single, average

    ci1, ci1k = one_way_bounds(f1, df_w)
    ci3, ci3k = one_way_bounds(f3, df_e)
    ci2: Bounds = (None, None)
    ci2k: Bounds = (None, None)
    v = None
    if icc2 is not None and mse > 0:
        # McGraw & Wong (1996) erratum: Satterthwaite-type df v for the ICC(A,1) interval.
        f_j = msc / mse
        a = n * (1 + (k - 1) * icc2) - k * icc2
        v = _ratio(df_e * (k * icc2 * f_j + a) ** 2, df_n * k**2 * icc2**2 * f_j**2 + a**2)
    if v:  # v is undefined (0/0) when MSR = MSC = 0; so is the interval
        f_upper = sps.f.ppf(q, n - 1, v)
        f_lower = sps.f.ppf(q, v, n - 1)
        spread = k * msc + (k * n - k - n) * mse
        low = n * (msr - f_upper * mse) / (f_upper * spread + n * msr)
        high = n * (f_lower * msr - mse) / (spread + n * f_lower * msr)
        ci2 = (float(low), float(high))
        # Spearman–Brown step-up; a bound at or below -1/(k-1) has no average-measures value.
        lo_k, hi_k = (None if 1 + b * (k - 1) <= 0 else float(b * k / (1 + b * (k - 1))) for b in (low, high))
        ci2k = (lo_k, hi_k)

    rows = (
        (icc1, ci1, f1, df_w, p1),
        (icc2, ci2, f3, df_e, p3),
        (icc3, ci3, f3, df_e, p3),
        (icc1k, ci1k, f1, df_w, p1),
        (icc2k, ci2k, f3, df_e, p3),
        (icc3k, ci3k, f3, df_e, p3),
    )
    forms = tuple(
        IccResult(
            form=name,
            mcgraw_wong=mw,
            model=model,
            value=None if value is None else float(value),
            ci95_low=None if ci[0] is None else float(ci[0]),
            ci95_high=None if ci[1] is None else float(ci[1]),
            f_statistic=None if f_obs is None else float(f_obs),
            df1=df_n,
            df2=df_den,
            p_value=p,
            n_units=n,
            n_raters=k,
        )
        for (name, mw, model), (value, ci, f_obs, df_den, p) in zip(ICC_FORMS, rows, strict=True)
    )
    return IccTable(forms, msr, msc, mse, msw, n, k)


def icc_from_mean_squares(
    msr: np.ndarray, msc: np.ndarray, mse: np.ndarray, msw: np.ndarray, n: int, k: int
) -> dict[str, np.ndarray]:
    """Vectorised point estimates of the six forms (NaN where a denominator is zero).

    Used by the bootstrap, where NaN marks an undefined resample internally.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "ICC(1,1)": (msr - msw) / (msr + (k - 1) * msw),
            "ICC(2,1)": (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n),
            "ICC(3,1)": (msr - mse) / (msr + (k - 1) * mse),
            "ICC(1,k)": (msr - msw) / msr,
            "ICC(2,k)": (msr - mse) / (msr + (msc - mse) / n),
            "ICC(3,k)": (msr - mse) / msr,
        }
