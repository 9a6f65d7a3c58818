"""Binary outcomes from a threshold: events per arm, risk ratio and risk difference.

A score counts as an event when it is at or above the threshold (``score >= X``, inclusive).
Group 1 is the treatment arm (``a`` events of ``n1``) and group 2 the control arm (``c`` of
``n2``); ``b = n1 - a`` and ``d = n2 - c``.

Sources
-------
* Risk ratio with the Katz log interval: Katz, D., Baptista, J., Azen, S. P. & Pike, M. C.
  (1978). Obtaining confidence intervals for the risk ratio in cohort studies. *Biometrics*,
  34, 469-474: ``RR = (a/n1) / (c/n2)``, ``SE(ln RR) = sqrt(1/a - 1/n1 + 1/c - 1/n2)``,
  95 % CI ``exp(ln RR +/- 1.96 SE)`` (as in Altman et al. 2000, *Statistics with
  Confidence*, 2nd ed., ch. 7). When any of ``a, b, c, d`` is zero, 0.5 is added to every
  cell (so ``n1`` and ``n2`` each grow by 1) for both the estimate and the interval, as the
  MedCalc relative-risk calculator documents (the Haldane 1956, *Ann Hum Genet* 20:309, 0.5
  correction for logarithms of ratios of frequencies). This
  reproduces the VIPP-PMH month-5 result (Barnicot et al. 2022, *Br J Clin Psychol* 61:1188):
  9/17 vs 3/11 -> RR 1.94 (0.67-5.63).
* Risk difference with Newcombe's hybrid score interval: Newcombe, R. G. (1998). Interval
  estimation for the difference between independent proportions: comparison of eleven
  methods. *Statistics in Medicine*, 17, 873-890, method 10:
  ``L = (p1 - p2) - sqrt((p1 - l1)^2 + (u2 - p2)^2)``,
  ``U = (p1 - p2) + sqrt((u1 - p1)^2 + (p2 - l2)^2)``, where ``(l_i, u_i)`` are the Wilson
  (1927, *JASA* 22:209) score intervals without continuity correction. No cell correction is
  needed: the Wilson interval is defined for 0 and n events. Newcombe's example (a),
  56/70 vs 48/80, gives 0.2000 (0.0524 to 0.3339).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from annotate.stats.effects_input import Z_975, EffectsInputError, count, observed


def _events_of(name: str, events: int, n: int) -> tuple[int, int]:
    events, n = count(events, f"{name} events"), count(n, f"{name} n")
    if n == 0:
        raise EffectsInputError(f"{name} arm has no observations (n = 0); a proportion needs n >= 1")
    if events > n:
        raise EffectsInputError(f"{name} events ({events}) exceed its n ({n})")
    return events, n


@dataclass(frozen=True)
class WilsonInterval:
    """Wilson score 95 % interval for one proportion ``p = events / n``."""

    p: float
    ci95_low: float
    ci95_high: float
    events: int
    n: int


def wilson_interval(events: int, n: int) -> WilsonInterval:
    """Wilson (1927) score interval without continuity correction (Newcombe 1998, method 3).

    Examples
    --------
    >>> r = wilson_interval(56, 70)
    >>> round(r.p, 4), round(r.ci95_low, 4), round(r.ci95_high, 4)
    (0.8, 0.6918, 0.877)
    """
    events, n = _events_of("the", events, n)
    p = events / n
    z2 = Z_975**2
    centre = p + z2 / (2 * n)
    half = Z_975 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    denominator = 1 + z2 / n
    return WilsonInterval(p, (centre - half) / denominator, (centre + half) / denominator, events, n)


@dataclass(frozen=True)
class RiskRatio:
    """Risk ratio (treatment / control) with the Katz log 95 % CI.

    ``corrected`` is True when 0.5 was added to every cell because one was zero; ``value`` and
    the interval then come from the corrected table.
    """

    value: float
    ci95_low: float
    ci95_high: float
    se_log: float
    corrected: bool


def risk_ratio_katz(a: int, n1: int, c: int, n2: int) -> RiskRatio:
    """Risk ratio ``(a/n1) / (c/n2)`` with the Katz et al. (1978) log-method 95 % CI.

    Parameters
    ----------
    a, n1 : int
        Events and size of the treatment arm.
    c, n2 : int
        Events and size of the control arm.

    Returns
    -------
    RiskRatio

    Examples
    --------
    VIPP-PMH, month 5 (Barnicot et al. 2022): 9 of 17 vs 3 of 11 rated sensitive.

    >>> r = risk_ratio_katz(9, 17, 3, 11)
    >>> round(r.value, 2), round(r.ci95_low, 2), round(r.ci95_high, 2), r.corrected
    (1.94, 0.67, 5.63, False)
    """
    a, n1 = _events_of("treatment", a, n1)
    c, n2 = _events_of("control", c, n2)
    corrected = 0 in (a, n1 - a, c, n2 - c)
    if corrected:
        a_, n1_, c_, n2_ = a + 0.5, n1 + 1.0, c + 0.5, n2 + 1.0
    else:
        a_, n1_, c_, n2_ = float(a), float(n1), float(c), float(n2)
    log_rr = math.log((a_ / n1_) / (c_ / n2_))
    se_log = math.sqrt(1 / a_ - 1 / n1_ + 1 / c_ - 1 / n2_)
    return RiskRatio(
        value=math.exp(log_rr),
        ci95_low=math.exp(log_rr - Z_975 * se_log),
        ci95_high=math.exp(log_rr + Z_975 * se_log),
        se_log=se_log,
        corrected=corrected,
    )


@dataclass(frozen=True)
class RiskDifference:
    """Risk difference ``p1 - p2`` (treatment - control) with Newcombe's method-10 95 % CI."""

    value: float
    ci95_low: float
    ci95_high: float
    p1: float
    p2: float


def risk_difference_newcombe(a: int, n1: int, c: int, n2: int) -> RiskDifference:
    """Risk difference with Newcombe's (1998) hybrid score interval (method 10).

    Parameters
    ----------
    a, n1 : int
        Events and size of the treatment arm.
    c, n2 : int
        Events and size of the control arm.

    Returns
    -------
    RiskDifference

    Examples
    --------
    Newcombe (1998), Table II, example (a):

    >>> r = risk_difference_newcombe(56, 70, 48, 80)
    >>> round(r.value, 4), round(r.ci95_low, 4), round(r.ci95_high, 4)
    (0.2, 0.0524, 0.3339)
    """
    treatment = wilson_interval(*_events_of("treatment", a, n1))
    control = wilson_interval(*_events_of("control", c, n2))
    p1, p2 = treatment.p, control.p
    value = p1 - p2
    low = value - math.sqrt((p1 - treatment.ci95_low) ** 2 + (control.ci95_high - p2) ** 2)
    high = value + math.sqrt((treatment.ci95_high - p1) ** 2 + (p2 - control.ci95_low) ** 2)
    return RiskDifference(value, max(-1.0, low), min(1.0, high), p1, p2)


@dataclass(frozen=True)
class ThresholdComparison:
    """Events (score >= threshold) per arm with the risk ratio and risk difference.

    ``risk_ratio`` and ``risk_difference`` are ``None`` when an arm has no observed score.
    """

    threshold: float
    treatment_events: int
    treatment_n: int
    control_events: int
    control_n: int
    risk_ratio: RiskRatio | None
    risk_difference: RiskDifference | None


def threshold_comparison(
    treatment: Sequence[float | None] | np.ndarray,
    control: Sequence[float | None] | np.ndarray,
    threshold: float,
) -> ThresholdComparison:
    """Dichotomise scores at ``threshold`` (inclusive) and compare the arms.

    Parameters
    ----------
    treatment, control : sequence of float or None
        Scores of each arm; missing values are dropped (not counted as non-events).
    threshold : float
        A score ``>= threshold`` is an event (e.g. 5 = "sensitive" on a 9-point scale).

    Returns
    -------
    ThresholdComparison

    Examples
    --------
    >>> r = threshold_comparison([5, 7, 3, None], [4, 5, 2, 1], threshold=5)
    >>> (r.treatment_events, r.treatment_n, r.control_events, r.control_n)
    (2, 3, 1, 4)
    >>> round(r.risk_ratio.value, 3), round(r.risk_difference.value, 3)
    (2.667, 0.417)
    """
    try:
        threshold = float(threshold)
    except (TypeError, ValueError) as exc:
        raise EffectsInputError(f"threshold must be a number; got {threshold!r}") from exc
    if not math.isfinite(threshold):
        raise EffectsInputError(f"threshold must be a finite number; got {threshold!r}")
    x1 = observed(treatment, "treatment scores")
    x2 = observed(control, "control scores")
    a, n1 = int((x1 >= threshold).sum()), int(x1.size)
    c, n2 = int((x2 >= threshold).sum()), int(x2.size)
    if n1 == 0 or n2 == 0:
        return ThresholdComparison(threshold, a, n1, c, n2, None, None)
    return ThresholdComparison(
        threshold, a, n1, c, n2, risk_ratio_katz(a, n1, c, n2), risk_difference_newcombe(a, n1, c, n2)
    )


__all__ = [
    "RiskDifference",
    "RiskRatio",
    "ThresholdComparison",
    "WilsonInterval",
    "risk_difference_newcombe",
    "risk_ratio_katz",
    "threshold_comparison",
    "wilson_interval",
]
