"""Agreement tables of event coding: event-based (onset matching) and time-unit based.

Sources
-------
* Bakeman, R., Quera, V. & Gnisci, A. (2009). Observer agreement for timed-event sequential
  data: a comparison of time-based and event-based algorithms. *Behav. Res. Methods* 41,
  137-147: the two families of kappa for timed events, and the advice to report both.
* Bakeman, R. & Quera, V. (2011). *Sequential Analysis and Observational Methods for the
  Behavioral Sciences*, ch. 5: time-unit kappa (one tally per time unit and coder pair) and
  event kappa with a tolerance window, where an event one coder logged and the other did not
  is tallied against a *nil* ("none") code.
* Cohen, J. (1960). A coefficient of agreement for nominal scales. *Educ. Psychol. Meas.* 20,
  37-46: ``kappa = (p_o - p_e) / (1 - p_e)`` on the summed table.

Definitions (issue 19, the contract)
------------------------------------
For a group and a pair of raters of one session (the first, in text order, is the table's row):

* **Event table.** Events of the group matched one-to-one by onset within ``w`` seconds
  (:mod:`annotate.stats.timing_match`). A pair counts in cell (code of first, code of second);
  an unmatched event in (code, none) or (none, code); (none, none) receives
  ``max(0, floor(L / (2 w)) - pairs - unmatched events)`` with ``L`` the session length: the
  number of disjoint windows of width ``2 w`` the session holds, less those taken by events,
  is the count of windows where both coders saw nothing.
* **Time-unit table.** Units ``[k u, (k + 1) u)``, ``k = 0 .. ceil(L / u) - 1``. A state covers a
  unit when ``onset <= midpoint < offset``; a point lies in the unit holding its onset. A
  coder's category in a unit is the ``+``-joined sorted codes present, or ``none``.

Tables are summed over rater pairs and sessions before kappa is computed. Every per-session
table is kept, so a bootstrap over sessions only has to add rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from annotate.stats.timing_input import NONE_LABEL, EventTable
from annotate.stats.timing_match import match_sorted_batch, ranges

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_GRID_SLACK = 1e-9  # relative: a time within 1e-9 units of a grid line is taken to be on it


def snap(x: FloatArray) -> FloatArray:
    """``x`` with values within ``1e-9`` (relative) of an integer set to that integer.

    Binary floating point puts 0.35 / 0.1 - 0.5 (a state starting on the midpoint of unit 3)
    at 2.9999999999999996 and 0.3 / 0.1 at 2.9999999999999996; snapping keeps a time given on
    the grid on it, so ``floor``/``ceil`` see the value the user wrote.

    Examples
    --------
    >>> snap(np.array([0.35 / 0.1 - 0.5, 0.3 / 0.1, 2.5, 600 / 0.1])).tolist()
    [3.0, 3.0, 2.5, 6000.0]
    """
    nearest = np.rint(x)
    return np.where(np.abs(x - nearest) <= _GRID_SLACK * np.maximum(1.0, np.abs(x)), nearest, x)


@dataclass(frozen=True)
class KappaTable:
    """Cohen's kappa of a square agreement table (rows = first rater).

    ``kappa`` is None when undefined; ``note`` then says why.
    """

    labels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]
    kappa: float | None
    po: float | None
    pe: float | None
    n: int
    note: str | None = None


def kappa_from_counts(counts: npt.ArrayLike) -> tuple[float | None, float | None, float | None, str | None]:
    """``(kappa, p_o, p_e, note)`` of a square table of counts (Cohen 1960).

    Examples
    --------
    Cohen (1960), n = 200:

    >>> k, po, pe, note = kappa_from_counts([[88, 14, 18], [10, 40, 10], [2, 6, 12]])
    >>> round(k, 3), round(po, 2), round(pe, 2), note
    (0.492, 0.7, 0.41, None)
    >>> kappa_from_counts([[5, 0], [0, 0]])
    (None, 1.0, 1.0, 'chance agreement is 1: both raters used a single category throughout')
    """
    table = np.asarray(counts, dtype=float)
    n = float(table.sum())
    if n == 0:
        return None, None, None, "the table is empty: nothing was coded and no window or unit was compared"
    po = float(np.trace(table) / n)
    pe = float((table.sum(axis=1) * table.sum(axis=0)).sum() / n**2)
    if pe >= 1 - 1e-15:
        return None, po, pe, "chance agreement is 1: both raters used a single category throughout"
    return (po - pe) / (1 - pe), po, pe, None


def kappa_table(labels: Sequence[str], counts: npt.ArrayLike) -> KappaTable:
    """A :class:`KappaTable` from labels and a square table of counts.

    Examples
    --------
    >>> t = kappa_table(["gaze", "none"], [[8, 2], [1, 9]])
    >>> round(t.kappa, 3), t.n
    (0.7, 20)
    """
    table = np.asarray(counts, dtype=np.int64)
    kappa, po, pe, note = kappa_from_counts(table)
    return KappaTable(
        tuple(labels), tuple(tuple(int(v) for v in row) for row in table), kappa, po, pe, int(table.sum()), note
    )


@dataclass(frozen=True, eq=False)
class PairProblems:
    """Every (group, double-coded session, rater pair) of an :class:`EventTable`.

    ``first_events[first_ptr[p]:first_ptr[p + 1]]`` are indices (into the table's event arrays)
    of problem ``p``'s first rater's events of the group, sorted by onset, code and offset;
    likewise ``second_*``. ``session`` indexes ``sessions`` (the double-coded sessions).
    """

    sessions: tuple[str, ...]
    group: IntArray
    session: IntArray
    first_rater: IntArray
    second_rater: IntArray
    first_events: IntArray
    first_ptr: IntArray
    second_events: IntArray
    second_ptr: IntArray
    length: FloatArray

    @property
    def n_problems(self) -> int:
        """Number of (group, session, pair) problems."""
        return int(self.group.size)


def pair_problems(table: EventTable) -> PairProblems:
    """All rater pairs of every double-coded session, for every group of ``table``."""
    n_groups, n_raters = len(table.groups), len(table.raters)
    keys = (table.session_idx * n_groups + table.group_idx) * n_raters + table.rater_idx
    stream_keys, stream_start, stream_len = np.unique(keys, return_index=True, return_counts=True)
    dc = table.double_coded
    session_pos = {s: i for i, s in enumerate(table.sessions)}
    rater_pos = {r: i for i, r in enumerate(table.raters)}
    groups: list[int] = []
    sessions: list[int] = []
    firsts: list[int] = []
    seconds: list[int] = []
    for d, name in enumerate(dc):
        raters = [rater_pos[r] for r in table.session_raters[name]]
        pairs = [(r1, r2) for i, r1 in enumerate(raters) for r2 in raters[i + 1 :]]
        for g in range(n_groups):
            for r1, r2 in pairs:
                groups.append(g)
                sessions.append(d)
                firsts.append(r1)
                seconds.append(r2)
    group = np.asarray(groups, dtype=np.int64)
    session = np.asarray(sessions, dtype=np.int64)
    table_session = np.asarray([session_pos[s] for s in dc], dtype=np.int64)[session]

    def gather(rater: IntArray) -> tuple[IntArray, IntArray]:
        key = (table_session * n_groups + group) * n_raters + rater
        pos = np.searchsorted(stream_keys, key)
        pos_c = np.minimum(pos, max(stream_keys.size - 1, 0))
        present = (pos < stream_keys.size) & (stream_keys[pos_c] == key)
        start = np.where(present, stream_start[pos_c], 0).astype(np.int64)
        size = np.where(present, stream_len[pos_c], 0).astype(np.int64)
        return ranges(start, size), np.concatenate([[0], np.cumsum(size)]).astype(np.int64)

    first_events, first_ptr = gather(np.asarray(firsts, dtype=np.int64))
    second_events, second_ptr = gather(np.asarray(seconds, dtype=np.int64))
    return PairProblems(
        dc,
        group,
        session,
        np.asarray(firsts, dtype=np.int64),
        np.asarray(seconds, dtype=np.int64),
        first_events,
        first_ptr,
        second_events,
        second_ptr,
        table.session_length[table_session],
    )


@dataclass(frozen=True, eq=False)
class EventTables:
    """Event-based tallies at one tolerance, per group.

    ``per_session[g]`` has shape ``(n_sessions, q + 1, q + 1)`` for group ``g`` with ``q``
    codes (last row/column = none). ``onset_diff[g]`` holds ``|Δ onset|`` of every matched pair,
    ``offset_diff[g]`` ``|Δ offset|`` of matched pairs of two states.
    """

    tolerance: float
    per_session: tuple[IntArray, ...]
    onset_diff: tuple[FloatArray, ...]
    offset_diff: tuple[FloatArray, ...]
    n_matched: tuple[int, ...]
    n_unmatched: tuple[tuple[int, int], ...]


def event_tables(table: EventTable, problems: PairProblems, tolerance: float) -> EventTables:
    """Match every problem at ``tolerance`` and tally per-session agreement tables."""
    fe, se = problems.first_events, problems.second_events
    ia, ib = match_sorted_batch(table.onset[fe], problems.first_ptr, table.onset[se], problems.second_ptr, tolerance)
    n_prob = problems.n_problems
    prob_a = np.repeat(np.arange(n_prob), np.diff(problems.first_ptr))
    prob_b = np.repeat(np.arange(n_prob), np.diff(problems.second_ptr))
    matched_a = np.zeros(fe.size, dtype=bool)
    matched_b = np.zeros(se.size, dtype=bool)
    matched_a[ia] = True
    matched_b[ib] = True
    pair_prob = prob_a[ia]
    n_pairs = np.bincount(pair_prob, minlength=n_prob)
    n_lone_a = np.bincount(prob_a[~matched_a], minlength=n_prob)
    n_lone_b = np.bincount(prob_b[~matched_b], minlength=n_prob)
    windows = np.floor(snap(problems.length / (2.0 * tolerance))).astype(np.int64)
    empty_windows = np.maximum(0, windows - n_pairs - n_lone_a - n_lone_b)
    code = table.code_idx
    n_sessions = len(problems.sessions)
    per_session: list[IntArray] = []
    onset_diff: list[FloatArray] = []
    offset_diff: list[FloatArray] = []
    n_matched: list[int] = []
    n_unmatched: list[tuple[int, int]] = []
    for g, name in enumerate(table.groups):
        q = len(table.codes[name])
        side = q + 1
        in_g = problems.group == g
        pairs_g = in_g[pair_prob]
        lone_a = ~matched_a & in_g[prob_a]
        lone_b = ~matched_b & in_g[prob_b]
        flat = [
            problems.session[pair_prob[pairs_g]] * side * side + code[fe[ia[pairs_g]]] * side + code[se[ib[pairs_g]]],
            problems.session[prob_a[lone_a]] * side * side + code[fe[lone_a]] * side + q,
            problems.session[prob_b[lone_b]] * side * side + q * side + code[se[lone_b]],
        ]
        counts = np.bincount(np.concatenate(flat), minlength=n_sessions * side * side)
        counts += np.bincount(
            problems.session[in_g] * side * side + q * side + q,
            weights=empty_windows[in_g],
            minlength=n_sessions * side * side,
        ).astype(np.int64)
        per_session.append(counts.reshape(n_sessions, side, side).astype(np.int64))
        on_a, on_b = table.onset[fe[ia[pairs_g]]], table.onset[se[ib[pairs_g]]]
        off_a, off_b = table.offset[fe[ia[pairs_g]]], table.offset[se[ib[pairs_g]]]
        onset_diff.append(np.abs(on_a - on_b))
        both = ~np.isnan(off_a) & ~np.isnan(off_b)
        offset_diff.append(np.abs(off_a[both] - off_b[both]))
        n_matched.append(int(pairs_g.sum()))
        n_unmatched.append((int(lone_a.sum()), int(lone_b.sum())))
    return EventTables(
        float(tolerance),
        tuple(per_session),
        tuple(onset_diff),
        tuple(offset_diff),
        tuple(n_matched),
        tuple(n_unmatched),
    )


@dataclass(frozen=True)
class Spread:
    """Median and 90th percentile (linear interpolation) of absolute time differences, seconds."""

    median: float | None
    p90: float | None
    n: int
    note: str | None = None


def spread(values: FloatArray, what: str) -> Spread:
    """:class:`Spread` of ``values``; None with a note when there are none.

    Examples
    --------
    >>> spread(np.array([0.1, 0.2, 0.3, 0.4, 1.0]), "pairs")
    Spread(median=0.3, p90=0.76, n=5, note=None)
    >>> spread(np.array([]), "matched state pairs").note
    'no matched state pairs'
    """
    if values.size == 0:
        return Spread(None, None, 0, f"no {what}")
    median, p90 = np.percentile(values, [50, 90])
    return Spread(round(float(median), 12), round(float(p90), 12), int(values.size))


@dataclass(frozen=True)
class F1Scores:
    """Per code ``F1 = 2 TP / (2 TP + FP + FN)`` and the pooled F1 over all codes of the group."""

    per_code: Mapping[str, float | None]
    pooled: float | None
    note: str | None = None


def f1_scores(codes: Sequence[str], counts: npt.ArrayLike) -> F1Scores:
    """F1 from an event table whose last row and column are none.

    ``TP`` of a code is its diagonal cell; ``FP + FN`` are its other events on either side, so
    ``F1_c = 2 T_cc / (row_c + col_c)`` and pooled ``F1 = 2 sum_c T_cc / (events of both)``.

    Examples
    --------
    >>> f = f1_scores(["a", "b"], [[3, 1, 1], [0, 2, 0], [1, 0, 9]])
    >>> f.per_code, round(f.pooled, 4)
    ({'a': 0.6667, 'b': 0.8}, 0.7143)
    """
    t = np.asarray(counts, dtype=float)
    q = len(codes)
    per_code: dict[str, float | None] = {}
    for c, name in enumerate(codes):
        denominator = t[c, :].sum() + t[:, c].sum()
        per_code[name] = None if denominator == 0 else round(float(2 * t[c, c] / denominator), 4)
    events = t[:q, :].sum() + t[:, :q].sum()
    if events == 0:
        return F1Scores(per_code, None, "no events of this group were coded")
    return F1Scores(per_code, float(2 * np.trace(t[:q, :q]) / events))


@dataclass(frozen=True, eq=False)
class TimeUnitTallies:
    """Time-unit sufficient statistics per group and session.

    ``n_units[g][s]`` units compared (summed over pairs), ``agree[g][s]`` units where the two
    categories are equal, ``first[g][s, c]`` / ``second[g][s, c]`` units the first / second
    rater spent in category ``categories[g][c]`` (a bit set of code indices).
    """

    unit: float
    categories: tuple[IntArray, ...]
    n_units: tuple[IntArray, ...]
    agree: tuple[IntArray, ...]
    first: tuple[IntArray, ...]
    second: tuple[IntArray, ...]


def category_label(mask: int, codes: Sequence[str]) -> str:
    """``+``-joined codes of a bit set, or none.

    Examples
    --------
    >>> category_label(0b101, ["away", "gaze", "smile"]), category_label(0, ["away"])
    ('away+smile', 'none')
    """
    present = [codes[i] for i in range(len(codes)) if mask >> i & 1]
    return "+".join(present) if present else NONE_LABEL


def time_unit_tallies(table: EventTable, problems: PairProblems, unit: float) -> TimeUnitTallies:
    """Time-unit tallies of every problem (see the module docstring for the unit rules)."""
    n_groups, n_raters = len(table.groups), len(table.raters)
    n_units_session = np.ceil(snap(table.session_length / unit)).astype(np.int64)
    stride = int(n_units_session.max()) + 2
    # unit ranges [k0, k1) of every event
    is_point = np.isnan(table.offset)
    n_s = n_units_session[table.session_idx]
    k0 = np.where(is_point, np.floor(snap(table.onset / unit)), np.ceil(snap(table.onset / unit - 0.5)))
    k1 = np.where(is_point, k0 + 1, np.ceil(snap(np.nan_to_num(table.offset) / unit - 0.5)))
    k0 = np.clip(k0, 0, np.where(is_point, n_s - 1, n_s)).astype(np.int64)
    k1 = np.clip(np.where(is_point, k0 + 1, k1), 0, n_s).astype(np.int64)
    keep = k1 > k0
    stream = ((table.session_idx * n_groups + table.group_idx) * n_raters + table.rater_idx)[keep]
    q_max = max(len(c) for c in table.codes.values())
    stream_code = stream * q_max + table.code_idx[keep]
    # presence of each (stream, code): +1 at k0, -1 at k1, evaluated after the last change at a unit
    key = np.concatenate([stream_code * stride + k0[keep], stream_code * stride + k1[keep]])
    delta = np.concatenate([np.ones(int(keep.sum()), dtype=np.int64), -np.ones(int(keep.sum()), dtype=np.int64)])
    order = np.argsort(key, kind="stable")
    key, delta = key[order], delta[order]
    count = np.cumsum(delta)
    last = np.ones(key.size, dtype=bool)
    last[:-1] = key[1:] != key[:-1]
    key, present = key[last], count[last] > 0
    sc = key // stride
    before = np.zeros(key.size, dtype=bool)
    before[1:] = present[:-1] & (sc[1:] == sc[:-1])
    change = present != before
    bit = np.left_shift(np.int64(1), (sc % q_max)).astype(np.int64)
    t_stream = (sc // q_max)[change]
    t_pos = (key % stride)[change]
    t_delta = np.where(present[change], bit[change], -bit[change])
    # mask of every stream after each change point
    key2 = t_stream * stride + t_pos
    order = np.argsort(key2, kind="stable")
    key2, t_delta = key2[order], t_delta[order]
    mask = np.cumsum(t_delta)
    last = np.ones(key2.size, dtype=bool)
    last[:-1] = key2[1:] != key2[:-1]
    change_key, change_mask = key2[last], mask[last]

    # per problem: breakpoints of both raters plus 0 and N, then categories of each segment
    dc_pos = np.asarray([table.sessions.index(s) for s in problems.sessions], dtype=np.int64)
    t_session = dc_pos[problems.session]
    n_prob = problems.n_problems
    stream_first = (t_session * n_groups + problems.group) * n_raters + problems.first_rater
    stream_second = (t_session * n_groups + problems.group) * n_raters + problems.second_rater
    change_stream = change_key // stride
    change_pos = change_key % stride

    def breakpoints_of(streams: IntArray) -> tuple[IntArray, IntArray]:
        lo = np.searchsorted(change_stream, streams, side="left")
        hi = np.searchsorted(change_stream, streams, side="right")
        idx = ranges(lo.astype(np.int64), (hi - lo).astype(np.int64))
        return np.repeat(np.arange(n_prob), hi - lo), change_pos[idx]

    p1, pos1 = breakpoints_of(stream_first)
    p2, pos2 = breakpoints_of(stream_second)
    n_prob_units = n_units_session[t_session]
    bp = np.sort(
        np.concatenate(
            [
                p1 * stride + pos1,
                p2 * stride + pos2,
                np.arange(n_prob) * stride,
                np.arange(n_prob) * stride + n_prob_units,
            ]
        )
    )
    bp = bp[np.concatenate([[True], bp[1:] != bp[:-1]])]
    bp_prob, bp_pos = bp // stride, bp % stride
    seg_len = np.zeros(bp.size, dtype=np.int64)
    same = bp_prob[1:] == bp_prob[:-1]
    seg_len[:-1] = np.where(same, bp_pos[1:] - bp_pos[:-1], 0)
    seg_len = np.where(bp_pos >= n_prob_units[bp_prob], 0, seg_len)

    def value_at(streams: IntArray) -> IntArray:
        query = streams[bp_prob] * stride + bp_pos
        idx = np.searchsorted(change_key, query, side="right") - 1
        idx_c = np.maximum(idx, 0)
        valid = (idx >= 0) & (change_stream[idx_c] == streams[bp_prob])
        return np.where(valid, change_mask[idx_c], 0).astype(np.int64)

    m1, m2 = value_at(stream_first), value_at(stream_second)
    used = seg_len > 0
    bp_prob, m1, m2, seg_len = bp_prob[used], m1[used], m2[used], seg_len[used]
    seg_group = problems.group[bp_prob]
    seg_session = problems.session[bp_prob]
    n_sessions = len(problems.sessions)
    categories: list[IntArray] = []
    n_units: list[IntArray] = []
    agree: list[IntArray] = []
    first: list[IntArray] = []
    second: list[IntArray] = []
    for g in range(n_groups):
        in_g = seg_group == g
        s_g, w_g = seg_session[in_g], seg_len[in_g]
        inverse, cats = pd.factorize(np.concatenate([m1[in_g], m2[in_g], [0]]), sort=True)
        c1, c2 = inverse[: s_g.size], inverse[s_g.size : 2 * s_g.size]
        n_c = cats.size
        units = np.bincount(
            problems.session[problems.group == g], weights=n_prob_units[problems.group == g], minlength=n_sessions
        ).astype(np.int64)
        n_units.append(units)
        agree.append(np.bincount(s_g, weights=w_g * (c1 == c2), minlength=n_sessions).astype(np.int64))
        first.append(
            np.bincount(s_g * n_c + c1, weights=w_g, minlength=n_sessions * n_c)
            .reshape(n_sessions, n_c)
            .astype(np.int64)
        )
        second.append(
            np.bincount(s_g * n_c + c2, weights=w_g, minlength=n_sessions * n_c)
            .reshape(n_sessions, n_c)
            .astype(np.int64)
        )
        categories.append(cats.astype(np.int64))
    return TimeUnitTallies(float(unit), tuple(categories), tuple(n_units), tuple(agree), tuple(first), tuple(second))


def time_unit_kappa(
    n_units: float, agree: float, first: FloatArray, second: FloatArray
) -> tuple[float | None, float | None, float | None, str | None]:
    """``(kappa, p_o, p_e, note)`` from time-unit sufficient statistics (summed over sessions).

    Examples
    --------
    >>> k = time_unit_kappa(10, 8, np.array([5.0, 5.0]), np.array([5.0, 5.0]))
    >>> [round(v, 3) for v in k[:3]], k[3]
    ([0.6, 0.8, 0.5], None)
    """
    if n_units == 0:
        return None, None, None, "no time units: every session has length 0"
    po = agree / n_units
    pe = float((np.asarray(first) * np.asarray(second)).sum() / n_units**2)
    if pe >= 1 - 1e-15:
        return None, float(po), pe, "chance agreement is 1: both raters were in one category throughout"
    return float((po - pe) / (1 - pe)), float(po), pe, None


def windows_in(length: float, tolerance: float) -> int:
    """``floor(L / (2 w))``: disjoint windows of width ``2 w`` in a session of ``L`` seconds.

    Examples
    --------
    >>> windows_in(600, 0.5), windows_in(10, 3)
    (600, 1)
    """
    return math.floor(float(snap(np.array([length / (2 * tolerance)]))[0]))
