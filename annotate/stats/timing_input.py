"""Input for timing agreement: a tidy table of coded events, read and validated.

One row per event, columns ``session, rater, code, onset, offset`` (seconds; an empty offset
makes a *point* event, a filled one a *state* with a duration), optional ``group`` (absent:
each code is its own group) and optional ``session_length`` (absent: a session ends where its
last event ends). Column names are matched without regard to case or surrounding spaces.

Every problem found is reported at once in a :class:`TimingInputError` (an
:class:`annotate.errors.InputError`) naming the row as a spreadsheet shows it (the header is
row 1, the first event row 2) or the column, and saying what to fix.

The validated :class:`EventTable` is sorted by session, group, rater, onset, code and offset
(identifiers compared as text), so every statistic computed from it is independent of the row
order of the input.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from annotate.errors import InputError

REQUIRED_COLUMNS: tuple[str, ...] = ("session", "rater", "code", "onset", "offset")
OPTIONAL_COLUMNS: tuple[str, ...] = ("group", "session_length")
NONE_LABEL = "none"
"""Label of the 'no event' row and column of an agreement table; no code may be called this."""
MAX_CODES_PER_GROUP = 62  # time-unit categories are bit sets held in one int64
MAX_LISTED_PROBLEMS = 12

Kind = Literal["point", "state"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class TimingInputError(InputError):
    """The events table cannot be analysed as given; the message names the row or column to fix."""


@dataclass(frozen=True, eq=False)
class EventTable:
    """Validated events, sorted by (session, group, rater, onset, code, offset).

    Attributes
    ----------
    sessions, raters, groups : tuple of str
        Sorted identifiers (as text). ``session_idx`` etc. index into them.
    codes : mapping of str to tuple of str
        Each group's codes, sorted; ``code_idx`` indexes into the event's group's tuple.
    kinds : mapping of (group, code) to "point" or "state"
    session_length : numpy.ndarray
        Length in seconds of each session (given, or the end of its last event).
    session_raters : mapping of str to tuple of str
        Raters with at least one event in the session, sorted as text.
    onset, offset : numpy.ndarray
        Seconds; ``offset`` is NaN for point events.
    row : numpy.ndarray
        Spreadsheet row of each event in the input (header = row 1).
    """

    sessions: tuple[str, ...]
    raters: tuple[str, ...]
    groups: tuple[str, ...]
    codes: Mapping[str, tuple[str, ...]]
    kinds: Mapping[tuple[str, str], Kind]
    session_length: FloatArray
    session_raters: Mapping[str, tuple[str, ...]]
    session_idx: IntArray
    rater_idx: IntArray
    group_idx: IntArray
    code_idx: IntArray
    onset: FloatArray
    offset: FloatArray
    row: IntArray
    has_group_column: bool

    @property
    def n_events(self) -> int:
        """Number of events (rows)."""
        return int(self.onset.size)

    @property
    def double_coded(self) -> tuple[str, ...]:
        """Sessions with events from two or more raters, sorted."""
        return tuple(s for s in self.sessions if len(self.session_raters[s]) >= 2)

    def to_frame(self) -> pd.DataFrame:
        """The events as a tidy frame (sorted), columns as the input plus ``row``."""
        codes = [self.codes[self.groups[g]][c] for g, c in zip(self.group_idx, self.code_idx, strict=False)]
        return pd.DataFrame(
            {
                "session": np.asarray(self.sessions, dtype=object)[self.session_idx],
                "rater": np.asarray(self.raters, dtype=object)[self.rater_idx],
                "group": np.asarray(self.groups, dtype=object)[self.group_idx],
                "code": codes,
                "onset": self.onset,
                "offset": self.offset,
                "session_length": self.session_length[self.session_idx],
                "row": self.row,
            }
        )


class _Problems:
    """Collects (row, message) problems and raises them together."""

    def __init__(self) -> None:
        self.items: list[tuple[int, str]] = []

    def add_rows(self, rows: IntArray, make: Callable[[int], str], limit: int = MAX_LISTED_PROBLEMS) -> None:
        for r in rows[:limit]:
            self.items.append((int(r), str(make(int(r)))))
        if rows.size > limit:
            self.items.append((int(rows[limit]), f"... and {rows.size - limit} more rows with the same problem"))

    def add(self, row: int, message: str) -> None:
        self.items.append((row, message))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        lines = [msg for _, msg in sorted(self.items, key=lambda item: item[0])]
        shown = lines[: 3 * MAX_LISTED_PROBLEMS]
        if len(lines) > len(shown):
            shown.append(f"... and {len(lines) - len(shown)} more problems")
        if len(shown) == 1:
            raise TimingInputError(f"events table: {shown[0]}")
        raise TimingInputError(f"events table: {len(lines)} problems:\n  " + "\n  ".join(shown))


def _column_map(frame: pd.DataFrame) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in frame.columns:
        key = str(name).strip().lower()
        if key in found:
            raise TimingInputError(f"events table: columns {found[key]!r} and {name!r} both mean {key!r}; keep one")
        found[key] = str(name)
    missing = [c for c in REQUIRED_COLUMNS if c not in found]
    if missing:
        listed = ", ".join(repr(str(c)) for c in frame.columns) or "none"
        raise TimingInputError(
            f"events table: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(columns present: {listed}); the table needs session, rater, code, onset, offset "
            "and may add group and session_length"
        )
    return found


def _text_column(values: pd.Series, name: str, rows: IntArray, problems: _Problems) -> npt.NDArray[np.object_]:
    """Identifiers as stripped text (factorised first, so each distinct value is handled once)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = np.array([str(v).strip() for v in uniques] + [""], dtype=object)
    stripped = text[codes]  # code -1 (missing) picks the trailing ""
    empty = rows[stripped == ""]
    problems.add_rows(empty, lambda r: f"row {r}: {name} is empty; every event needs a {name}")
    return stripped


def _number_column(
    values: pd.Series, name: str, rows: IntArray, problems: _Problems
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Numbers and an 'empty' mask; text that is not a number is a problem naming the row."""
    if pd.api.types.is_bool_dtype(values):
        problems.add(0, f"column {name}: holds true/false values; write seconds as numbers such as 12.5")
        return np.full(len(values), np.nan), np.zeros(len(values), dtype=bool)
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        empty = np.isnan(numbers)
    else:
        raw = values.astype(object)
        blank = raw.isna().to_numpy() | np.array([isinstance(v, str) and not v.strip() for v in raw], dtype=bool)
        converted = pd.to_numeric(raw.where(~blank, None), errors="coerce")
        numbers = np.asarray(converted, dtype=float)
        bad = ~blank & np.isnan(numbers)
        bad |= np.array([isinstance(v, bool) for v in raw], dtype=bool)
        shown = raw.to_numpy()
        problems.add_rows(
            rows[bad],
            lambda r: f"row {r}: {name} {_show(shown[r - 2])} is not a number; write seconds as a number such as 12.5",
        )
        numbers = np.where(bad, np.nan, numbers)
        empty = blank
    infinite = np.isinf(numbers)
    problems.add_rows(rows[infinite], lambda r: f"row {r}: {name} must be a finite number of seconds")
    numbers = np.where(infinite, np.nan, numbers)
    return numbers, empty


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _factorize(values: npt.NDArray[np.object_]) -> tuple[IntArray, tuple[str, ...]]:
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), sort=True)
    return codes.astype(np.int64), tuple(str(u) for u in uniques)


def read_timing_events(source: str | os.PathLike[str] | pd.DataFrame) -> EventTable:
    """Read and validate a tidy events table from a CSV file or a DataFrame.

    Parameters
    ----------
    source : path or DataFrame
        CSV (UTF-8, header row) or a frame with columns ``session, rater, code, onset, offset``
        and optionally ``group`` and ``session_length``.

    Returns
    -------
    EventTable

    Raises
    ------
    TimingInputError
        Naming each bad row (spreadsheet numbering, header = row 1) or column: a missing
        column, text where a number belongs, an empty identifier or onset, a negative onset, an
        offset before its onset, a code used both as point and as state, a reserved code
        ``none``, a session length that varies within a session or ends before an event, or
        no session coded by two raters.

    Examples
    --------
    >>> frame = pd.DataFrame({"session": ["s1"] * 3, "rater": ["b", "a", "a"],
    ...                       "code": ["gaze", "gaze", "smile"], "onset": [1.0, 1.2, 5.0],
    ...                       "offset": [4.0, 3.9, None]})
    >>> events = read_timing_events(frame)
    >>> events.groups, events.kinds[("smile", "smile")], events.session_length.tolist()
    (('gaze', 'smile'), 'point', [5.0])
    >>> bad = frame.assign(onset=["1", "x", "-2"])
    >>> read_timing_events(bad)
    Traceback (most recent call last):
    ...
    annotate.stats.timing_input.TimingInputError: events table: 2 problems:
      row 3: onset 'x' is not a number; write seconds as a number such as 12.5
      row 4: onset -2 is negative; times are seconds from the start of the session (0 or more)
    """
    if isinstance(source, pd.DataFrame):
        frame = source
    else:
        try:
            frame = pd.read_csv(source, dtype=str, keep_default_na=False, skipinitialspace=True)
        except FileNotFoundError:
            raise TimingInputError(f"{source}: events file not found") from None
        except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise TimingInputError(f"{source}: cannot read the events CSV ({exc})") from None
    names = _column_map(frame)
    n = len(frame)
    rows = np.arange(2, n + 2, dtype=np.int64)
    problems = _Problems()
    session = _text_column(frame[names["session"]], "session", rows, problems)
    rater = _text_column(frame[names["rater"]], "rater", rows, problems)
    code = _text_column(frame[names["code"]], "code", rows, problems)
    has_group = "group" in names
    group = _text_column(frame[names["group"]], "group", rows, problems) if has_group else code.copy()
    onset, onset_empty = _number_column(frame[names["onset"]], "onset", rows, problems)
    offset, _ = _number_column(frame[names["offset"]], "offset", rows, problems)
    problems.add_rows(rows[onset_empty], lambda r: f"row {r}: onset is empty; every event needs an onset in seconds")
    negative = onset < 0
    problems.add_rows(
        rows[negative],
        lambda r: (
            f"row {r}: onset {_num(onset[r - 2])} is negative; times are seconds from the start of the "
            "session (0 or more)"
        ),
    )
    backwards = offset < onset
    problems.add_rows(
        rows[backwards],
        lambda r: (
            f"row {r}: offset {_num(offset[r - 2])} is before onset {_num(onset[r - 2])}; correct the times "
            "or swap them"
        ),
    )
    reserved = code == NONE_LABEL
    problems.add_rows(
        rows[reserved],
        lambda r: f"row {r}: code 'none' is reserved for 'no event' in agreement tables; rename the code",
    )
    if "session_length" in names:
        length, length_empty = _number_column(frame[names["session_length"]], "session_length", rows, problems)
        problems.add_rows(
            rows[length_empty],
            lambda r: f"row {r}: session_length is empty; give every row of the session its length in seconds",
        )
        nonpositive = length <= 0
        problems.add_rows(
            rows[nonpositive],
            lambda r: f"row {r}: session_length {_num(length[r - 2])} must be more than 0 seconds",
        )
    else:
        length = None
    problems.raise_if_any()

    session_idx, sessions = _factorize(session)
    rater_idx, raters = _factorize(rater)
    group_idx, groups = _factorize(group)
    is_point = np.isnan(offset)
    end = np.where(is_point, onset, offset)

    # per group: its codes (sorted), each code's kind, consistent across rows
    codes: dict[str, tuple[str, ...]] = {}
    kinds: dict[tuple[str, str], Kind] = {}
    code_idx = np.zeros(n, dtype=np.int64)
    code_global, code_names = _factorize(code)
    pair_keys, pair_idx = np.unique(group_idx * len(code_names) + code_global, return_inverse=True)
    pairs = [(int(k) // len(code_names), code_names[int(k) % len(code_names)]) for k in pair_keys]
    first_point = np.full(len(pairs), -1, dtype=np.int64)
    first_state = np.full(len(pairs), -1, dtype=np.int64)
    order = np.arange(n)[::-1]  # assign in reverse so the first row wins
    first_point[pair_idx[order][is_point[order]]] = rows[order][is_point[order]]
    first_state[pair_idx[order][~is_point[order]]] = rows[order][~is_point[order]]
    local: dict[int, int] = {}
    for p, (g, c) in enumerate(pairs):
        name = groups[g]
        codes.setdefault(name, ())
        codes[name] = (*codes[name], str(c))
        if first_point[p] > 0 and first_state[p] > 0:
            problems.add(
                int(min(first_point[p], first_state[p])),
                f"row {first_point[p]}: code {c!r}{_in_group(name, has_group)} has no offset (a point event) but row "
                f"{first_state[p]} gives it one (a state); give every {c!r} row an offset, or none",
            )
        kinds[(name, str(c))] = "point" if first_point[p] > 0 else "state"
        local[p] = len(codes[name]) - 1
    code_idx = np.array([local[p] for p in range(len(pairs))], dtype=np.int64)[pair_idx]
    for name, group_codes in codes.items():
        if len(group_codes) > MAX_CODES_PER_GROUP:
            problems.add(
                0,
                f"column group: group {name!r} has {len(group_codes)} codes; at most "
                f"{MAX_CODES_PER_GROUP} are supported, split it into smaller groups",
            )

    # session lengths: given (constant within a session, not before any event) or last event end
    by_session = pd.DataFrame({"s": session_idx, "end": end, "length": np.nan if length is None else length})
    stats = by_session.groupby("s", sort=True).agg(end=("end", "max"), lo=("length", "min"), hi=("length", "max"))
    last_end = np.maximum(stats["end"].to_numpy(dtype=float), 0.0)
    if length is not None:
        lo = stats["lo"].to_numpy(dtype=float)
        hi = stats["hi"].to_numpy(dtype=float)
        for s in np.flatnonzero(lo != hi):
            in_s = rows[session_idx == s]
            values = length[session_idx == s]
            other = in_s[values != values[0]][0]
            problems.add(
                int(in_s[0]),
                f"row {other}: session_length {_num(length[other - 2])} differs from "
                f"{_num(values[0])} in row {in_s[0]} of the same session {sessions[s]!r}; "
                "a session has one length",
            )
        session_length = hi
        beyond = end > session_length[session_idx] * (1 + 1e-12)
        problems.add_rows(
            rows[beyond],
            lambda r: (
                f"row {r}: event ends at {_num(end[r - 2])} s, after the end of session "
                f"{sessions[session_idx[r - 2]]!r} (session_length {_num(session_length[session_idx[r - 2]])}); "
                "correct the time or the session length"
            ),
        )
    else:
        session_length = last_end
        for s in np.flatnonzero(last_end <= 0):
            problems.add(
                int(rows[session_idx == s][0]),
                f"session {sessions[s]!r} has length 0 (every event is at 0 s); add a session_length column",
            )
    problems.raise_if_any()

    session_raters: dict[str, tuple[str, ...]] = {}
    pair_keys = np.unique(session_idx * len(raters) + rater_idx)
    for key in pair_keys.tolist():
        s_pos, r_pos = divmod(int(key), len(raters))
        session_raters[sessions[s_pos]] = (*session_raters.get(sessions[s_pos], ()), raters[r_pos])
    if not any(len(v) >= 2 for v in session_raters.values()):
        shown = ", ".join(repr(s) for s in sessions[:5]) + (" ..." if len(sessions) > 5 else "")
        raise TimingInputError(
            f"events table: no session is coded by two or more raters (sessions: {shown}); timing agreement "
            "compares raters who coded the same session: check the session and rater columns"
        )

    offset_key = np.where(is_point, -1.0, offset)
    order = np.lexsort((offset_key, code_idx, onset, rater_idx, group_idx, session_idx))
    return EventTable(
        sessions=sessions,
        raters=raters,
        groups=groups,
        codes=codes,
        kinds=kinds,
        session_length=np.asarray(session_length, dtype=float),
        session_raters=session_raters,
        session_idx=session_idx[order],
        rater_idx=rater_idx[order],
        group_idx=group_idx[order],
        code_idx=code_idx[order],
        onset=onset[order],
        offset=offset[order],
        row=rows[order],
        has_group_column=has_group,
    )


def _in_group(name: str, has_group: bool) -> str:
    return f" (group {name!r})" if has_group else ""


def _num(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def as_event_table(source: EventTable | str | os.PathLike[str] | pd.DataFrame) -> EventTable:
    """``source`` itself when already validated, else :func:`read_timing_events` of it."""
    return source if isinstance(source, EventTable) else read_timing_events(source)
