"""Split a film into rating segments of fixed length.

Global rating scales are scored on consecutive fixed-length segments of an
interaction film (e.g. Ainsworth's sensitivity scale scored per 3-minute episode;
see the domain brief). This module is pure arithmetic: span ``i`` covers
``[i * L, (i + 1) * L)`` seconds, where ``L`` is the segment length, and a tail
shorter than ``min_last_fraction * L`` is merged into the previous span so that no
segment is too short to be rated. Boundaries are computed as ``i * L`` (not by
repeated addition) so they carry no accumulated rounding error.
"""

from __future__ import annotations

import itertools
import math
import numbers
from dataclasses import dataclass

__all__ = ["SegmentSpan", "plan_segments"]

# Tails shorter than this (seconds) are floating-point noise, not a real segment.
_TAIL_EPSILON_S = 1e-9


@dataclass(frozen=True)
class SegmentSpan:
    """One rating segment of a film.

    Attributes
    ----------
    index : int
        0-based position of the segment in the film.
    start_s : float
        Start time in seconds (inclusive).
    end_s : float
        End time in seconds (exclusive; equals the film duration for the last span).

    Examples
    --------
    >>> span = SegmentSpan(index=0, start_s=0.0, end_s=60.0)
    >>> span.duration_s
    60.0
    """

    index: int
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        """Length of the span in seconds."""
        return self.end_s - self.start_s


def plan_segments(
    duration_s: float,
    segment_seconds: float | None,
    min_last_fraction: float = 0.5,
) -> list[SegmentSpan]:
    """Plan consecutive fixed-length rating segments covering a whole film.

    Parameters
    ----------
    duration_s : float
        Film duration in seconds; must be finite and > 0.
    segment_seconds : float or None
        Segment length in seconds (> 0). ``None`` gives one segment covering the
        whole film.
    min_last_fraction : float, default 0.5
        A final span shorter than ``min_last_fraction * segment_seconds`` is merged
        into the previous span. Must be between 0 and 1.

    Returns
    -------
    list of SegmentSpan
        Spans in time order, indexed from 0, the first starting at 0 and the last
        ending at ``duration_s``.

    Raises
    ------
    ValueError
        If ``duration_s`` or ``segment_seconds`` is not a positive finite number, or
        ``min_last_fraction`` is outside [0, 1].

    Examples
    --------
    >>> [(s.start_s, s.end_s) for s in plan_segments(10.0, None)]
    [(0.0, 10.0)]
    >>> [(s.start_s, s.end_s) for s in plan_segments(9.0, 4.0)]  # 1 s tail merged
    [(0.0, 4.0), (4.0, 9.0)]
    >>> [(s.start_s, s.end_s) for s in plan_segments(11.0, 4.0)]
    [(0.0, 4.0), (4.0, 8.0), (8.0, 11.0)]
    """
    if not _is_positive_finite(duration_s):
        raise ValueError(
            f"Film duration must be a positive number of seconds, got {duration_s!r}; "
            "probe the film first to get its duration."
        )
    if not 0.0 <= min_last_fraction <= 1.0:
        raise ValueError(f"min_last_fraction must be between 0 and 1, got {min_last_fraction!r}.")
    duration = float(duration_s)
    if segment_seconds is None:
        return [SegmentSpan(index=0, start_s=0.0, end_s=duration)]
    if not _is_positive_finite(segment_seconds):
        raise ValueError(
            f"Segment length must be a positive number of seconds, got {segment_seconds!r}; "
            "use None to rate the whole film as one segment."
        )
    length = float(segment_seconds)

    full_count = int(math.floor(duration / length + _TAIL_EPSILON_S))
    tail = duration - full_count * length
    boundaries = [i * length for i in range(full_count + 1)]
    if tail > _TAIL_EPSILON_S:
        if full_count >= 1 and tail < min_last_fraction * length:
            boundaries[-1] = duration  # merge the short tail into the last full span
        else:
            boundaries.append(duration)
    else:
        boundaries[-1] = duration  # absorb rounding noise so the last span ends exactly
    if len(boundaries) < 2:  # film shorter than one segment and no tail kept
        boundaries = [0.0, duration]
    return [
        SegmentSpan(index=i, start_s=float(start), end_s=float(end))
        for i, (start, end) in enumerate(itertools.pairwise(boundaries))
    ]


def _is_positive_finite(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return math.isfinite(float(value)) and float(value) > 0
