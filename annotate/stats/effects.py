"""Per-arm summaries and between- and within-arm effects for trial outcome tables (CONSORT).

Public entry point; the implementations live in ``effects_*`` modules, each citing its
sources in its docstring:

* :mod:`~annotate.stats.effects_continuous` - per-group descriptives (n, mean, SD with
  ``n - 1``, median and quartiles by Hyndman & Fan 1996 definition 7, min, max), the
  treatment - control mean difference with Welch's (1947) CI, and Hedges' *g* with the
  Borenstein et al. (2009, ch. 4) variance ``V_g = J^2 V_d``;
* :mod:`~annotate.stats.effects_binary` - events at or above a threshold, the risk ratio with
  the Katz et al. (1978) log interval (0.5 added to every cell when one is zero) and the risk
  difference with Newcombe's (1998) hybrid score interval (method 10);
* :mod:`~annotate.stats.effects_models` - the baseline-adjusted difference by ANCOVA
  (statsmodels OLS, complete cases; Vickers & Altman 2001) and the within-arm paired change
  with the paired *t* test and Cohen's ``d_z``.

CONSORT 2010 item 17a asks for each group's result with the effect estimate and its 95 % CI,
and item 17b for both absolute (risk difference) and relative (risk ratio) effects of binary
outcomes (Schulz, Altman & Moher 2010, *BMJ* 340:c332).

Every function is pure and returns frozen dataclasses of numbers; an undefined statistic is
``None``. Bad input raises :class:`EffectsInputError` (a ``ValueError``) saying what to fix.

Examples
--------
>>> from annotate.stats.effects import risk_ratio_katz, hedges_g_from_summary
>>> round(risk_ratio_katz(9, 17, 3, 11).ci95_high, 2)
5.63
>>> round(hedges_g_from_summary(103, 5.5, 50, 100, 4.5, 50).g, 4)
0.5924
"""

from annotate.stats.effects_binary import (
    RiskDifference,
    RiskRatio,
    ThresholdComparison,
    WilsonInterval,
    risk_difference_newcombe,
    risk_ratio_katz,
    threshold_comparison,
    wilson_interval,
)
from annotate.stats.effects_continuous import (
    QUANTILE_DEFINITION,
    Descriptives,
    HedgesG,
    MeanDifference,
    describe,
    hedges_g,
    hedges_g_from_summary,
    welch_mean_difference,
)
from annotate.stats.effects_input import Z_975, EffectsInputError
from annotate.stats.effects_models import AncovaResult, PairedChange, ancova_difference, paired_change

__all__ = [
    "QUANTILE_DEFINITION",
    "Z_975",
    "AncovaResult",
    "Descriptives",
    "EffectsInputError",
    "HedgesG",
    "MeanDifference",
    "PairedChange",
    "RiskDifference",
    "RiskRatio",
    "ThresholdComparison",
    "WilsonInterval",
    "ancova_difference",
    "describe",
    "hedges_g",
    "hedges_g_from_summary",
    "paired_change",
    "risk_difference_newcombe",
    "risk_ratio_katz",
    "threshold_comparison",
    "welch_mean_difference",
    "wilson_interval",
]
