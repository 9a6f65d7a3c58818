"""Vectorised unit-level bootstrap for the ICCs and Krippendorff's alpha.

Units are resampled with replacement (Efron & Tibshirani 1993, *An Introduction to the
Bootstrap*, ch. 13, percentile interval); raters stay fixed. Instead of looping over
resamples, each resample is a row of unit multiplicities ``W[b, i]`` (how often unit i was
drawn), so every resample's statistic comes from matrix products with per-unit sufficient
statistics:

* ICC (Shrout & Fleiss 1979 mean squares): per-unit row sum ``s_i``, sum of squares ``q_i``
  and the unit's score vector give ``G = W s``, ``sum y^2 = W q``, ``sum_i s_i^2 = W s^2``
  and rater totals ``W Y``; from these ``SSR``, ``SSC``, ``SSE`` and hence
  ``MSR``, ``MSC``, ``MSE``, ``MSW`` for all resamples at once.
* Krippendorff's alpha (Krippendorff 2011): each pairable unit's coincidence contribution
  ``o_u`` (q x q) is flattened; ``W @ o`` gives every resample's coincidence matrix.

ICC resamples only complete units (listwise deletion, as the point estimate); alpha resamples
pairable units (two or more ratings). Resamples where a statistic is undefined (zero
denominator) are left out of the percentile interval; ``n_valid`` says how many remained.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from annotate.stats.reliability_alpha import (
    LEVELS,
    Level,
    alpha_from_coincidences,
    unit_coincidences,
)
from annotate.stats.reliability_data import Ratings, ReliabilityInputError
from annotate.stats.reliability_icc import ICC_FORMS, complete_case_values, icc_from_mean_squares

MIN_RESAMPLES = 1000


@dataclass(frozen=True)
class BootstrapInterval:
    """Percentile interval; ``low``/``high`` are None when no resample was defined."""

    low: float | None
    high: float | None
    n_valid: int


@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap intervals keyed by ICC form (S&F names) and by alpha level."""

    n_resamples: int
    seed: int | None
    confidence: float
    icc: Mapping[str, BootstrapInterval] = field(default_factory=dict)
    krippendorff_alpha: Mapping[str, BootstrapInterval] = field(default_factory=dict)


def resample_multiplicities(rng: np.random.Generator, n_units: int, n_resamples: int) -> np.ndarray:
    """``(n_resamples, n_units)`` counts of each unit in each with-replacement resample."""
    draws = rng.integers(0, n_units, size=(n_resamples, n_units))
    flat = (draws + (np.arange(n_resamples) * n_units)[:, None]).ravel()
    return np.bincount(flat, minlength=n_resamples * n_units).reshape(n_resamples, n_units)


def _percentile(samples: np.ndarray, confidence: float) -> BootstrapInterval:
    valid = samples[np.isfinite(samples)]
    if valid.size == 0:
        return BootstrapInterval(None, None, 0)
    tail = (1 - confidence) / 2
    low, high = np.quantile(valid, [tail, 1 - tail])
    return BootstrapInterval(float(low), float(high), int(valid.size))


def bootstrap_icc_samples(ratings: Ratings, multiplicities: np.ndarray) -> dict[str, np.ndarray]:
    """Each resample's six ICCs from unit multiplicities over the complete units."""
    y = complete_case_values(ratings)
    n, k = y.shape
    y = y - y.mean()  # shift invariance; keeps the one-pass sums of squares accurate
    w = multiplicities.astype(float)
    row_sum = y.sum(axis=1)
    grand = w @ row_sum
    correction = grand**2 / (n * k)
    sst = w @ (y**2).sum(axis=1) - correction
    ssr = (w @ row_sum**2) / k - correction
    ssc = ((w @ y) ** 2).sum(axis=1) / n - correction
    sse = np.maximum(sst - ssr - ssc, 0.0)
    msr = ssr / (n - 1)
    msc = ssc / (k - 1)
    mse = sse / ((n - 1) * (k - 1))
    msw = (ssc + sse) / (n * (k - 1))
    return icc_from_mean_squares(msr, msc, mse, msw, n, k)


def bootstrap_alpha_samples(
    ratings: Ratings, multiplicities: np.ndarray, levels: Iterable[Level]
) -> dict[str, np.ndarray]:
    """Each resample's alpha per level from unit multiplicities over the pairable units."""
    o_u = unit_coincidences(ratings)
    q = o_u.shape[1]
    coincidences = (multiplicities.astype(float) @ o_u.reshape(o_u.shape[0], q * q)).reshape(-1, q, q)
    out: dict[str, np.ndarray] = {}
    for level in levels:
        values = ratings.category_values if level in ("interval", "ratio") else None
        out[level] = alpha_from_coincidences(coincidences, level, ratings.categories, values)
    return out


def bootstrap_intervals(
    ratings: Ratings,
    *,
    n_resamples: int = MIN_RESAMPLES,
    seed: int | None = None,
    icc_forms: Iterable[str] = (),
    alpha_levels: Iterable[Level] = (),
    confidence: float = 0.95,
) -> BootstrapResult:
    """Percentile bootstrap CIs (units resampled) for chosen ICC forms and alpha levels.

    Parameters
    ----------
    ratings : Ratings
    n_resamples : int
        At least 1000.
    seed : int, optional
        Seed of the ``numpy.random.Generator``; the same seed gives the same intervals.
    icc_forms : iterable of str
        Shrout & Fleiss names, e.g. ``("ICC(2,1)",)``; numeric scales only.
    alpha_levels : iterable of str
        Krippendorff alpha levels, e.g. ``("nominal", "interval")``.
    confidence : float

    Examples
    --------
    >>> from annotate.stats.reliability_data import ratings_from_wide
    >>> sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> boot = bootstrap_intervals(ratings_from_wide(sf), seed=1, icc_forms=["ICC(3,1)"],
    ...                            alpha_levels=["interval"])
    >>> ci = boot.icc["ICC(3,1)"]
    >>> ci.low < 0.715 < ci.high, boot.krippendorff_alpha["interval"].n_valid
    (True, 1000)
    """
    if int(n_resamples) != n_resamples or n_resamples < MIN_RESAMPLES:
        raise ReliabilityInputError(
            f"use at least {MIN_RESAMPLES} bootstrap resamples (got {n_resamples}); "
            "fewer make the percentile interval unstable"
        )
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    forms = list(dict.fromkeys(icc_forms))
    known = [name for name, _, _ in ICC_FORMS]
    for form in forms:
        if form not in known:
            raise ValueError(f"unknown ICC form {form!r}; use one of {known}")
    levels = list(dict.fromkeys(alpha_levels))
    for level in levels:
        if level not in LEVELS:
            raise ValueError(f"unknown alpha level {level!r}; use one of {list(LEVELS)}")
    rng = np.random.default_rng(seed)
    icc_intervals: dict[str, BootstrapInterval] = {}
    if forms:
        n_complete = complete_case_values(ratings).shape[0]
        samples = bootstrap_icc_samples(ratings, resample_multiplicities(rng, n_complete, int(n_resamples)))
        icc_intervals = {form: _percentile(samples[form], confidence) for form in forms}
    alpha_intervals: dict[str, BootstrapInterval] = {}
    if levels:
        n_pairable = int((ratings.present.sum(axis=1) >= 2).sum())
        samples = bootstrap_alpha_samples(ratings, resample_multiplicities(rng, n_pairable, int(n_resamples)), levels)
        alpha_intervals = {level: _percentile(samples[level], confidence) for level in levels}
    return BootstrapResult(int(n_resamples), seed, confidence, icc_intervals, alpha_intervals)
