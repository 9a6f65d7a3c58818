"""Baseline-adjusted between-arm difference (ANCOVA) and within-arm paired change.

Sources
-------
* ANCOVA: the follow-up score regressed by ordinary least squares on an arm indicator
  (1 = treatment, 0 = control), the baseline score and any further covariates,
  ``Y_post = beta0 + beta1 arm + beta2 Y_baseline [+ gamma' z] + e``; ``beta1`` is the
  adjusted difference with its *t*-based 95 % CI and *p* (Vickers, A. J. & Altman, D. G.
  (2001). Analysing controlled trials with baseline and follow up measurements. *BMJ*, 323,
  1123-1124; EMA (2015) *Guideline on adjustment for baseline covariates in clinical trials*,
  EMA/CHMP/295050/2013). Fitted with ``statsmodels`` OLS (Seabold & Perktold 2010);
  complete cases only (participants missing the outcome, the baseline or a covariate are left
  out and ``n`` counts those used).
* Paired change: differences ``D_i = after_i - before_i`` over participants with both
  scores; mean change with the Student *t* 95 % CI and the paired *t* test
  (``t = mean(D) / (s_D / sqrt(n))``, ``df = n - 1``; identical to
  ``scipy.stats.ttest_rel(after, before)``), and Cohen's ``d_z = mean(D) / s_D``
  (Cohen, J. (1988). *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed.,
  eq. 2.3.5; Lakens, D. (2013). *Front Psychol*, 4, 863, eq. 6).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm
from scipy import stats as sps

from annotate.stats.effects_input import EffectsInputError, finite_or_none, score_array


@dataclass(frozen=True)
class AncovaResult:
    """Adjusted treatment - control difference ``beta1`` from the ANCOVA.

    ``n`` is the number of complete cases used. The estimate fields are ``None`` when the
    model cannot be estimated (an arm absent among complete cases, a collinear design, or no
    residual degrees of freedom).
    """

    difference: float | None
    se: float | None
    ci95_low: float | None
    ci95_high: float | None
    t: float | None
    p_value: float | None
    n: int
    df_resid: int | None
    n_covariates: int


def _indicator(values: Sequence[bool | int] | np.ndarray) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise EffectsInputError(f"treated must be one-dimensional; got shape {array.shape}")
    if array.dtype.kind == "b":
        return array.astype(float)
    try:
        numeric = array.astype(float)
    except (TypeError, ValueError) as exc:
        raise EffectsInputError("treated must be True/False or 1/0 for each participant") from exc
    if not np.isin(numeric, (0.0, 1.0)).all():
        raise EffectsInputError("treated must be True/False or 1/0 for each participant")
    return numeric


def ancova_difference(
    outcome: Sequence[float | None] | np.ndarray,
    treated: Sequence[bool | int] | np.ndarray,
    baseline: Sequence[float | None] | np.ndarray,
    covariates: np.ndarray | Sequence[Sequence[float | None]] | None = None,
) -> AncovaResult:
    """Baseline-adjusted difference by ANCOVA (``outcome ~ arm + baseline [+ covariates]``).

    Parameters
    ----------
    outcome : sequence of float or None
        Follow-up score per participant (NaN/None = missing).
    treated : sequence of bool or 0/1
        1 for the treatment arm, 0 for the control arm.
    baseline : sequence of float or None
        Baseline score per participant.
    covariates : array of shape (n, k), optional
        Further numeric covariates (code categorical ones as 0/1 dummies first).

    Returns
    -------
    AncovaResult

    Examples
    --------
    >>> r = ancova_difference(outcome=[6, 7, 8, 9, 4, 5, 5, 6],
    ...                       treated=[1, 1, 1, 1, 0, 0, 0, 0],
    ...                       baseline=[4, 5, 6, 6, 4, 4, 5, 6])
    >>> round(r.difference, 4), r.n, r.df_resid
    (2.0, 8, 5)
    """
    y = score_array(outcome, "outcome")
    arm = _indicator(treated)
    base = score_array(baseline, "baseline")
    if not (y.size == arm.size == base.size):
        raise EffectsInputError(
            f"outcome, treated and baseline need one value per participant; got lengths "
            f"{y.size}, {arm.size} and {base.size}"
        )
    columns = [np.ones_like(y), arm, base]
    n_covariates = 0
    if covariates is not None:
        matrix = np.asarray(covariates, dtype=object)
        if matrix.ndim == 1:
            matrix = matrix.reshape(-1, 1)
        if matrix.ndim != 2 or matrix.shape[0] != y.size:
            raise EffectsInputError(
                f"covariates must have one row per participant ({y.size}); got shape {matrix.shape}"
            )
        n_covariates = matrix.shape[1]
        columns += [score_array(matrix[:, k], f"covariate {k + 1}") for k in range(n_covariates)]
    design = np.column_stack(columns)
    complete = ~np.isnan(y) & ~np.isnan(design).any(axis=1)
    x_used, y_used = design[complete], y[complete]
    n = int(complete.sum())
    df_resid = n - design.shape[1]
    undefined = AncovaResult(None, None, None, None, None, None, n, None, n_covariates)
    if df_resid < 1 or np.linalg.matrix_rank(x_used) < design.shape[1]:
        return undefined
    fit = sm.OLS(y_used, x_used).fit()
    low, high = fit.conf_int(alpha=0.05)[1]
    se = finite_or_none(fit.bse[1])
    if not se:
        # A perfect fit (zero residual variance) gives no interval or test.
        return AncovaResult(float(fit.params[1]), se, None, None, None, None, n, df_resid, n_covariates)
    return AncovaResult(
        difference=float(fit.params[1]),
        se=se,
        ci95_low=float(low),
        ci95_high=float(high),
        t=finite_or_none(fit.tvalues[1]),
        p_value=finite_or_none(fit.pvalues[1]),
        n=n,
        df_resid=df_resid,
        n_covariates=n_covariates,
    )


@dataclass(frozen=True)
class PairedChange:
    """Within-arm change ``after - before`` over complete pairs.

    ``mean_change`` is ``None`` without pairs; the SD, interval, *t*, *p* and ``cohens_dz``
    need at least two pairs, and *t*, *p* and ``cohens_dz`` also a non-zero SD of the changes
    (when every change is equal the interval collapses to ``[mean_change, mean_change]``).
    """

    n_pairs: int
    mean_change: float | None
    sd_change: float | None
    ci95_low: float | None
    ci95_high: float | None
    t: float | None
    df: int | None
    p_value: float | None
    cohens_dz: float | None


def paired_change(
    before: Sequence[float | None] | np.ndarray, after: Sequence[float | None] | np.ndarray
) -> PairedChange:
    """Mean change with 95 % CI, paired *t* test and Cohen's ``d_z``.

    Parameters
    ----------
    before, after : sequence of float or None
        Scores of the same participants in the same order; a pair with a missing score on
        either side is left out.

    Returns
    -------
    PairedChange

    Examples
    --------
    >>> r = paired_change(before=[3, 4, 5, 5, None], after=[5, 5, 6, 8, 7])
    >>> r.n_pairs, r.mean_change, round(r.ci95_low, 3), round(r.p_value, 4), round(r.cohens_dz, 3)
    (4, 1.75, 0.227, 0.0354, 1.828)
    """
    x0 = score_array(before, "before")
    x1 = score_array(after, "after")
    if x0.size != x1.size:
        raise EffectsInputError(f"before and after must list the same participants; got {x0.size} and {x1.size} scores")
    changes = (x1 - x0)[~np.isnan(x0) & ~np.isnan(x1)]
    n = int(changes.size)
    if n == 0:
        return PairedChange(0, None, None, None, None, None, None, None, None)
    mean = float(changes.mean())
    if n < 2:
        return PairedChange(n, mean, None, None, None, None, None, None, None)
    sd = float(changes.std(ddof=1))
    df = n - 1
    half = float(sps.t.ppf(0.975, df)) * sd / math.sqrt(n)
    if sd == 0:
        return PairedChange(n, mean, 0.0, mean, mean, None, df, None, None)
    t = mean / (sd / math.sqrt(n))
    p = float(2 * sps.t.sf(abs(t), df))
    return PairedChange(n, mean, sd, mean - half, mean + half, t, df, p, mean / sd)


__all__ = ["AncovaResult", "PairedChange", "ancova_difference", "paired_change"]
