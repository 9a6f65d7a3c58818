"""Blinding indices from assessors' guesses of the arm: Bang's index per arm and James' index.

After rating a film an assessor may guess the family's arm: "treatment" (the intervention),
"control" or "don't know". Per true arm the guesses form one column of the 3 x 2 table
that trials report (rows: guessed treatment, guessed control, don't know; columns: true arm).

Sources
-------
* Bang's blinding index (BI): Bang, H., Ni, L. & Davis, C. E. (2004). Assessment of blinding
  in clinical trials. *Controlled Clinical Trials*, 25, 143-156. Per arm, with the
  "don't know" answers kept in the denominator (the 2 x 3 version):
  ``BI = (2 * correct / guessed - 1) * guessed / n = (correct - incorrect) / n``, range -1..1
  (1: everyone guessed right, 0: consistent with perfect blinding, -1: everyone guessed the
  other arm). With ``p_c = correct / n`` and ``p_i = incorrect / n`` the multinomial variance
  is ``Var(BI) = [p_c (1 - p_c) + p_i (1 - p_i) + 2 p_c p_i] / n``.
* James' blinding index: James, K. E., Bloch, D. A., Lee, K. K., Kraemer, H. C. & Fuller,
  R. K. (1996). An index for assessing blindness in a multi-centre clinical trial: disulfiram
  for alcohol cessation - a VA cooperative study. *Statistics in Medicine*, 15, 1421-1434.
  Over both arms, a weighted kappa of disagreement among the guesses, with disagreement
  weights 0 (correct guess), 0.5 (wrong guess) and 1 ("don't know"):
  ``BI = (1 + P_dk + (1 - P_dk) K_d) / 2``, ``K_d = (P_do - P_de) / P_de``, range 0..1
  (0: everyone guessed right, 0.5: random guessing, 1: everyone answered "don't know" or
  everyone guessed wrong), with James' large-sample variance.
* Both formulas, the variance of James' index and the conventions at the edges are taken
  from the R package ``BI`` 1.2.0 (Schwartz & Mercaldo, CRAN 2022; source ``R/BI.r`` of
  github.com/marcschwartz/BI, written with H. Bang's technical help), which this module
  reproduces for two arms and three answers. Its documented edge case, after James (1996,
  p. 1425) and Bang (2004, p. 146): when every answer is "don't know", James' index is 1.

Conventions (house rules for :mod:`annotate.stats`)
----------------------------------------------------
* Intervals are two-sided Wald intervals ``BI +/- z SE`` at ``confidence`` (exact normal
  quantile), not clipped to the index's range, as in ``BI``. Bang (2004) prefers one-sided
  limits for his index; a one-sided 95 % limit is the two-sided 90 % one
  (``confidence=0.90``).
* A standard error (and its interval) is ``None`` where the plug-in variance is zero or
  undefined: for Bang's index when all answers of the arm fall in one category; for James'
  when every answer is "don't know", and in the few tables where the delta-method variance
  is exactly 0 (every guess right without "don't know", or every guess wrong with as many
  guesses in each arm). ``BI`` prints SE 0 (or NaN) there; a zero-width
  interval is not an honest statement of uncertainty. James' index itself is ``None`` when
  its chance term ``P_de`` is 0 (every guess is right and all come from one arm), where
  ``BI`` returns NaN.
* Bad input (negative or non-integer counts, an unknown arm or guess, an arm with no
  answers, swapped arms) raises :class:`BlindingInputError`, a ``ValueError`` whose message
  says what to fix.

Verification (tests/stats/test_blinding.py)
-------------------------------------------
* Houweling, Shapiro, Cohen & Kahn (2014), *Clinical Trials* 11:547-552, Table 2,
  site investigators (treatment arm 48 / 4 / 330, control arm 22 / 30 / 319; the ``BI``
  package's example): James 0.896 (SE 0.011, 95 % CI 0.875 to 0.918); Bang treatment 0.115
  (SE 0.018, 0.080 to 0.150), control 0.022 (SE 0.019, -0.016 to 0.060), as printed to three
  decimals in the README and ``test/runtests.jl`` of JuliaHealth/BlindingIndex.jl (a port of
  ``BI``). The Houweling paper itself and Bang (2004) Table 7 (CRISP) were not available to
  us; for CRISP the test checks an independent exact-fraction computation.
* The same abstract's rates of correct answers (10.4 %, 17.8 %, 29.4 %) confirm the three
  Houweling tables; its finding for patients (unblinding in the active arm, opposite guessing
  in the placebo arm) is checked as intervals excluding 0 on opposite sides.
* No worked example of James (1996) (the disulfiram trial) was available; James' index is
  also checked against an independent exact computation and its limiting cases.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist
from typing import Any

from annotate.errors import InputError

ARMS: tuple[str, str] = ("treatment", "control")
"""The two true arms, as ``GuessCounts.arm`` and the ``true_arm`` column spell them."""

GUESSES: tuple[str, str, str] = ("treatment", "control", "dont_know")
"""The three answers an assessor can give, as the ``guess`` column spells them."""

_WRONG_GUESS_WEIGHT = Fraction(1, 2)  # James (1996): a wrong guess counts half a "don't know"


class BlindingInputError(InputError):
    """The guesses cannot be analysed as given; the message says what to fix."""


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise BlindingInputError(f"{name} must be a whole number of answers; got {value!r}")
    if value < 0:
        raise BlindingInputError(f"{name} must not be negative; got {value}")
    return int(value)


@dataclass(frozen=True)
class GuessCounts:
    """How the assessors of one true arm answered: counts of each guess.

    Raises :class:`BlindingInputError` for an unknown arm or a negative or non-integer count.

    Examples
    --------
    >>> c = GuessCounts("treatment", guessed_treatment=48, guessed_control=4, dont_know=330)
    >>> c.n, c.correct, c.incorrect
    (382, 48, 4)
    """

    arm: str
    guessed_treatment: int
    guessed_control: int
    dont_know: int

    def __post_init__(self) -> None:
        if self.arm not in ARMS:
            raise BlindingInputError(f"arm must be 'treatment' or 'control'; got {self.arm!r}")
        for field in ("guessed_treatment", "guessed_control", "dont_know"):
            object.__setattr__(self, field, _count(getattr(self, field), f"{self.arm} arm {field}"))

    @property
    def n(self) -> int:
        """All answers in this arm, "don't know" included."""
        return self.guessed_treatment + self.guessed_control + self.dont_know

    @property
    def correct(self) -> int:
        """Guesses that name this arm."""
        return self.guessed_treatment if self.arm == "treatment" else self.guessed_control

    @property
    def incorrect(self) -> int:
        """Guesses that name the other arm."""
        return self.guessed_control if self.arm == "treatment" else self.guessed_treatment


@dataclass(frozen=True)
class BangIndex:
    """Bang's blinding index for one arm (-1..1, 0 = consistent with perfect blinding)."""

    arm: str
    value: float
    se: float | None
    ci95_low: float | None
    ci95_high: float | None
    n: int


@dataclass(frozen=True)
class JamesIndex:
    """James' blinding index over both arms (0..1, 0.5 = random guessing, 1 = all "don't know")."""

    value: float | None
    se: float | None
    ci95_low: float | None
    ci95_high: float | None
    n: int


def _z(confidence: float) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real):
        raise BlindingInputError(f"confidence must be a number between 0 and 1; got {confidence!r}")
    if not 0 < confidence < 1:
        raise BlindingInputError(f"confidence must lie strictly between 0 and 1 (e.g. 0.95); got {confidence}")
    return NormalDist().inv_cdf((1 + float(confidence)) / 2)


def _answered(counts: object, expected_arm: str | None = None) -> GuessCounts:
    if not isinstance(counts, GuessCounts):
        raise BlindingInputError(f"expected GuessCounts for the {expected_arm or 'arm'}; got {type(counts).__name__}")
    if expected_arm is not None and counts.arm != expected_arm:
        raise BlindingInputError(
            f"the {expected_arm} argument holds the {counts.arm} arm's guesses; pass the treatment arm first"
        )
    if counts.n == 0:
        raise BlindingInputError(
            f"the {counts.arm} arm has no answers (all counts are 0); a blinding index needs at least one"
        )
    return counts


def _interval(value: Fraction, variance: Fraction, z: float) -> tuple[float | None, float | None, float | None]:
    # Exact arithmetic makes "zero variance" exact: every answer fell in one category (or, for
    # James, the delta method degenerates); the Wald interval would collapse to a point.
    if variance <= 0:
        return None, None, None
    se = math.sqrt(variance)
    return se, float(value) - z * se, float(value) + z * se


def bang_index(counts: GuessCounts, confidence: float = 0.95) -> BangIndex:
    """Bang's blinding index for one arm, with "don't know" in the denominator (Bang 2004).

    ``value = (correct - incorrect) / n``; ``se`` from the multinomial variance; the interval is
    two-sided at ``confidence`` (``confidence=0.90`` gives Bang's one-sided 95 % limits).

    Parameters
    ----------
    counts : GuessCounts
        The answers of the assessors of one arm.
    confidence : float, default 0.95
        Two-sided confidence level of ``ci95_low`` / ``ci95_high``.

    Returns
    -------
    BangIndex
        ``se`` and the interval are None when all answers are in one category.

    Examples
    --------
    Houweling et al. (2014), site investigators, treatment arm:

    >>> b = bang_index(GuessCounts("treatment", 48, 4, 330))
    >>> round(b.value, 3), round(b.se, 3), round(b.ci95_low, 3), round(b.ci95_high, 3)
    (0.115, 0.018, 0.08, 0.15)
    >>> bang_index(GuessCounts("control", 0, 10, 0)).value
    1.0
    """
    z = _z(confidence)
    counts = _answered(counts)
    n = counts.n
    p_correct, p_incorrect = Fraction(counts.correct, n), Fraction(counts.incorrect, n)
    value = p_correct - p_incorrect
    variance = (p_correct * (1 - p_correct) + p_incorrect * (1 - p_incorrect) + 2 * p_correct * p_incorrect) / n
    se, low, high = _interval(value, variance, z)
    return BangIndex(counts.arm, float(value), se, low, high, n)


def james_index(treatment: GuessCounts, control: GuessCounts, confidence: float = 0.95) -> JamesIndex:
    """James' blinding index over both arms, with its large-sample variance (James et al. 1996).

    Disagreement weights: 0 for a correct guess, 0.5 for a wrong guess, 1 for "don't know".
    Every answer "don't know" gives 1 by James' convention (SE None).

    Parameters
    ----------
    treatment, control : GuessCounts
        The answers in the treatment arm and in the control arm, in that order.
    confidence : float, default 0.95
        Two-sided confidence level of ``ci95_low`` / ``ci95_high``.

    Returns
    -------
    JamesIndex
        ``value`` is None when the chance disagreement ``P_de`` is 0 (undefined kappa).

    Examples
    --------
    Houweling et al. (2014), site investigators:

    >>> j = james_index(GuessCounts("treatment", 48, 4, 330), GuessCounts("control", 22, 30, 319))
    >>> round(j.value, 3), round(j.se, 3), round(j.ci95_low, 3), round(j.ci95_high, 3)
    (0.896, 0.011, 0.875, 0.918)
    >>> james_index(GuessCounts("treatment", 25, 25, 0), GuessCounts("control", 25, 25, 0)).value
    0.5
    """
    z = _z(confidence)
    treatment = _answered(treatment, "treatment")
    control = _answered(control, "control")
    total = treatment.n + control.n
    if treatment.dont_know + control.dont_know == total:
        return JamesIndex(1.0, None, None, None, total)

    # table[g][a]: answers guessing arm g among assessors of true arm a (g, a: 0 treatment, 1 control)
    table = (
        (treatment.guessed_treatment, control.guessed_treatment),
        (treatment.guessed_control, control.guessed_control),
    )
    weight = ((Fraction(0), _WRONG_GUESS_WEIGHT), (_WRONG_GUESS_WEIGHT, Fraction(0)))
    p = [[Fraction(cell, total) for cell in row] for row in table]
    p_dk = Fraction(treatment.dont_know + control.dont_know, total)
    guessed = [p[g][0] + p[g][1] for g in range(2)]  # share guessing arm g
    decided = [p[0][a] + p[1][a] for a in range(2)]  # share of arm a that guessed at all
    pairs = [(g, a) for g in range(2) for a in range(2)]

    chance = sum(weight[g][a] * guessed[g] * decided[a] for g, a in pairs)
    if chance == 0:
        return JamesIndex(None, None, None, None, total)
    p_do = sum(weight[g][a] * p[g][a] for g, a in pairs) / (1 - p_dk)
    p_de = chance / (1 - p_dk) ** 2
    kappa = (p_do - p_de) / p_de
    value = (1 + p_dk + (1 - p_dk) * kappa) / 2

    # James (1996) delta-method variance, term by term as in BI's R/BI.r.
    spread = Fraction(0)
    for g, a in pairs:
        marginal = sum(weight[r][a] * guessed[r] + weight[g][r] * decided[r] for r in range(2))
        spread += p[g][a] * (1 - p_dk) ** 2 * ((1 - p_dk) * weight[g][a] - (1 + kappa) * marginal) ** 2
    variance = (
        spread / (4 * chance**2) + p_dk * (1 - p_dk) - (1 - p_dk) * (1 + kappa) * (p_dk + (1 - p_dk) * (1 + kappa) / 4)
    ) / total
    se, low, high = _interval(value, variance, z)
    return JamesIndex(float(value), se, low, high, total)


def _rows(frame_or_records: Any, true_arm: str, guess: str) -> Iterable[tuple[object, object]]:
    if hasattr(frame_or_records, "columns"):  # a pandas DataFrame, without importing pandas
        missing = [c for c in (true_arm, guess) if c not in frame_or_records.columns]
        if missing:
            raise BlindingInputError(
                f"the table has no column {missing[0]!r}; its columns are {list(frame_or_records.columns)}"
            )
        return zip(frame_or_records[true_arm].tolist(), frame_or_records[guess].tolist(), strict=False)
    rows = []
    for position, record in enumerate(frame_or_records):
        if not isinstance(record, Mapping):
            raise BlindingInputError(f"record {position} must be a mapping with keys {true_arm!r} and {guess!r}")
        for key in (true_arm, guess):
            if key not in record:
                raise BlindingInputError(
                    f"record {position} has no {key!r}; give each record {true_arm!r} and {guess!r}"
                )
        rows.append((record[true_arm], record[guess]))
    return rows


def guess_counts(
    frame_or_records: Any, true_arm: str = "true_arm", guess: str = "guess"
) -> tuple[GuessCounts, GuessCounts]:
    """Count a long table of (true arm, guess) answers into treatment and control GuessCounts.

    Parameters
    ----------
    frame_or_records : pandas.DataFrame or iterable of mappings
        One row per answer.
    true_arm : str, default "true_arm"
        Column holding the true arm: "treatment" or "control".
    guess : str, default "guess"
        Column holding the answer: "treatment", "control" or "dont_know".

    Returns
    -------
    tuple of GuessCounts
        ``(treatment, control)``; an arm without rows has all counts 0 (the indices then
        raise :class:`BlindingInputError`).

    Examples
    --------
    >>> rows = [{"true_arm": "treatment", "guess": "treatment"},
    ...         {"true_arm": "treatment", "guess": "dont_know"},
    ...         {"true_arm": "control", "guess": "treatment"}]
    >>> guess_counts(rows)
    (GuessCounts(arm='treatment', guessed_treatment=1, guessed_control=0, dont_know=1), \
GuessCounts(arm='control', guessed_treatment=1, guessed_control=0, dont_know=0))
    """
    tally = {arm: dict.fromkeys(GUESSES, 0) for arm in ARMS}
    for position, (arm, answer) in enumerate(_rows(frame_or_records, true_arm, guess)):
        if arm not in ARMS:
            raise BlindingInputError(f"row {position}: {true_arm} must be 'treatment' or 'control'; got {arm!r}")
        if answer not in GUESSES:
            raise BlindingInputError(
                f"row {position}: {guess} must be 'treatment', 'control' or 'dont_know'; got {answer!r}"
            )
        tally[arm][answer] += 1
    treatment, control = (
        GuessCounts(arm, tally[arm]["treatment"], tally[arm]["control"], tally[arm]["dont_know"]) for arm in ARMS
    )
    return treatment, control
