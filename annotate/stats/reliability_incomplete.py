"""ICCs for incomplete crossed designs from REML variance components (ten Hove et al. 2022).

When raters are drawn from a pool, each unit is scored by some of them and no ANOVA table
exists. ten Hove, Jorgensen & van der Ark (2022) define the ICCs from the variance components
of the two-way random model (unit, rater, residual), estimated over every rating
(:func:`~annotate.stats.reliability_reml.fit_reml`)::

    ICC(A,1) = s2_u / (s2_u + s2_r + s2_e)          ICC(C,1) = s2_u / (s2_u + s2_e)
    ICC(A,k) = s2_u / (s2_u + (s2_r + s2_e) / k)    ICC(C,k) = s2_u / (s2_u + s2_e / k)

with ``k`` = k̂, the harmonic mean of the number of ratings per unit over all units. ICC(A,·)
(absolute agreement) counts rater severity as error, ICC(C,·) (consistency) does not. On a
complete design REML equals the ANOVA estimates whenever these are non-negative, and the four
values are Shrout & Fleiss's ICC(2,1), ICC(3,1), ICC(2,k), ICC(3,k) (McGraw & Wong's
ICC(A,1), ICC(C,1), ICC(A,k), ICC(C,k)).

With a cluster column (segments nested in films) the unit variance is ``s2_cluster + s2_unit``
from the nested fit: a segment's universe score includes its film's effect.

Confidence intervals are Monte Carlo intervals as ten Hove et al. recommend: variance
components are drawn from the asymptotic normal distribution of the REML estimates
(:meth:`~annotate.stats.reliability_reml.RemlFit.draws`; log scale by default), each draw gives
the ICCs, and the 2.5% and 97.5% quantiles of the draws are the bounds. The draws are seeded,
so a result is reproducible.

Sources
-------
* ten Hove, D., Jorgensen, T. D. & van der Ark, L. A. (2022). Updated guidelines on selecting
  an intraclass correlation coefficient for interrater reliability, with applications to
  incomplete observational designs. *Psychological Methods*, 27, 650-666.
* McGraw, K. O. & Wong, S. P. (1996). Forming inferences about some intraclass correlation
  coefficients. *Psychological Methods*, 1, 30-46.
* Shrout, P. E. & Fleiss, J. L. (1979). *Psychological Bulletin*, 86, 420-428.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from annotate.stats.reliability_design import FloatArray, LongRatings
from annotate.stats.reliability_reml import DrawScale, RemlFit, VarianceComponents, fit_reml

INCOMPLETE_FORMS: tuple[str, ...] = ("ICC(A,1)", "ICC(C,1)", "ICC(A,k)", "ICC(C,k)")


@dataclass(frozen=True)
class IccEstimate:
    """One ICC with its Monte Carlo interval; ``k`` is set for the average-measures forms."""

    name: str
    value: float | None
    ci95: tuple[float | None, float | None]
    k: float | None = None


@dataclass(frozen=True)
class IncompleteIccs:
    """ICC(A,1), ICC(C,1), ICC(A,k̂), ICC(C,k̂) for an incomplete (possibly nested) design."""

    forms: tuple[IccEstimate, ...]
    k: float
    unit_variance: float
    components: VarianceComponents
    n_draws: int
    seed: int
    scale: str
    note: str | None

    def __getitem__(self, name: str) -> IccEstimate:
        for form in self.forms:
            if form.name == name:
                return form
        raise KeyError(f"unknown ICC form {name!r}; use one of {list(INCOMPLETE_FORMS)}")


def icc_forms(
    unit: FloatArray | float, rater: FloatArray | float, residual: FloatArray | float, k: float
) -> dict[str, FloatArray]:
    """The four forms, vectorised over draws (NaN where a denominator is zero).

    Examples
    --------
    >>> {name: round(float(v), 4) for name, v in icc_forms(1.0, 0.25, 0.75, 2.0).items()}
    {'ICC(A,1)': 0.5, 'ICC(C,1)': 0.5714, 'ICC(A,k)': 0.6667, 'ICC(C,k)': 0.7273}
    """
    u, r, e = (np.asarray(x, dtype=float) for x in (unit, rater, residual))
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "ICC(A,1)": u / (u + r + e),
            "ICC(C,1)": u / (u + e),
            "ICC(A,k)": u / (u + (r + e) / k),
            "ICC(C,k)": u / (u + e / k),
        }


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def incomplete_iccs(
    data: LongRatings,
    *,
    n_draws: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    scale: DrawScale = "log",
    fit: RemlFit | None = None,
) -> IncompleteIccs:
    """ten Hove et al.'s ICCs with seeded Monte Carlo confidence intervals.

    Parameters
    ----------
    data : LongRatings
        Units with a single rating are used (they inform the variance components).
    n_draws : int
        Monte Carlo draws for the intervals.
    seed : int
        Seed of the draws.
    confidence : float
        Coverage of the two-sided interval.
    scale : {"log", "variance"}
        Scale of the normal approximation of the components (see ``RemlFit.draws``).
    fit : RemlFit, optional
        A fit of ``data`` to reuse; fitted here when omitted (nested when ``data`` has clusters).

    Raises
    ------
    NotApplicable
        The variance components cannot be separated (see ``fit_reml``).

    Examples
    --------
    Shrout & Fleiss (1979), 6 targets x 4 judges (complete: the published ICC(2,1) = .29,
    ICC(3,1) = .71, ICC(2,k) = .62, ICC(3,k) = .91):

    >>> import pandas as pd
    >>> from annotate.stats.reliability_design import long_ratings
    >>> sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> frame = pd.DataFrame([(i, j, s) for i, row in enumerate(sf) for j, s in enumerate(row)],
    ...                      columns=["unit", "rater", "score"])
    >>> iccs = incomplete_iccs(long_ratings(frame), seed=1)
    >>> [round(f.value, 2) for f in iccs.forms], iccs.k
    ([0.29, 0.71, 0.62, 0.91], 4.0)
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    fit = fit_reml(data) if fit is None else fit
    vc = fit.components
    n_i = data.ratings_per_unit
    k = float(data.n_units / np.sum(1.0 / n_i))
    unit_var = vc.unit + (vc.cluster or 0.0)
    point = icc_forms(unit_var, vc.rater, vc.residual, k)
    draws = fit.draws(n_draws, seed, scale)
    notes = [fit.note] if fit.note else []
    bounds: dict[str, tuple[float | None, float | None]] = dict.fromkeys(INCOMPLETE_FORMS, (None, None))
    if draws is not None:
        sampled = icc_forms(draws["unit"] + draws.get("cluster", 0.0), draws["rater"], draws["residual"], k)
        alpha = 1 - confidence
        for name, values in sampled.items():
            finite = values[np.isfinite(values)]
            if finite.size:
                low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
                bounds[name] = (float(low), float(high))
    forms = tuple(
        IccEstimate(name, _finite(float(point[name])), bounds[name], k if name.endswith("k)") else None)
        for name in INCOMPLETE_FORMS
    )
    return IncompleteIccs(
        forms=forms,
        k=k,
        unit_variance=float(unit_var),
        components=vc,
        n_draws=n_draws,
        seed=seed,
        scale=scale,
        note="; ".join(notes) or None,
    )
