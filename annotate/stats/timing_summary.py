"""Per-code summaries of coded events, per session and rater, and their means per trial arm.

For each (session, rater, group, code) of a validated :class:`EventTable`:

* ``rate_per_min``: events (points) or bouts (states) per minute of session;
* states also ``share_of_time``: the time covered by the code's bouts (overlapping bouts of
  the same code counted once) divided by the session length, and ``mean_bout_s``: the mean
  bout length in seconds (None when the code has no bout there).

Every rater of a session gets a row for every code of every group, zero when the code was not
used. :func:`arm_summaries` then averages per arm: first over the raters of a session (so a
double-coded session weighs as much as a single-coded one), then over sessions, with the
standard deviation over sessions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from annotate.stats.timing_input import EventTable, Kind, TimingInputError


@dataclass(frozen=True)
class CodeSummary:
    """One code in one session as coded by one rater."""

    session: str
    rater: str
    group: str
    code: str
    kind: Kind
    n_events: int
    minutes: float
    rate_per_min: float
    share_of_time: float | None
    mean_bout_s: float | None


@dataclass(frozen=True)
class ArmCodeSummary:
    """Mean (SD over sessions) of one code's per-session values within one arm."""

    arm: str
    group: str
    code: str
    kind: Kind
    n_sessions: int
    rate_per_min: float
    rate_per_min_sd: float | None
    share_of_time: float | None
    share_of_time_sd: float | None
    mean_bout_s: float | None
    n_sessions_with_bouts: int


def _covered(onsets: npt.NDArray[np.float64], offsets: npt.NDArray[np.float64]) -> float:
    """Length of the union of intervals ``[onset, offset)``."""
    total, end = 0.0, -math.inf
    order = np.argsort(onsets, kind="stable")
    for start, stop in zip(onsets[order].tolist(), offsets[order].tolist(), strict=False):
        if start > end:
            total += stop - start
            end = stop
        elif stop > end:
            total += stop - end
            end = stop
    return total


def code_summaries(table: EventTable) -> tuple[CodeSummary, ...]:
    """Rate per minute (all codes), share of time and mean bout length (states), per session and rater.

    Examples
    --------
    >>> from annotate.stats.timing_input import read_timing_events
    >>> frame = pd.DataFrame({"session": "s1", "rater": ["a", "a", "a", "b"],
    ...                       "code": ["gaze", "gaze", "now", "gaze"], "onset": [0, 30, 45, 0],
    ...                       "offset": [20, 40, None, 60], "session_length": 120})
    >>> rows = code_summaries(read_timing_events(frame))
    >>> for r in rows:
    ...     print(r.rater, r.code, r.rate_per_min, r.share_of_time, r.mean_bout_s)
    a gaze 1.0 0.25 15.0
    a now 0.5 None None
    b gaze 0.5 0.5 60.0
    b now 0.0 None None
    """
    out: list[CodeSummary] = []
    key = (table.session_idx * len(table.raters) + table.rater_idx) * len(table.groups) + table.group_idx
    for s, session in enumerate(table.sessions):
        length = float(table.session_length[s])
        minutes = length / 60.0
        for rater in table.session_raters[session]:
            r = table.raters.index(rater)
            for g, group in enumerate(table.groups):
                mine = np.flatnonzero(key == (s * len(table.raters) + r) * len(table.groups) + g)
                for c, code in enumerate(table.codes[group]):
                    idx = mine[table.code_idx[mine] == c]
                    kind = table.kinds[(group, code)]
                    n = int(idx.size)
                    share = bout = None
                    if kind == "state":
                        on, off = table.onset[idx], table.offset[idx]
                        share = round(float(_covered(on, off)) / length, 12) if length > 0 else None
                        bout = round(float((off - on).mean()), 12) if n else None
                    out.append(
                        CodeSummary(session, rater, group, code, kind, n, minutes, round(n / minutes, 12), share, bout)
                    )
    return tuple(out)


def arm_summaries(summaries: tuple[CodeSummary, ...], arm_of: Mapping[str, str]) -> tuple[ArmCodeSummary, ...]:
    """Means per arm of :func:`code_summaries` rows (raters averaged within a session first).

    ``arm_of`` maps each session to its arm; a session missing from it is an error naming it.

    Examples
    --------
    >>> from annotate.stats.timing_input import read_timing_events
    >>> frame = pd.DataFrame({"session": ["s1", "s1", "s2", "s2"], "rater": ["a", "b", "a", "b"],
    ...                       "code": "now", "onset": [1, 2, 3, 4], "offset": None, "session_length": 60})
    >>> rows = arm_summaries(code_summaries(read_timing_events(frame)), {"s1": "control", "s2": "vipp"})
    >>> [(r.arm, r.rate_per_min, r.n_sessions) for r in rows]
    [('control', 1.0, 1), ('vipp', 1.0, 1)]
    """
    missing = sorted({s.session for s in summaries} - set(arm_of))
    if missing:
        raise TimingInputError(f"no arm given for session(s) {', '.join(missing[:5])}; map every session to its arm")
    frame = pd.DataFrame([s.__dict__ for s in summaries])
    if frame.empty:
        return ()
    frame["arm"] = frame["session"].map(arm_of)
    per_session = frame.groupby(["arm", "group", "code", "kind", "session"], sort=True).agg(
        rate=("rate_per_min", "mean"), share=("share_of_time", "mean"), bout=("mean_bout_s", "mean")
    )
    out: list[ArmCodeSummary] = []
    for (arm, group, code, kind), rows in per_session.groupby(level=[0, 1, 2, 3], sort=True):
        rate, share, bout = rows["rate"], rows["share"], rows["bout"].dropna()
        n = len(rows)

        def sd(x: pd.Series) -> float | None:
            return None if x.count() < 2 else round(float(x.std(ddof=1)), 12)

        out.append(
            ArmCodeSummary(
                str(arm),
                str(group),
                str(code),
                "point" if kind == "point" else "state",
                n,
                round(float(rate.mean()), 12),
                sd(rate),
                None if kind == "point" else round(float(share.mean()), 12),
                None if kind == "point" else sd(share),
                None if bout.empty else round(float(bout.mean()), 12),
                int(bout.size),
            )
        )
    return tuple(out)
