"""Input model for the reliability statistics: a long table of ratings on a declared scale.

Every statistic in :mod:`annotate.stats.reliability` works on a :class:`Ratings` object,
built from a long table (one row per unit, rater and score) by :func:`ratings_from_long`
or from a units x raters matrix by :func:`ratings_from_wide`. The scale is the *declared*
category set, not only the categories that happen to be used: unused points change the
weighted kappas, Gwet's AC2 and the ordinal metric of Krippendorff's alpha
(Gwet 2014, *Handbook of Inter-Rater Reliability*, 4th ed., ch. 3; Krippendorff 2011,
"Computing Krippendorff's alpha-reliability", section on the ordinal metric).

Conventions (shared by all statistics):

* a missing rating is an absent row or a score of ``None``/NaN;
* units with no rating at all and raters who rated nothing are dropped;
* numeric scales are sorted ascending; string (nominal) categories keep the declared order,
  which is the order used by ordinal statistics on string codes;
* internally, ``codes[i, j]`` is the index of unit *i*'s score from rater *j* in
  ``categories`` and ``-1`` marks a missing rating.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from annotate.errors import InputError

Category = str | int | float
# A column of ids or scores: a sequence, or a NumPy array / pandas Series (taken in array operations).
IdColumn = Sequence[Hashable] | np.ndarray | pd.Series
ScoreColumn = Sequence[Category | None] | np.ndarray | pd.Series

MISSING = -1


class ReliabilityInputError(InputError):
    """The ratings cannot be analysed as given; the message says what to fix."""


class NotApplicable(ReliabilityInputError):
    """The statistic does not apply to these ratings (e.g. Cohen's kappa with 3 raters)."""


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isnan(float(value))


@dataclass(frozen=True, eq=False)
class Ratings:
    """Ratings of units by raters on a declared scale (validated; read-only arrays).

    Attributes
    ----------
    units, raters : tuple
        Identifiers in order of first appearance (units and raters without ratings dropped).
    categories : tuple
        The declared scale: ascending numbers, or strings in the declared order.
    codes : numpy.ndarray
        ``(n_units, n_raters)`` integer indices into ``categories``; ``-1`` = missing.
    """

    units: tuple[Hashable, ...]
    raters: tuple[Hashable, ...]
    categories: tuple[Category, ...]
    codes: np.ndarray

    @property
    def numeric(self) -> bool:
        """True when every category is a number (interval statistics possible)."""
        return all(_is_number(c) for c in self.categories)

    @property
    def n_units(self) -> int:
        return int(self.codes.shape[0])

    @property
    def n_raters(self) -> int:
        return int(self.codes.shape[1])

    @property
    def n_ratings(self) -> int:
        return int((self.codes != MISSING).sum())

    @property
    def present(self) -> np.ndarray:
        """Boolean ``(n_units, n_raters)`` mask of given ratings."""
        mask: np.ndarray = self.codes != MISSING
        return mask

    @property
    def category_values(self) -> np.ndarray:
        """Category values as floats (numeric scales only)."""
        if not self.numeric:
            raise NotApplicable(
                "this statistic needs numeric scores, but the scale has text categories "
                f"{list(self.categories)[:5]}; use a nominal statistic or numeric codes"
            )
        values: np.ndarray = np.asarray(self.categories, dtype=float)
        return values

    @property
    def values(self) -> np.ndarray:
        """Scores as floats, NaN where missing (numeric scales only)."""
        values = self.category_values[np.where(self.present, self.codes, 0)]
        return np.where(self.present, values, np.nan)

    @property
    def counts(self) -> np.ndarray:
        """``(n_units, n_categories)`` number of raters who chose each category (r_ik)."""
        n_units, q = self.n_units, len(self.categories)
        rows = np.repeat(np.arange(n_units), self.n_raters).reshape(self.codes.shape)
        flat = rows[self.present] * q + self.codes[self.present]
        return np.bincount(flat, minlength=n_units * q).reshape(n_units, q)


def _declared_scale(categories: Iterable[Category] | None, scores: Sequence[Category | None]) -> tuple[Category, ...]:
    if categories is None:
        used = [s for s in dict.fromkeys(scores) if s is not None]  # missing scores were dropped before
        if all(_is_number(s) for s in used):
            return tuple(sorted(used))
        if all(isinstance(s, str) for s in used):
            return tuple(sorted(used))
        raise ReliabilityInputError(
            "the scores mix numbers and text; declare the scale with categories=... "
            "or recode the scores so they are all numbers or all text"
        )
    declared = list(categories)
    if not declared:
        raise ReliabilityInputError("the declared scale is empty; list its categories")
    if any(_is_missing(c) for c in declared):
        raise ReliabilityInputError("the declared scale contains an empty/NaN category; remove it")
    if len(set(declared)) != len(declared):
        dupes = sorted({str(c) for c in declared if declared.count(c) > 1})
        raise ReliabilityInputError(f"the declared scale repeats categories {dupes}; list each once")
    if all(_is_number(c) for c in declared):
        return tuple(sorted(declared))
    if all(isinstance(c, str) for c in declared):
        return tuple(declared)
    raise ReliabilityInputError(
        "the declared scale mixes numbers and text; declare all categories as numbers or all as text"
    )


def _numeric_scores(scores: object) -> np.ndarray | None:
    """Scores given as a float or integer NumPy array or pandas Series (not bool), else None."""
    if isinstance(scores, pd.Series):
        scores = scores.to_numpy() if scores.dtype.kind in "fiu" else None
    if not isinstance(scores, np.ndarray) or scores.ndim != 1 or scores.dtype.kind not in "fiu":
        return None
    return scores


def id_objects(ids: IdColumn) -> np.ndarray:
    """The ids as an object array holding what iterating ``ids`` gives (as the row loop sees them)."""
    if isinstance(ids, pd.Series):
        return ids.to_numpy(dtype=object)  # C-level; iterating an Arrow-backed text column is slow
    return pd.Series(list(ids), dtype=object).to_numpy()  # (a tuple id stays one id)


def _from_numeric_arrays(
    units: IdColumn, raters: IdColumn, scores: ScoreColumn, categories: Iterable[Category] | None
) -> Ratings | None:
    """:func:`ratings_from_long` in array operations, for numeric score arrays on a numeric scale.

    Why: at a study's size (300,000 ratings) the row loop took seconds per call, and the
    Reliability page calls this several times. The result is identical to the loop's (ids are
    the given objects in order of first appearance: ``pd.factorize`` keeps both); anything the
    loop would refuse or treat specially -- a missing id, a duplicate, a score off the scale, too
    few raters, an undeclared scale of integers -- returns None, and the loop then runs and words
    the error."""
    raw = _numeric_scores(scores)
    if raw is None or len(units) != len(raw) or len(raters) != len(raw):
        return None
    values = raw.astype(np.float64, copy=False)
    rows = np.flatnonzero(~np.isnan(values))
    if not rows.size:
        return None
    given = values[rows]
    if categories is None:
        if raw.dtype.kind != "f":
            return None  # the loop keeps the scores' own integer types in the scale
        first = raw[rows][np.unique(given, return_index=True)[1]]  # each distinct score where first seen
        # list() of a Series gives Python floats, of an array NumPy scalars: the loop's scale holds those
        scale: tuple[Category, ...] = tuple(first.tolist()) if isinstance(scores, pd.Series) else tuple(first)
    else:
        declared = list(categories)
        if not declared or not all(_is_number(c) and not _is_missing(c) for c in declared):
            return None
        if len(set(declared)) != len(declared):
            return None
        scale = tuple(sorted(declared))
    grid = np.asarray(scale, dtype=np.float64)
    at = np.clip(np.searchsorted(grid, given), 0, len(grid) - 1)
    if not np.array_equal(grid[at], given):
        return None
    unit_arr, rater_arr = id_objects(units)[rows], id_objects(raters)[rows]
    if pd.isna(unit_arr).any() or pd.isna(rater_arr).any():
        return None
    row_of, unit_ids = pd.factorize(unit_arr, sort=False)
    col_of, rater_ids = pd.factorize(rater_arr, sort=False)
    n_raters = len(rater_ids)
    if n_raters < 2:
        return None
    flat = row_of.astype(np.int64) * n_raters + col_of
    if np.bincount(flat, minlength=len(unit_ids) * n_raters).max() > 1:
        return None
    codes = np.full((len(unit_ids), n_raters), MISSING, dtype=np.int64)
    codes[row_of, col_of] = at
    if not ((codes != MISSING).sum(axis=1) >= 2).any():
        return None
    codes.setflags(write=False)
    return Ratings(tuple(unit_ids), tuple(rater_ids), scale, codes)


def ratings_from_long(
    units: IdColumn,
    raters: IdColumn,
    scores: ScoreColumn,
    categories: Iterable[Category] | None = None,
) -> Ratings:
    """Validate a long table (one row per unit, rater and score) against a declared scale.

    Parameters
    ----------
    units, raters, scores : sequence
        Equal-length columns. A score of ``None`` or NaN is a missing rating.
    categories : iterable, optional
        The full scale. Default: the sorted distinct scores.

    Returns
    -------
    Ratings

    Raises
    ------
    ReliabilityInputError
        Empty table, unequal columns, a missing unit/rater id, a unit rated twice by one
        rater, a score outside the scale, fewer than two raters, or no unit with two ratings.

    Examples
    --------
    >>> r = ratings_from_long(["u1", "u1", "u2", "u2"], ["A", "B", "A", "B"], [1, 2, 3, 3],
    ...                       categories=[1, 2, 3, 4])
    >>> r.n_units, r.n_raters, r.categories
    (2, 2, (1, 2, 3, 4))
    >>> r.codes.tolist()
    [[0, 1], [2, 2]]
    """
    fast = _from_numeric_arrays(units, raters, scores, categories)
    if fast is not None:
        return fast
    units, raters, scores = list(units), list(raters), list(scores)
    if not (len(units) == len(raters) == len(scores)):
        raise ReliabilityInputError(
            f"the unit, rater and score columns differ in length ({len(units)}, {len(raters)}, "
            f"{len(scores)}); give one unit, rater and score per row"
        )
    rows = [i for i, s in enumerate(scores) if not _is_missing(s)]
    if not rows:
        raise ReliabilityInputError("the table has no ratings; give at least two raters' scores")
    for i in rows:
        if _is_missing(units[i]) or _is_missing(raters[i]):
            which = "unit" if _is_missing(units[i]) else "rater"
            raise ReliabilityInputError(f"row {i + 1} has a score but no {which}; fill in the {which}")
    given = [scores[i] for i in rows]
    scale = _declared_scale(categories, given)
    numeric_scale = all(_is_number(c) for c in scale)
    index_of = {c: k for k, c in enumerate(scale)}
    category_codes = np.empty(len(rows), dtype=np.int64)
    for position, score in enumerate(given):
        if numeric_scale != _is_number(score) or score not in index_of:
            shown = list(scale) if len(scale) <= 12 else [*scale[:5], "...", *scale[-3:]]
            raise ReliabilityInputError(
                f"score {score!r} (unit {units[rows[position]]!r}, rater {raters[rows[position]]!r}) "
                f"is not on the declared scale {shown}; correct the score or declare the scale"
            )
        category_codes[position] = index_of[score]
    unit_ids = list(dict.fromkeys(units[i] for i in rows))
    rater_ids = list(dict.fromkeys(raters[i] for i in rows))
    unit_index = {u: k for k, u in enumerate(unit_ids)}
    rater_index = {r: k for k, r in enumerate(rater_ids)}
    if len(rater_ids) < 2:
        raise ReliabilityInputError(
            f"only one rater ({rater_ids[0]!r}) has ratings; reliability needs at least two raters"
        )
    row_of = np.fromiter((unit_index[units[i]] for i in rows), dtype=np.int64, count=len(rows))
    col_of = np.fromiter((rater_index[raters[i]] for i in rows), dtype=np.int64, count=len(rows))
    flat = row_of * len(rater_ids) + col_of
    seen = np.bincount(flat, minlength=len(unit_ids) * len(rater_ids))
    if seen.max() > 1:
        bad = int(np.argmax(seen))
        unit, rater = unit_ids[bad // len(rater_ids)], rater_ids[bad % len(rater_ids)]
        raise ReliabilityInputError(
            f"rater {rater!r} scored unit {unit!r} {int(seen.max())} times; keep one score per unit and rater"
        )
    codes = np.full((len(unit_ids), len(rater_ids)), MISSING, dtype=np.int64)
    codes[row_of, col_of] = category_codes
    if not ((codes != MISSING).sum(axis=1) >= 2).any():
        raise ReliabilityInputError("no unit was scored by two or more raters; reliability needs double-coded units")
    codes.setflags(write=False)
    return Ratings(tuple(unit_ids), tuple(rater_ids), scale, codes)


def ratings_from_wide(
    matrix: Sequence[Sequence[Category | None]],
    categories: Iterable[Category] | None = None,
    raters: Sequence[Hashable] | None = None,
) -> Ratings:
    """Build :class:`Ratings` from a units x raters matrix (``None``/NaN = missing).

    Examples
    --------
    >>> r = ratings_from_wide([[1, 1, None], [2, 3, 3]])
    >>> r.n_units, r.n_raters, r.n_ratings
    (2, 3, 5)
    """
    rows = [list(row) for row in matrix]
    if not rows:
        raise ReliabilityInputError("the matrix has no rows; give one row per unit")
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        raise ReliabilityInputError("the matrix rows differ in length; give one column per rater")
    rater_ids = list(raters) if raters is not None else list(range(width))
    if len(rater_ids) != width:
        raise ReliabilityInputError(f"{len(rater_ids)} rater names for {width} columns; match them")
    units = [i for i, row in enumerate(rows) for _ in row]
    rater_column = [rater_ids[j] for row in rows for j in range(len(row))]
    scores = [s.item() if isinstance(s, np.generic) else s for row in rows for s in row]
    return ratings_from_long(units, rater_column, scores, categories)
