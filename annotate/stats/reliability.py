"""Inter-rater reliability statistics over a long table of ratings on a declared scale.

Public entry point; the implementations live in ``reliability_*`` modules, each citing its
sources in its docstring:

* :mod:`~annotate.stats.reliability_data` - input model (:func:`ratings_from_long`,
  :func:`ratings_from_wide`, :class:`Ratings`) and errors;
* :mod:`~annotate.stats.reliability_icc` - the six Shrout & Fleiss (1979) ICCs with McGraw &
  Wong (1996) names, F tests and exact CIs (as R psych::ICC);
* :mod:`~annotate.stats.reliability_kappa` - Cohen (1960, 1968), Fleiss (1971) and the Gwet
  (2008, 2014) family as R irrCAC computes it (AC1/AC2, percent agreement, Conger,
  Brennan-Prediger, Krippendorff's alpha in Gwet's form), with standard errors;
* :mod:`~annotate.stats.reliability_alpha` - Krippendorff's alpha (2011 coincidence-matrix
  method) for nominal, ordinal, interval and ratio data with missing values;
* :mod:`~annotate.stats.reliability_agreement` - percent agreement as R irr::agree and
  Bland & Altman (1986) limits of agreement;
* :mod:`~annotate.stats.reliability_bootstrap` - vectorised unit bootstrap CIs for ICC and alpha.

Every function is pure and returns frozen dataclasses of numbers; a statistic that is
undefined for the data (a zero denominator) is ``None``. Bad input raises
:class:`ReliabilityInputError` (a ``ValueError``) with a message saying what to fix, and a
statistic that does not apply to the data (e.g. Cohen's kappa with three raters) raises its
subclass :class:`NotApplicable`.

Examples
--------
>>> from annotate.stats.reliability import ratings_from_long, intraclass_correlations
>>> r = ratings_from_long(units=[1, 1, 2, 2, 3, 3], raters=["A", "B"] * 3,
...                       scores=[4, 5, 2, 2, 7, 6], categories=range(1, 10))
>>> round(intraclass_correlations(r)["ICC(A,1)"].value, 3)
0.935
"""

from annotate.stats.reliability_agreement import (
    BlandAltman,
    PercentAgreement,
    bland_altman,
    percent_agreement,
)
from annotate.stats.reliability_alpha import LEVELS, KrippendorffAlpha, Level, krippendorff_alpha
from annotate.stats.reliability_bootstrap import (
    MIN_RESAMPLES,
    BootstrapInterval,
    BootstrapResult,
    bootstrap_intervals,
)
from annotate.stats.reliability_data import (
    NotApplicable,
    Ratings,
    ReliabilityInputError,
    ratings_from_long,
    ratings_from_wide,
)
from annotate.stats.reliability_icc import ICC_FORMS, IccResult, IccTable, intraclass_correlations
from annotate.stats.reliability_kappa import (
    COEFFICIENTS,
    AgreementCoefficient,
    CohenKappa,
    FleissKappa,
    agreement_coefficient,
    agreement_weights,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac,
)

__all__ = [
    "COEFFICIENTS",
    "ICC_FORMS",
    "LEVELS",
    "MIN_RESAMPLES",
    "AgreementCoefficient",
    "BlandAltman",
    "BootstrapInterval",
    "BootstrapResult",
    "CohenKappa",
    "FleissKappa",
    "IccResult",
    "IccTable",
    "KrippendorffAlpha",
    "Level",
    "NotApplicable",
    "PercentAgreement",
    "Ratings",
    "ReliabilityInputError",
    "agreement_coefficient",
    "agreement_weights",
    "bland_altman",
    "bootstrap_intervals",
    "cohen_kappa",
    "fleiss_kappa",
    "gwet_ac",
    "intraclass_correlations",
    "krippendorff_alpha",
    "percent_agreement",
    "ratings_from_long",
    "ratings_from_wide",
]
