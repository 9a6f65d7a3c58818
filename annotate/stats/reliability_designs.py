"""Reliability of an incomplete or nested rating design in one call (issue 14).

:func:`design_reliability` takes the long table of ratings (unit, rater, score, optionally the
cluster of each unit) and returns one :class:`DesignReliability` with

* ``design`` - who rated what (:mod:`~annotate.stats.reliability_design`);
* ``icc_oneway`` - unbalanced one-way ICC(1), ICC(1,k) (:mod:`~annotate.stats.reliability_oneway`);
* ``icc_incomplete`` - ICC(A,1), ICC(C,1), ICC(A,k̂), ICC(C,k̂) from REML variance components
  with seeded Monte Carlo CIs (:mod:`~annotate.stats.reliability_incomplete`);
* ``variance_components`` / ``reml`` - the REML G-study (:mod:`~annotate.stats.reliability_reml`);
  with a cluster column the nested model (cluster, unit within cluster, rater, residual);
* ``d_study`` - Phi and E rho^2 for the requested numbers of raters and units
  (:mod:`~annotate.stats.gstudy`);
* ``pairwise`` - Cohen's kappas and agreement per rater pair, averaged
  (:mod:`~annotate.stats.reliability_pairwise`);
* ``raters`` - each rater's severity (:mod:`~annotate.stats.severity`).

A block that does not apply to the data is ``None`` and ``notes[block]`` says why in words; a
block that is computed but partly undefined carries its own ``note`` (also copied to ``notes``).
:func:`design_reliability_to_json` gives the JSON blocks the command line prints, with ``None``
for every undefined or non-finite number.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from annotate.stats.gstudy import DStudy, d_study
from annotate.stats.reliability_data import NotApplicable
from annotate.stats.reliability_design import DesignDescription, describe_design, long_ratings
from annotate.stats.reliability_incomplete import IncompleteIccs, incomplete_iccs
from annotate.stats.reliability_oneway import OneWayIcc, oneway_icc
from annotate.stats.reliability_pairwise import PairwiseSummary, pairwise_agreement
from annotate.stats.reliability_reml import DrawScale, RemlFit, VarianceComponents, fit_reml
from annotate.stats.severity import RaterSeverity, rater_severity

BLOCKS: tuple[str, ...] = (
    "design",
    "icc_oneway",
    "icc_incomplete",
    "variance_components",
    "d_study",
    "pairwise",
    "raters",
)


@dataclass(frozen=True)
class DesignReliability:
    """Every reliability statistic of an (in)complete, possibly nested, design.

    ``notes`` maps a block name (see ``BLOCKS``) to the reason it is missing or partly undefined.
    """

    design: DesignDescription
    icc_oneway: OneWayIcc | None
    icc_incomplete: IncompleteIccs | None
    variance_components: VarianceComponents | None
    reml: RemlFit | None
    d_study: DStudy | None
    pairwise: PairwiseSummary
    raters: tuple[RaterSeverity, ...]
    notes: dict[str, str]
    seed: int
    n_draws: int
    categories: tuple[float, ...] | None


def design_reliability(
    frame: pd.DataFrame,
    *,
    unit: str = "unit",
    rater: str = "rater",
    score: str = "score",
    cluster: str | None = None,
    categories: Iterable[float] | None = None,
    d_raters: Sequence[int] = (1, 2, 3, 4),
    d_units: Sequence[int] = (1,),
    seed: int = 0,
    n_draws: int = 1000,
    confidence: float = 0.95,
    scale: DrawScale = "log",
) -> DesignReliability:
    """All reliability statistics of a long table of ratings.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per rating.
    unit, rater, score : str
        Column names.
    cluster : str, optional
        Column with the cluster of each unit (segments nested in films); fits the nested model.
    categories : iterable of numbers, optional
        Declared scale (for kappa and agreement); ``None`` for continuous scores.
    d_raters, d_units : sequence of int
        D-study numbers of raters ``n`` and of units per cluster ``m``.
    seed, n_draws : int
        Seed and number of Monte Carlo draws for the ICC intervals.
    confidence : float
        Coverage of the intervals.
    scale : {"log", "variance"}
        Scale of the normal approximation in the Monte Carlo draws.

    Raises
    ------
    DesignInputError
        The table cannot be analysed (see :func:`~annotate.stats.reliability_design.long_ratings`).

    Examples
    --------
    >>> frame = pd.DataFrame({"unit": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6],
    ...                       "rater": ["A", "B", "A", "C", "B", "C", "A", "B", "B", "C", "A"],
    ...                       "score": [4, 5, 2, 2, 6, 7, 3, 4, 5, 5, 1]})
    >>> result = design_reliability(frame, categories=range(1, 8), seed=7)
    >>> result.design.n_units_multi, result.pairwise.n_pairs, round(result.icc_oneway.icc1, 3)
    (5, 5, 0.899)
    """
    data = long_ratings(frame, unit=unit, rater=rater, score=score, cluster=cluster, categories=categories)
    notes: dict[str, str] = {}
    design = describe_design(data)

    one_way: OneWayIcc | None = None
    try:
        one_way = oneway_icc(data, confidence)
        if one_way.note:
            notes["icc_oneway"] = one_way.note
    except NotApplicable as why:
        notes["icc_oneway"] = str(why)

    fit: RemlFit | None = None
    iccs: IncompleteIccs | None = None
    study: DStudy | None = None
    try:
        fit = fit_reml(data)
    except NotApplicable as why:
        for block in ("icc_incomplete", "variance_components", "d_study"):
            notes[block] = str(why)
    if fit is not None:
        iccs = incomplete_iccs(data, n_draws=n_draws, seed=seed, confidence=confidence, scale=scale, fit=fit)
        if iccs.note:
            notes["icc_incomplete"] = iccs.note
        if fit.note:
            notes["variance_components"] = fit.note
        if not fit.converged:
            notes["variance_components"] = "; ".join(
                filter(None, [notes.get("variance_components"), "the REML optimiser did not report convergence"])
            )
        study = d_study(fit.components, d_raters, d_units)
        if study.note:
            notes["d_study"] = study.note

    pairwise = pairwise_agreement(data)
    if pairwise.note:
        notes["pairwise"] = pairwise.note
    severity = rater_severity(data, confidence)
    alone = [str(s.rater) for s in severity if s.n == 0]
    if alone:
        notes["raters"] = f"rater(s) {', '.join(alone)} share no unit with another rater: no severity"
    return DesignReliability(
        design=design,
        icc_oneway=one_way,
        icc_incomplete=iccs,
        variance_components=None if fit is None else fit.components,
        reml=fit,
        d_study=study,
        pairwise=pairwise,
        raters=severity,
        notes=notes,
        seed=seed,
        n_draws=n_draws,
        categories=data.categories,
    )


def _num(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _ci(bounds: tuple[float | None, float | None] | None) -> list[float | None]:
    if bounds is None:
        return [None, None]
    return [_num(bounds[0]), _num(bounds[1])]


def _json_id(value: Hashable) -> str | int | float | bool | None:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def design_reliability_to_json(result: DesignReliability) -> dict[str, Any]:
    """The JSON blocks of the reliability report (undefined numbers are ``None``).

    Keys: ``design``, ``icc_oneway``, ``icc_incomplete``, ``variance_components``, ``d_study``,
    ``pairwise``, ``raters``. A block that does not apply is ``None``; an interval is always a
    two-element list ``[lo, hi]`` whose bounds may be ``None``.

    Examples
    --------
    >>> frame = pd.DataFrame({"unit": [1, 1, 2, 2, 3, 3, 4, 4], "rater": ["A", "B", "A", "B", "B", "C", "A", "C"],
    ...                       "score": [4, 5, 2, 2, 6, 7, 3, 4]})
    >>> out = design_reliability_to_json(design_reliability(frame, categories=range(1, 8)))
    >>> list(out), out["design"]
    (['design', 'icc_oneway', 'icc_incomplete', 'variance_components', 'd_study', 'pairwise', 'raters'], \
{'complete': False, 'n_units_multi': 4, 'ratings_per_unit': {'min': 2, 'max': 2, 'mean': 2.0}, 'n_rater_pairs': 3})
    """
    d = result.design
    out: dict[str, Any] = {
        "design": {
            "complete": d.complete,
            "n_units_multi": d.n_units_multi,
            "ratings_per_unit": {
                "min": d.ratings_per_unit_min,
                "max": d.ratings_per_unit_max,
                "mean": _num(d.ratings_per_unit_mean),
            },
            "n_rater_pairs": d.n_rater_pairs,
        }
    }
    ow = result.icc_oneway
    out["icc_oneway"] = (
        None
        if ow is None
        else {
            "ICC(1)": {
                "value": _num(ow.icc1),
                "ci95": _ci(ow.icc1_ci95),
                "F": _num(ow.f_statistic),
                "df1": ow.df1,
                "df2": ow.df2,
                "p": _num(ow.p_value),
                "k0": _num(ow.k0),
            },
            "ICC(1,k)": {"value": _num(ow.icck), "ci95": _ci(ow.icck_ci95)},
        }
    )
    iccs = result.icc_incomplete
    if iccs is None:
        out["icc_incomplete"] = None
    else:
        block: dict[str, object] = {}
        for form in iccs.forms:
            entry: dict[str, object] = {"value": _num(form.value), "ci95": _ci(form.ci95)}
            if form.k is not None:
                entry["k"] = _num(form.k)
            block[form.name] = entry
        out["icc_incomplete"] = block
    vc = result.variance_components
    out["variance_components"] = None if vc is None else {name: _num(v) for name, v in vc.as_dict().items()}
    ds = result.d_study
    out["d_study"] = (
        None
        if ds is None
        else {
            "raters": list(ds.raters),
            "units": list(ds.units),
            "phi": [[_num(v) for v in row] for row in ds.phi],
            "g_relative": [[_num(v) for v in row] for row in ds.g_relative],
        }
    )
    pw = result.pairwise
    out["pairwise"] = {
        "cohen_kappa": {
            "unweighted": _num(pw.kappa_unweighted),
            "linear": _num(pw.kappa_linear),
            "quadratic": _num(pw.kappa_quadratic),
        },
        "agreement": {"exact": _num(pw.exact), "within_1": _num(pw.within_1)},
        "n_pairs": pw.n_pairs,
    }
    out["raters"] = [
        {"rater": _json_id(s.rater), "n": s.n, "mean_deviation": _num(s.mean_deviation), "ci95": _ci(s.ci95)}
        for s in result.raters
    ]
    return out
