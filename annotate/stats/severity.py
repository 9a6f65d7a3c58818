"""Rater monitoring: severity (systematic offset against co-raters) and drift against master codes.

Severity
--------
For rater ``j`` and every unit ``i`` they share with at least one other rater, the deviation
is their score minus the mean of the other raters' scores of that unit::

    d_ij = y_ij - mean_{j' != j} y_ij'

A rater's severity is the mean of ``d_ij`` over those units, with a t-based 95% interval
``mean +/- t_.975(n - 1) sd / sqrt(n)`` (``n`` = number of such units; no interval when
``n < 2``). Positive values mean the rater scores higher (more lenient) than their co-raters.
This is the simple, design-free version of the rater effects that training programmes report
per rater; many-facet Rasch models (Linacre 1989) are the heavy version.

Drift
-----
Certification and re-testing compare a rater with master (or consensus) codes: per rater and
calendar month, ICC(A,1) between the rater's and the reference scores (two-way random,
absolute agreement, McGraw & Wong 1996 = Shrout & Fleiss ICC(2,1), via
:func:`annotate.stats.reliability_icc.intraclass_correlations`), exact and within-one
agreement, and the mean deviation. A month is ``"below"`` the criterion when ICC(A,1) or
within-one agreement falls under its threshold (defaults: ICC(A,1) >= .70 and >= 80% within
+/-1 point, the certification rule quoted for observational coding schemes), ``"meets"`` when
both are met, and ``"undetermined"`` when a value cannot be computed (e.g. fewer than two
items, or scores without variance).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from annotate.stats.reliability_data import ReliabilityInputError, ratings_from_wide
from annotate.stats.reliability_design import DesignInputError, LongRatings, _is_missing, _is_number, _plain
from annotate.stats.reliability_icc import intraclass_correlations


@dataclass(frozen=True)
class RaterSeverity:
    """One rater's mean deviation from co-raters; ``ci95`` is None when ``n < 2``."""

    rater: Hashable
    n: int
    mean_deviation: float | None
    sd_deviation: float | None
    ci95: tuple[float, float] | None


def rater_severity(data: LongRatings, confidence: float = 0.95) -> tuple[RaterSeverity, ...]:
    """Mean deviation of each rater from the other raters of the same units.

    Raters who share no unit are listed with ``n = 0`` and None values.

    Examples
    --------
    >>> from annotate.stats.reliability_design import long_ratings
    >>> frame = pd.DataFrame({"unit": [1, 1, 2, 2, 3, 3, 3], "rater": ["A", "B", "A", "B", "A", "B", "C"],
    ...                       "score": [5, 3, 6, 4, 7, 6, 5]})
    >>> [(s.rater, s.n, s.mean_deviation) for s in rater_severity(long_ratings(frame))]
    [('A', 3, 1.8333333333333333), ('B', 3, -1.3333333333333333), ('C', 1, -1.5)]
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    n_i = data.ratings_per_unit
    totals = np.bincount(data.unit, weights=data.score, minlength=data.n_units)
    shared = n_i[data.unit] >= 2
    others = (totals[data.unit] - data.score) / np.maximum(n_i[data.unit] - 1, 1)
    deviation = (data.score - others)[shared]
    rater = data.rater[shared]
    out = []
    for j, rater_id in enumerate(data.rater_ids):
        d = deviation[rater == j]
        n = int(d.size)
        if n == 0:
            out.append(RaterSeverity(rater_id, 0, None, None, None))
            continue
        mean = float(d.mean())
        sd = float(d.std(ddof=1)) if n >= 2 else None
        ci = None
        if sd is not None:
            half = float(sps.t.ppf(1 - (1 - confidence) / 2, n - 1)) * sd / np.sqrt(n)
            ci = (mean - half, mean + half)
        out.append(RaterSeverity(rater_id, n, mean, sd, ci))
    return tuple(out)


DriftStatus = Literal["meets", "below", "undetermined"]


@dataclass(frozen=True)
class DriftCheck:
    """Agreement of one rater with the reference scores in one calendar month."""

    rater: Hashable
    month: str
    n: int
    icc_a1: float | None
    exact: float | None
    within_1: float | None
    mean_deviation: float
    status: DriftStatus
    note: str | None


def _icc_a1(scores: np.ndarray, reference: np.ndarray) -> float | None:
    try:
        table = intraclass_correlations(ratings_from_wide(np.column_stack([scores, reference]).tolist()))
    except ReliabilityInputError:
        return None
    return table["ICC(A,1)"].value


def rater_drift(
    frame: pd.DataFrame,
    *,
    rater: str = "rater",
    date: str = "date",
    score: str = "score",
    reference: str = "reference",
    categories: Iterable[float] | None = None,
    icc_min: float = 0.70,
    within_1_min: float = 0.80,
) -> tuple[DriftCheck, ...]:
    """Agreement with master/consensus scores per rater and calendar month, flagged against a criterion.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per item a rater scored that has a reference score.
    rater, date, score, reference : str
        Column names (dates: anything ``pandas.to_datetime`` reads).
    categories : iterable of numbers, optional
        Declared scale; ``None`` for continuous scores (then agreement is not computed and
        only the ICC criterion applies).
    icc_min, within_1_min : float
        Criterion: ICC(A,1) at least ``icc_min`` and a share of at least ``within_1_min``
        within one point.

    Examples
    --------
    >>> frame = pd.DataFrame({"rater": ["A"] * 8, "date": ["2024-01-05"] * 4 + ["2024-02-10"] * 4,
    ...                       "score": [3, 5, 6, 2, 3, 6, 7, 5], "reference": [3, 4, 6, 2, 5, 3, 7, 2]})
    >>> [(c.month, c.n, round(c.icc_a1, 2), c.within_1, c.status) for c in rater_drift(frame, categories=range(1, 8))]
    [('2024-01', 4, 0.96, 1.0, 'meets'), ('2024-02', 4, 0.25, 0.25, 'below')]
    """
    for role, name in (("rater", rater), ("date", date), ("score", score), ("reference", reference)):
        if name not in frame.columns:
            raise DesignInputError(
                f"the {role} column {name!r} is not in the table (columns: {list(frame.columns)}); "
                f"name it with {role}=..."
            )
    scale = None if categories is None else {float(c) for c in categories}
    rows = []
    for position, (r, d, s, ref) in enumerate(
        zip(frame[rater], frame[date], frame[score], frame[reference], strict=True)
    ):
        if _is_missing(s) or _is_missing(ref):
            continue
        if not (_is_number(s) and _is_number(ref)) or not (np.isfinite(float(s)) and np.isfinite(float(ref))):
            raise DesignInputError(f"row {position + 1}: score {s!r} and reference {ref!r} must both be numbers")
        if scale is not None and (float(s) not in scale or float(ref) not in scale):
            raise DesignInputError(
                f"row {position + 1}: score {s!r} or reference {ref!r} is not on the declared scale; correct it"
            )
        if _is_missing(r):
            raise DesignInputError(f"row {position + 1} has a score but no rater; fill in the rater")
        when = pd.to_datetime(d, errors="coerce")
        if pd.isna(when):
            raise DesignInputError(f"row {position + 1}: date {d!r} cannot be read; use YYYY-MM-DD")
        rows.append((_plain(r), f"{when.year:04d}-{when.month:02d}", float(s), float(ref)))
    if not rows:
        raise DesignInputError("the table has no rows with both a score and a reference score")
    table = pd.DataFrame(rows, columns=["rater", "month", "score", "reference"])
    checks = []
    for (rater_id, month), group in table.groupby(["rater", "month"], sort=True):
        x, ref = group["score"].to_numpy(), group["reference"].to_numpy()
        icc = _icc_a1(x, ref) if x.size >= 2 else None
        exact = within = None
        if scale is not None:
            exact = float(np.mean(x == ref))
            within = float(np.mean(np.abs(x - ref) <= 1 + 1e-9))
        needed = [icc] + ([within] if scale is not None else [])
        notes = []
        if x.size < 2:
            notes.append("fewer than two items this month: ICC(A,1) needs at least two")
        elif icc is None:
            notes.append("ICC(A,1) is undefined (no variance in the scores)")
        failed = (icc is not None and icc < icc_min) or (within is not None and within < within_1_min)
        status: DriftStatus = "below" if failed else ("undetermined" if None in needed else "meets")
        checks.append(
            DriftCheck(
                rater=rater_id,
                month=str(month),
                n=int(x.size),
                icc_a1=icc,
                exact=exact,
                within_1=within,
                mean_deviation=float(np.mean(x - ref)),
                status=status,
                note="; ".join(notes) or None,
            )
        )
    return tuple(checks)
