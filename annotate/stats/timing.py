"""Timing agreement of event coding (issue 19): one call from a tidy events table to a result.

:func:`timing_agreement` computes, per event group, over every double-coded session and every
pair of its raters:

* the **event-based kappa** at tolerance ``w`` (onsets matched one-to-one, most pairs then
  least total ``|Δ|``), its table with a none row and column, per-code and pooled F1, and the
  median and 90th percentile of ``|Δ onset|`` (all pairs) and ``|Δ offset|`` (pairs of states);
* the **time-unit kappa** on units of ``u`` seconds (midpoint rule for states);
* the **agreement curve**: event kappa and pooled F1 at several tolerances;
* on request the **BORIS-compatible grid kappa** (:mod:`annotate.stats.timing_boris`);
* on request **percentile bootstrap CIs** over sessions for both kappas (Efron & Tibshirani
  1993, ch. 13): sessions are drawn with replacement, rater pairs stay inside their session,
  and each resample's table is a weighted sum of the per-session tables computed once.

Definitions and sources: :mod:`annotate.stats.timing_tables`, :mod:`annotate.stats.timing_match`.
:func:`timing_json` gives the JSON form. Undefined values are None and a ``note`` says why.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from annotate.stats.reliability_bootstrap import resample_multiplicities
from annotate.stats.timing_boris import BorisGrid, GridEvent, boris_grid_counts, boris_grid_kappa
from annotate.stats.timing_input import NONE_LABEL, EventTable, TimingInputError, as_event_table
from annotate.stats.timing_tables import (
    EventTables,
    F1Scores,
    KappaTable,
    PairProblems,
    Spread,
    TimeUnitTallies,
    event_tables,
    f1_scores,
    kappa_from_counts,
    kappa_table,
    pair_problems,
    spread,
    time_unit_kappa,
    time_unit_tallies,
)

DEFAULT_CURVE: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
CONFIDENCE = 0.95


@dataclass(frozen=True)
class BootstrapCI:
    """Percentile interval over ``n_valid`` of ``n_resamples`` session resamples (None if none)."""

    low: float | None
    high: float | None
    n_valid: int
    n_resamples: int


@dataclass(frozen=True)
class EventAgreement:
    """Event-based agreement of one group at one tolerance (summed over pairs and sessions)."""

    tolerance: float
    table: KappaTable
    n_matched: int
    n_unmatched: tuple[int, int]
    f1: F1Scores
    onset_diff: Spread
    offset_diff: Spread
    ci95: BootstrapCI | None

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa of the summed event table."""
        return self.table.kappa


@dataclass(frozen=True)
class TimeUnitAgreement:
    """Time-unit kappa of one group (units summed over pairs and sessions)."""

    unit: float
    kappa: float | None
    po: float | None
    pe: float | None
    n_units: int
    ci95: BootstrapCI | None
    note: str | None = None


@dataclass(frozen=True)
class CurvePoint:
    """Event kappa and pooled F1 at one tolerance."""

    tolerance: float
    kappa: float | None
    f1: float | None


@dataclass(frozen=True)
class GroupTiming:
    """All timing agreement of one event group."""

    group: str
    codes: tuple[str, ...]
    event: EventAgreement
    time_unit: TimeUnitAgreement
    curve: tuple[CurvePoint, ...]
    boris_grid: BorisGrid | None


@dataclass(frozen=True)
class TimingAgreement:
    """Timing agreement of every group; ``n_sessions`` double-coded sessions were compared."""

    tolerance: float
    unit: float
    n_sessions: int
    groups: Mapping[str, GroupTiming]
    bootstrap: int
    seed: int | None


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)) or value <= 0:
        raise TimingInputError(f"{name} must be a positive number of seconds; got {value!r}")
    return float(value)


def _percentile_ci(samples: npt.NDArray[np.float64], n_resamples: int) -> BootstrapCI:
    valid = samples[np.isfinite(samples)]
    if valid.size == 0:
        return BootstrapCI(None, None, 0, n_resamples)
    tail = (1 - CONFIDENCE) / 2
    low, high = np.quantile(valid, [tail, 1 - tail])
    return BootstrapCI(float(low), float(high), int(valid.size), n_resamples)


def _kappa_rows(tables: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Kappa of each ``(q, q)`` table in a ``(B, q, q)`` stack; NaN where undefined."""
    n = tables.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        po = np.trace(tables, axis1=1, axis2=2) / n
        pe = (tables.sum(axis=2) * tables.sum(axis=1)).sum(axis=1) / n**2
        kappa = (po - pe) / (1 - pe)
    return np.where((n > 0) & (pe < 1 - 1e-15), kappa, np.nan)


def _event_agreement(
    codes: tuple[str, ...], tallies: EventTables, g: int, weights: npt.NDArray[np.float64] | None
) -> EventAgreement:
    per_session = tallies.per_session[g]
    summed = per_session.sum(axis=0)
    ci = None
    if weights is not None:
        boot = (weights @ per_session.reshape(per_session.shape[0], -1).astype(float)).reshape(
            weights.shape[0], *per_session.shape[1:]
        )
        ci = _percentile_ci(_kappa_rows(boot), weights.shape[0])
    return EventAgreement(
        tolerance=tallies.tolerance,
        table=kappa_table([*codes, NONE_LABEL], summed),
        n_matched=tallies.n_matched[g],
        n_unmatched=tallies.n_unmatched[g],
        f1=f1_scores(codes, summed),
        onset_diff=spread(tallies.onset_diff[g], "matched pairs"),
        offset_diff=spread(tallies.offset_diff[g], "matched pairs of two states"),
        ci95=ci,
    )


def _time_unit_agreement(
    tallies: TimeUnitTallies, g: int, weights: npt.NDArray[np.float64] | None
) -> TimeUnitAgreement:
    n_units = tallies.n_units[g]
    first, second = tallies.first[g], tallies.second[g]
    kappa, po, pe, note = time_unit_kappa(
        float(n_units.sum()), float(tallies.agree[g].sum()), first.sum(axis=0), second.sum(axis=0)
    )
    ci = None
    if weights is not None:
        n_b = weights @ n_units
        with np.errstate(invalid="ignore", divide="ignore"):
            po_b = (weights @ tallies.agree[g]) / n_b
            pe_b = ((weights @ first) * (weights @ second)).sum(axis=1) / n_b**2
            k_b = (po_b - pe_b) / (1 - pe_b)
        ci = _percentile_ci(np.where((n_b > 0) & (pe_b < 1 - 1e-15), k_b, np.nan), weights.shape[0])
    return TimeUnitAgreement(tallies.unit, kappa, po, pe, int(n_units.sum()), ci, note)


def _boris(table: EventTable, problems: PairProblems, g: int, interval: float) -> BorisGrid:
    codes = table.codes[table.groups[g]]
    total: dict[tuple[str, str], int] = {}

    def events(idx: npt.NDArray[np.int64]) -> list[GridEvent]:
        return [
            (
                codes[int(table.code_idx[i])],
                float(table.onset[i]),
                None if math.isnan(table.offset[i]) else float(table.offset[i]),
            )
            for i in idx
        ]

    for p in np.flatnonzero(problems.group == g):
        first = events(problems.first_events[problems.first_ptr[p] : problems.first_ptr[p + 1]])
        second = events(problems.second_events[problems.second_ptr[p] : problems.second_ptr[p + 1]])
        for pair, n in boris_grid_counts(first, second, interval).items():
            total[pair] = total.get(pair, 0) + n
    return boris_grid_kappa(total, interval)


def timing_agreement(
    frame: pd.DataFrame | EventTable | str | os.PathLike[str],
    tolerance: float,
    unit: float = 0.1,
    curve: Sequence[float] = DEFAULT_CURVE,
    boris_interval: float | None = None,
    bootstrap: int = 0,
    seed: int | None = None,
) -> TimingAgreement:
    """Event-based and time-unit agreement of every event group, with curve and optional CIs.

    Parameters
    ----------
    frame : DataFrame, EventTable or path of a CSV
        One row per event (see :func:`annotate.stats.timing_input.read_timing_events`).
    tolerance : float
        Onset window ``w`` (seconds) of the event-based kappa.
    unit : float
        Time unit ``u`` (seconds) of the time-unit kappa.
    curve : sequence of float
        Tolerances of the agreement curve.
    boris_interval : float, optional
        Also compute BORIS's grid kappa with this interval.
    bootstrap : int
        Number of session resamples for the 95% percentile CIs (0: none).
    seed : int, optional
        Seed of the resampling (``numpy.random.default_rng``).

    Examples
    --------
    >>> rows = [("s1", "ann", "gaze", 1.0, 4.0), ("s1", "ann", "gaze", 6.0, 9.0),
    ...         ("s1", "ben", "gaze", 1.2, 4.1), ("s1", "ben", "gaze", 7.5, 9.0)]
    >>> frame = pd.DataFrame(rows, columns=["session", "rater", "code", "onset", "offset"])
    >>> frame["session_length"] = 30.0
    >>> result = timing_agreement(frame, tolerance=1.0, unit=0.5, curve=(1.0, 2.0))
    >>> g = result.groups["gaze"]
    >>> g.event.table.counts, g.event.n_matched, g.event.n_unmatched
    (((1, 1), (1, 12)), 1, (1, 1))
    >>> [(p.tolerance, round(p.kappa, 3)) for p in g.curve]
    [(1.0, 0.423), (2.0, 1.0)]
    >>> round(g.time_unit.kappa, 4), g.time_unit.n_units
    (0.8276, 60)

    Without ``session_length`` the session would end at 9 s, leaving at ``w = 2`` no empty
    window: the table is all agreement on gaze, chance agreement is 1 and kappa is None:

    >>> timing_agreement(frame.drop(columns="session_length"), 2.0, curve=()).groups["gaze"].event.table.note
    'chance agreement is 1: both raters used a single category throughout'
    """
    tolerance = _positive("tolerance", tolerance)
    unit = _positive("unit", unit)
    curve_values = tuple(_positive("each curve tolerance", t) for t in curve)
    interval = None if boris_interval is None else _positive("boris_interval", boris_interval)
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, numbers.Integral) or bootstrap < 0:
        raise TimingInputError(f"bootstrap must be a whole number of resamples (0 for none); got {bootstrap!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TimingInputError(f"seed must be a whole number or None; got {seed!r}")
    table = as_event_table(frame)
    problems = pair_problems(table)
    n_sessions = len(problems.sessions)
    weights = None
    if bootstrap:
        rng = np.random.default_rng(seed)
        weights = resample_multiplicities(rng, n_sessions, int(bootstrap)).astype(float)
    cache: dict[float, EventTables] = {}

    def tallies_at(w: float) -> EventTables:
        if w not in cache:
            cache[w] = event_tables(table, problems, w)
        return cache[w]

    main = tallies_at(tolerance)
    units = time_unit_tallies(table, problems, unit)
    groups: dict[str, GroupTiming] = {}
    for g, name in enumerate(table.groups):
        codes = table.codes[name]
        points = []
        for w in curve_values:
            summed = tallies_at(w).per_session[g].sum(axis=0)
            points.append(CurvePoint(w, kappa_from_counts(summed)[0], f1_scores(codes, summed).pooled))
        groups[name] = GroupTiming(
            group=name,
            codes=codes,
            event=_event_agreement(codes, main, g, weights),
            time_unit=_time_unit_agreement(units, g, weights),
            curve=tuple(points),
            boris_grid=None if interval is None else _boris(table, problems, g, interval),
        )
    return TimingAgreement(tolerance, unit, n_sessions, groups, int(bootstrap), seed)


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _ci(ci: BootstrapCI | None) -> list[float | None] | None:
    return None if ci is None or ci.low is None else [_finite(ci.low), _finite(ci.high)]


def timing_json(result: TimingAgreement) -> dict[str, Any]:
    """The JSON form of a :class:`TimingAgreement` (plain types; no NaN, undefined = None).

    Shape::

        {tolerance, unit, n_sessions,
         groups: {GROUP: {codes, event: {kappa, po, pe, n_matched, n_unmatched: [first, second],
                  table: {labels, counts}, onset_diff: {median, p90}, offset_diff: {median, p90},
                  f1: {CODE: v}, f1_all, ci95}, time_unit: {kappa, po, pe, n_units, ci95},
                  curve: [{tolerance, kappa, f1}], boris_grid: {interval, kappa}}}}

    ``boris_grid`` is present only when it was computed; ``ci95`` is ``[low, high]`` or None.
    Where a kappa is None, its object also holds ``note``: why, in words.

    Examples
    --------
    >>> rows = [("s1", "a", "x", 1.0, None), ("s1", "b", "x", 1.3, None)]
    >>> frame = pd.DataFrame(rows, columns=["session", "rater", "code", "onset", "offset"])
    >>> out = timing_json(timing_agreement(frame, tolerance=0.5, curve=(0.5,)))
    >>> out["groups"]["x"]["event"]["table"], out["groups"]["x"]["event"]["kappa"]
    ({'labels': ['x', 'none'], 'counts': [[1, 0], [0, 0]]}, None)
    """
    groups: dict[str, Any] = {}
    for name, g in result.groups.items():
        ev, tu = g.event, g.time_unit
        entry: dict[str, Any] = {
            "codes": list(g.codes),
            "event": {
                "kappa": _finite(ev.table.kappa),
                "po": _finite(ev.table.po),
                "pe": _finite(ev.table.pe),
                "n_matched": ev.n_matched,
                "n_unmatched": list(ev.n_unmatched),
                "table": {"labels": list(ev.table.labels), "counts": [list(row) for row in ev.table.counts]},
                "onset_diff": {"median": _finite(ev.onset_diff.median), "p90": _finite(ev.onset_diff.p90)},
                "offset_diff": {"median": _finite(ev.offset_diff.median), "p90": _finite(ev.offset_diff.p90)},
                "f1": {code: _finite(v) for code, v in ev.f1.per_code.items()},
                "f1_all": _finite(ev.f1.pooled),
                "ci95": _ci(ev.ci95),
            },
            "time_unit": {
                "kappa": _finite(tu.kappa),
                "po": _finite(tu.po),
                "pe": _finite(tu.pe),
                "n_units": tu.n_units,
                "ci95": _ci(tu.ci95),
            },
            "curve": [{"tolerance": p.tolerance, "kappa": _finite(p.kappa), "f1": _finite(p.f1)} for p in g.curve],
        }
        if ev.table.kappa is None and ev.table.note:
            entry["event"]["note"] = ev.table.note
        if tu.kappa is None and tu.note:
            entry["time_unit"]["note"] = tu.note
        if g.boris_grid is not None:
            entry["boris_grid"] = {"interval": g.boris_grid.interval, "kappa": _finite(g.boris_grid.kappa)}
            if g.boris_grid.kappa is None and g.boris_grid.table.note:
                entry["boris_grid"]["note"] = g.boris_grid.table.note
        groups[name] = entry
    return {"tolerance": result.tolerance, "unit": result.unit, "n_sessions": result.n_sessions, "groups": groups}


def timing_json_text(result: TimingAgreement, indent: int | None = None) -> str:
    """:func:`timing_json` as text (``allow_nan=False``, so a NaN could never slip through)."""
    return json.dumps(timing_json(result), allow_nan=False, indent=indent)
