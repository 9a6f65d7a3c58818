"""Planning a reliability study: how many units to double-code.

Three questions, each answered by a :class:`SamplePlan` (``n_units``, ``method`` and the inputs):

* **Precision** (Bonett 2002): the number of units for a 95% CI of an ICC of expected value
  ``rho`` with ``k`` ratings per unit to have width ``w``::

      n = 8 z^2 (1 - rho)^2 (1 + (k - 1) rho)^2 / (k (k - 1) w^2) + 1,   rounded up.

  Bonett notes the approximation is low for ``k = 2`` and ``rho >= .7``; the optional
  adjustment adds ``5 rho`` there (as R ``presize::prec_icc`` does).
* **Assurance** (power of the lower bound): the probability that the lower limit of the 95% CI
  exceeds a threshold ``rho0`` when the true ICC is ``rho``, and the smallest ``n`` that
  reaches a target assurance. For the one-way model (ICC(1)) and the consistency ICC(C,1) of a
  complete two-way design the statistic ``F = MS_between / MS_error`` is exactly
  ``(1 + (k - 1) rho) / (1 - rho)`` times an ``F(n - 1, df2)`` variable (``df2 = n (k - 1)``
  one-way, ``(n - 1)(k - 1)`` two-way), and the lower limit exceeds ``rho0`` exactly when
  ``F / F_.975 > (1 + (k - 1) rho0) / (1 - rho0)``. The assurance is therefore computed exactly
  (no simulation); it is the power of the exact F test of ``H0: rho <= rho0`` at one-sided level
  .025 (Donner & Eliasziw 1987; the same target as Zou 2012's assurance for the lower limit).
  For ICC(A,1) and incomplete designs it is an approximation (ICC(A,1) <= ICC(C,1)).
* **Kappa** (Donner & Eliasziw 1992): two raters, a binary rating with prevalence ``pi``, testing
  ``H0: kappa = kappa0`` against ``kappa1`` at two-sided level ``alpha`` with the given power,
  by their goodness-of-fit approach: with cell probabilities of (both positive, discordant,
  both negative) ``P(k) = (pi^2 + k pi (1 - pi), 2 pi (1 - pi)(1 - k), (1 - pi)^2 + k pi (1 - pi))``,

      n = (z_{1 - alpha/2} + z_{power})^2 / sum_l (P_l(kappa1) - P_l(kappa0))^2 / P_l(kappa0),

  rounded up (as R ``kappaSize::PowerBinary``).

Sources
-------
* Bonett, D. G. (2002). Sample size requirements for estimating intraclass correlations with
  desired precision. *Statistics in Medicine*, 21, 1331-1335.
* Donner, A. & Eliasziw, M. (1987). Sample size requirements for reliability studies.
  *Statistics in Medicine*, 6, 441-448.
* Zou, G. Y. (2012). Sample size formulas for estimating intraclass correlation coefficients
  with precision and assurance. *Statistics in Medicine*, 31, 3972-3981.
* Donner, A. & Eliasziw, M. (1992). A goodness-of-fit approach to inference procedures for
  the kappa statistic: confidence interval construction, significance-testing and sample
  size estimation. *Statistics in Medicine*, 11, 1511-1519.
* Shoukri, M. M., Asyali, M. H. & Donner, A. (2004). Sample size requirements for the design
  of reliability study: review and new results. *Statistical Methods in Medical Research*, 13,
  251-271.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

from scipy import stats as sps

from annotate.stats.reliability_design import DesignInputError

AssuranceModel = Literal["oneway", "consistency"]


class PlanningInputError(DesignInputError):
    """A planning input is out of range; the message says which and what is allowed."""


@dataclass(frozen=True)
class SamplePlan:
    """Number of units a reliability study needs, the method and the inputs it used.

    ``n_exact`` is the unrounded formula value (for the closed forms) and ``achieved`` the
    precision (CI width), assurance or power reached at ``n_units``.
    """

    n_units: int
    method: str
    inputs: dict[str, float | int | bool | str]
    n_exact: float | None
    achieved: float | None
    note: str | None


def _proportion(value: float, name: str, *, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not low < float(value) < high:
        raise PlanningInputError(f"{name} must be a number between {low:g} and {high:g} (exclusive), got {value!r}")
    return float(value)


def _raters(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 2:
        raise PlanningInputError(f"the number of ratings per unit k must be a whole number of at least 2, got {k!r}")
    return int(k)


def _z(confidence: float) -> float:
    return float(sps.norm.ppf(1 - (1 - _proportion(confidence, "confidence")) / 2))


def bonett_width(rho: float, k: int, n_units: int, confidence: float = 0.95) -> float:
    """Expected CI width of an ICC with ``n_units`` units (Bonett 2002, solved for w).

    Examples
    --------
    R ``presize::prec_icc(rho = .5, k = 3, n = 50)`` gives a width of 0.3233102:

    >>> round(bonett_width(0.5, 3, 50), 7)
    0.3233102
    """
    rho = _proportion(rho, "the expected ICC rho", low=-1.0)
    k = _raters(k)
    if isinstance(n_units, bool) or not isinstance(n_units, numbers.Integral) or n_units < 2:
        raise PlanningInputError(f"n_units must be a whole number of at least 2, got {n_units!r}")
    z = _z(confidence)
    return float(math.sqrt(8) * z * (1 - rho) * (1 + (k - 1) * rho) / math.sqrt(k * (k - 1) * (n_units - 1)))


def bonett_sample_size(
    rho: float, k: int, width: float, confidence: float = 0.95, small_k_adjustment: bool = False
) -> SamplePlan:
    """Units needed for an ICC confidence interval of total width ``width`` (Bonett 2002).

    Parameters
    ----------
    rho : float
        Expected ICC.
    k : int
        Ratings per unit.
    width : float
        Desired full width of the interval.
    confidence : float
        Confidence level of the interval.
    small_k_adjustment : bool
        Add ``5 rho`` when ``k = 2`` and ``rho >= .7`` (Bonett's suggested correction).

    Examples
    --------
    Bonett's (2002) example, rho = .85, k = 4, w = .2, needs 20 units; R ``ICC::Nest`` gives
    101 for rho = .7, k = 2, w = .2:

    >>> bonett_sample_size(0.85, 4, 0.2).n_units, bonett_sample_size(0.7, 2, 0.2).n_units
    (20, 101)
    """
    rho = _proportion(rho, "the expected ICC rho", low=-1.0)
    k = _raters(k)
    width = _proportion(width, "the CI width", high=2.0)
    z = _z(confidence)
    n = 8 * z**2 * (1 - rho) ** 2 * (1 + (k - 1) * rho) ** 2 / (k * (k - 1) * width**2) + 1
    note = None
    if small_k_adjustment and k == 2 and rho >= 0.7:
        n += 5 * rho
        note = "5 rho added for k = 2 and rho >= .7 (Bonett 2002)"
    n_units = max(math.ceil(n - 1e-9), 2)
    return SamplePlan(
        n_units=n_units,
        method="bonett2002",
        inputs={"rho": rho, "k": k, "width": width, "confidence": confidence, "small_k_adjustment": small_k_adjustment},
        n_exact=float(n),
        achieved=bonett_width(rho, k, n_units, confidence),
        note=note,
    )


def _df2(n_units: int, k: int, model: AssuranceModel) -> int:
    if model == "oneway":
        return n_units * (k - 1)
    if model == "consistency":
        return (n_units - 1) * (k - 1)
    raise PlanningInputError(f"unknown model {model!r}; use 'oneway' (ICC(1)) or 'consistency' (ICC(C,1))")


def icc_lower_bound_assurance(
    rho: float, k: int, n_units: int, rho0: float, confidence: float = 0.95, model: AssuranceModel = "oneway"
) -> float:
    """Probability that the lower CI limit of the ICC exceeds ``rho0`` (exact, F distribution).

    Examples
    --------
    With rho0 = rho the lower limit exceeds it with probability (1 - confidence) / 2:

    >>> round(icc_lower_bound_assurance(0.8, 2, 40, 0.8), 6)
    0.025
    """
    rho = _proportion(rho, "the expected ICC rho", low=-1.0)
    rho0 = _proportion(rho0, "the threshold rho0", low=-1.0)
    k = _raters(k)
    if isinstance(n_units, bool) or not isinstance(n_units, numbers.Integral) or n_units < 2:
        raise PlanningInputError(f"n_units must be a whole number of at least 2, got {n_units!r}")
    _proportion(confidence, "confidence")
    df1, df2 = n_units - 1, _df2(n_units, k, model)
    f_crit = float(sps.f.ppf(1 - (1 - confidence) / 2, df1, df2))
    null_ratio = (1 + (k - 1) * rho0) / (1 - rho0)
    true_ratio = (1 + (k - 1) * rho) / (1 - rho)
    return float(sps.f.sf(f_crit * null_ratio / true_ratio, df1, df2))


def icc_assurance_sample_size(
    rho: float,
    k: int,
    rho0: float,
    assurance: float = 0.8,
    confidence: float = 0.95,
    model: AssuranceModel = "oneway",
    max_units: int = 1_000_000,
) -> SamplePlan:
    """Smallest number of units for which the CI lower limit exceeds ``rho0`` with the given assurance.

    Examples
    --------
    >>> plan = icc_assurance_sample_size(0.8, 2, 0.6)
    >>> plan.n_units, plan.method, round(plan.achieved, 3)
    (50, 'exact_f_lower_bound', 0.807)
    """
    rho = _proportion(rho, "the expected ICC rho", low=-1.0)
    rho0 = _proportion(rho0, "the threshold rho0", low=-1.0)
    assurance = _proportion(assurance, "assurance")
    if rho <= rho0:
        raise PlanningInputError(
            f"the expected ICC ({rho:g}) must exceed the threshold rho0 ({rho0:g}) for the lower limit to pass it"
        )
    if assurance <= (1 - confidence) / 2:
        raise PlanningInputError("assurance must exceed (1 - confidence) / 2, the chance at rho = rho0")

    def reached(n: int) -> float:
        return icc_lower_bound_assurance(rho, k, n, rho0, confidence, model)

    low, high = 2, 4
    while reached(high) < assurance:
        low, high = high, high * 2
        if high > max_units:
            raise PlanningInputError(
                f"more than {max_units} units would be needed; lower the assurance or the threshold rho0"
            )
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if reached(middle) < assurance else (low, middle)
    n_units = low if reached(low) >= assurance else high
    return SamplePlan(
        n_units=n_units,
        method="exact_f_lower_bound",
        inputs={"rho": rho, "k": k, "rho0": rho0, "assurance": assurance, "confidence": confidence, "model": model},
        n_exact=None,
        achieved=reached(n_units),
        note=None if model == "oneway" else "exact for ICC(C,1) of a complete design; approximate for ICC(A,1)",
    )


def _cells(kappa: float, prevalence: float) -> tuple[float, float, float]:
    spread = prevalence * (1 - prevalence)
    return (prevalence**2 + kappa * spread, 2 * spread * (1 - kappa), (1 - prevalence) ** 2 + kappa * spread)


def kappa_sample_size(
    kappa0: float, kappa1: float, prevalence: float, alpha: float = 0.05, power: float = 0.80
) -> SamplePlan:
    """Subjects for testing kappa0 against kappa1, two raters, binary rating (Donner & Eliasziw 1992).

    Examples
    --------
    kappa1 = .7 against kappa0 = .4 with prevalence .5 (and .2), alpha .05, power .80; R
    ``kappaSize::PowerBinary`` gives N = 73.26 (74) and 107:

    >>> plan = kappa_sample_size(0.4, 0.7, 0.5)
    >>> round(plan.n_exact, 2), plan.n_units, kappa_sample_size(0.4, 0.7, 0.2).n_units
    (73.26, 74, 107)
    """
    kappa0 = _proportion(kappa0, "kappa0", low=-1.0)
    kappa1 = _proportion(kappa1, "kappa1", low=-1.0)
    prevalence = _proportion(prevalence, "the prevalence")
    alpha = _proportion(alpha, "alpha")
    power = _proportion(power, "power")
    if kappa0 == kappa1:
        raise PlanningInputError("kappa0 and kappa1 must differ")
    null, alternative = _cells(kappa0, prevalence), _cells(kappa1, prevalence)
    if min(null) <= 0 or min(alternative) < 0:
        raise PlanningInputError(
            "these kappa and prevalence values give a negative or empty cell probability; "
            "kappa cannot be that low at this prevalence"
        )
    chi2 = sum((a - b) ** 2 / b for a, b in zip(alternative, null, strict=True))
    z = float(sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power))
    n = z**2 / chi2
    return SamplePlan(
        n_units=math.ceil(n - 1e-9),
        method="donner_eliasziw1992",
        inputs={"kappa0": kappa0, "kappa1": kappa1, "prevalence": prevalence, "alpha": alpha, "power": power},
        n_exact=float(n),
        achieved=power,
        note=None,
    )


def plan_to_json(plan: SamplePlan) -> dict[str, Any]:
    """JSON block of ``plan-reliability``: ``{n_units, method, <inputs>, n_exact, achieved, note}``.

    Examples
    --------
    >>> plan_to_json(bonett_sample_size(0.85, 4, 0.2))["n_units"]
    20
    """
    out: dict[str, Any] = {"n_units": plan.n_units, "method": plan.method}
    out.update(plan.inputs)
    out["n_exact"] = None if plan.n_exact is None or not math.isfinite(plan.n_exact) else plan.n_exact
    out["achieved"] = None if plan.achieved is None or not math.isfinite(plan.achieved) else plan.achieved
    out["note"] = plan.note
    return out
