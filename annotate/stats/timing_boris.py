"""BORIS-compatible grid kappa: the classic "IRR - Cohen's kappa (time-unit)" of BORIS.

What BORIS does (read in ``boris/irr.py``, functions ``cohen_kappa`` and ``subj_behav_modif``,
with the events loaded by ``boris/db_functions.py::load_aggregated_events_in_db``; the same
algorithm from BORIS 7 to 9.x)
-----------------------------------------------------------------------------------------------
1. For the two observations (coders), ``first`` = the smallest start and ``last`` = the largest
   stop over both coders' selected events (a point event's stop is its start).
2. Ticks ``t = first, first + interval, ...`` while ``t <= last``, counted in ``Decimal``:
   ``t_0 = Decimal(str(first))`` and ``interval = Decimal(str(interval))``.
3. At each tick, for each coder: the state events with ``start <= t <= stop`` (SQL ``BETWEEN``,
   both ends inclusive) then the point events with ``|start - t| <= interval / 2``. The coder's
   category is that list (so two point events in reach count twice).
4. One tally per tick in a table over all categories seen, and
   ``K = (agreements - sum_ef) / (total - sum_ef)`` with ``sum_ef = sum_i row_i col_i / total``
   (Cohen's kappa), rounded by BORIS to 3 decimals; BORIS reports ``K = 1`` when
   ``total = sum_ef``.

Here each coder's category is the multiset of active codes (sorted, ``+``-joined); BORIS's
list order is the same for both coders (states before points, ethogram order), so equality is
the same. Tables of all rater pairs and sessions are summed before kappa (BORIS computes one
pair at a time); a pair where one coder has no event of the group still counts its ticks
(BORIS refuses such a pair).

Why this is not the default
---------------------------
* **Phase dependence.** The grid starts at the first event, so shifting one coder's first
  event moves every tick and can change kappa though nothing else changed; a point event is
  seen only if a tick falls within half an interval of it. BORIS issue #228: onsets 1.3 s,
  1.0 s and 0.25 s apart give ``K = -0.038`` at a 2 s interval but ``K = 1`` at 3 s.
* **The window is the grid.** One number sets both the sampling step and the matching
  tolerance; kappa is not monotone in it (larger intervals can lower it), and it mixes
  timing error with sampling error. The event-based kappa (explicit tolerance ``w``) and the
  time-unit kappa (fixed unit ``u``, midpoint rule) separate the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from annotate.stats.timing_input import NONE_LABEL
from annotate.stats.timing_tables import KappaTable, kappa_table

FloatArray = npt.NDArray[np.float64]
GridEvent = tuple[str, float, float | None]
"""(code, onset, offset or None for a point event)."""


def boris_ticks(first: float, last: float, interval: float) -> FloatArray:
    """BORIS's tick times: ``Decimal(str(first)) + k * Decimal(str(interval)) <= last``, as floats.

    The sum is exact in Decimal; as a float it is ``(A + k B) / 10**e`` for integers ``A, B``,
    which IEEE division rounds exactly as ``float(Decimal)`` does while the numerator stays
    below 2**53 (else the Decimal is converted tick by tick).

    Examples
    --------
    >>> boris_ticks(155.105, 161.2, 2.0).tolist()
    [155.105, 157.105, 159.105, 161.105]
    """
    d_first = Decimal(repr(float(first)))
    d_step = Decimal(repr(float(interval)))
    if d_step <= 0:
        raise ValueError(f"the grid interval must be a positive number of seconds; got {interval!r}")
    n_steps = int((Fraction(float(last)) - Fraction(d_first)) // Fraction(d_step))
    if n_steps < 0:
        return np.zeros(0)
    exponent = max(0, -int(d_first.as_tuple().exponent), -int(d_step.as_tuple().exponent))
    scale = 10**exponent
    start, step = int(d_first * scale), int(d_step * scale)
    if exponent <= 22 and abs(start) + n_steps * abs(step) < 2**53:
        return (start + np.arange(n_steps + 1, dtype=np.int64) * step) / float(scale)
    return np.array([float(d_first + k * d_step) for k in range(n_steps + 1)])


def _categories(events: Sequence[GridEvent], ticks: FloatArray, half: float, codes: Sequence[str]) -> list[str]:
    """Each tick's category for one coder: the multiset of active codes, ``+``-joined, or none."""
    position = {c: i for i, c in enumerate(codes)}
    state_steps = np.zeros((ticks.size + 1, len(codes)), dtype=np.int64)
    points = np.zeros((ticks.size, len(codes)), dtype=np.int64)
    for code, onset, offset in events:
        c = position[code]
        if offset is None:
            points[np.abs(onset - ticks) <= half, c] += 1  # SQLite: abs(start - t) <= interval / 2
        else:
            k0 = int(np.searchsorted(ticks, onset, side="left"))  # first tick with start <= t
            k1 = int(np.searchsorted(ticks, offset, side="right"))  # first tick with t > stop
            if k1 > k0:
                state_steps[k0, c] += 1
                state_steps[k1, c] -= 1
    active = np.cumsum(state_steps, axis=0)[:-1] + points
    labels = []
    for row in active:
        parts = [code for code, n in zip(codes, row, strict=False) for _ in range(int(n))]
        labels.append("+".join(parts) if parts else NONE_LABEL)
    return labels


def boris_grid_counts(
    first: Sequence[GridEvent],
    second: Sequence[GridEvent],
    interval: float,
    span: tuple[float, float] | None = None,
) -> dict[tuple[str, str], int]:
    """Tallies ``{(category of first, category of second): ticks}`` on BORIS's grid.

    Parameters
    ----------
    first, second : sequence of (code, onset, offset or None)
        One coder's events each (one group of one session).
    interval : float
        BORIS's "time unit" in seconds.
    span : (first, last), optional
        The grid's ends; default the smallest onset and the largest stop of both coders, as
        BORIS. (BORIS takes them over all selected subjects, which a caller reproducing a
        several-subject analysis passes here.)

    Examples
    --------
    BORIS issue #228 ("move", a point event):

    >>> a = [("move", t, None) for t in (155.105, 169.855, 264.855)]
    >>> b = [("move", t, None) for t in (156.405, 170.852, 264.606)]
    >>> sorted(boris_grid_counts(a, b, 2.0).items())
    [(('move', 'none'), 2), (('none', 'move'), 2), (('none', 'none'), 51)]
    """
    both = [*first, *second]
    if span is None:
        if not both:
            return {}
        lo = min(e[1] for e in both)
        hi = max(e[1] if e[2] is None else e[2] for e in both)
    else:  # ticks count even for a coder pair with no event (BORIS: a subject with no event)
        lo, hi = span
    ticks = boris_ticks(lo, hi, interval)
    half = float(Decimal(repr(float(interval))) / 2)
    codes = sorted({e[0] for e in both})
    cat_a = _categories(first, ticks, half, codes)
    cat_b = _categories(second, ticks, half, codes)
    out: dict[tuple[str, str], int] = {}
    for pair in zip(cat_a, cat_b, strict=False):
        out[pair] = out.get(pair, 0) + 1
    return out


@dataclass(frozen=True)
class BorisGrid:
    """Summed BORIS grid table and its kappa (unrounded; BORIS shows 3 decimals)."""

    interval: float
    table: KappaTable

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa on the summed grid table."""
        return self.table.kappa


def boris_grid_kappa(counts: dict[tuple[str, str], int], interval: float) -> BorisGrid:
    """Kappa of summed grid tallies (categories sorted, none last).

    Examples
    --------
    >>> a = [("move", t, None) for t in (155.105, 169.855, 264.855)]
    >>> b = [("move", t, None) for t in (156.405, 170.852, 264.606)]
    >>> [round(boris_grid_kappa(boris_grid_counts(a, b, w), w).kappa, 3) for w in (2.0, 3.0)]
    [-0.038, 1.0]
    """
    labels = sorted({c for pair in counts for c in pair} - {NONE_LABEL}) + [NONE_LABEL]
    pos = {c: i for i, c in enumerate(labels)}
    table = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for (ca, cb), n in counts.items():
        table[pos[ca], pos[cb]] += n
    result = kappa_table(labels, table)
    if result.kappa is None and result.n > 0:
        result = KappaTable(
            result.labels,
            result.counts,
            None,
            result.po,
            result.pe,
            result.n,
            f"{result.note}; BORIS reports K = 1 here",
        )
    return BorisGrid(float(interval), result)
