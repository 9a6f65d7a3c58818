"""Input and description of incomplete and nested rating designs (issue 14).

Trials double-code a share of segments with pairs drawn from a pool of raters, so raters are
neither fully crossed with units nor the same pair throughout; segments are nested in films.
The statistics for such designs (``reliability_oneway``, ``reliability_reml``,
``reliability_incomplete``, ``gstudy``, ``reliability_pairwise``, ``severity``) all start from
one validated long table, :class:`LongRatings`, built here by :func:`long_ratings`.

Conventions
-----------
* one row per rating: unit id, rater id, numeric score, and optionally a cluster id (e.g. the
  film a segment belongs to); a score of ``None``/NaN is a missing rating and the row is
  dropped;
* unit ids are unique within the table: a unit belongs to exactly one cluster;
* a rater scores a unit at most once;
* ``categories`` is the declared scale (numbers) or ``None`` for continuous scores;
* units, raters and clusters are sorted by id (by their text when ids of different types are
  mixed), so results never depend on row order.

The design description (:func:`describe_design`) reports what the issue asks for: number of
units and raters, ratings per unit (min, max, mean), whether the design is complete (every
rater rates every unit), the number of units with at least two ratings (``n_units_multi``)
and the number of distinct rater pairs that share at least one unit (``n_rater_pairs``).
The harmonic mean of ratings per unit, k̂ of ten Hove, Jorgensen & van der Ark (2022,
*Psychological Methods* 27:650), is given too.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from annotate.stats.reliability_data import ReliabilityInputError, id_objects

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class DesignInputError(ReliabilityInputError):
    """The long table of ratings cannot be analysed as given; the message says what to fix."""


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return _is_number(value) and math.isnan(float(value))  # type: ignore[arg-type]


def _plain(value: object) -> Hashable:
    """numpy scalars become Python scalars (JSON-friendly ids)."""
    if isinstance(value, np.generic):
        return value.item()  # type: ignore[no-any-return,unused-ignore]
    return value  # type: ignore[return-value,unused-ignore]


def _sorted_codes(values: np.ndarray | Sequence[Hashable]) -> tuple[IntArray, tuple[Hashable, ...]]:
    """Integer codes of ``values`` into their sorted distinct ids."""
    codes, uniques = pd.factorize(
        pd.Series(values if isinstance(values, np.ndarray) else list(values), dtype=object), sort=False
    )
    ids = [_plain(u) for u in uniques]
    try:
        order = sorted(range(len(ids)), key=lambda i: ids[i])  # type: ignore[arg-type,return-value]
    except TypeError:
        order = sorted(range(len(ids)), key=lambda i: (type(ids[i]).__name__, str(ids[i])))
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(ids), dtype=np.int64)
    return rank[codes].astype(np.int64), tuple(ids[i] for i in order)


def _kept_scores(column: pd.Series) -> tuple[IntArray, FloatArray]:
    """Row positions of the given scores and the scores as floats; a score that is not a finite
    number is refused with its row. A numeric column is checked in array operations (a study's
    300,000 ratings took seconds one by one); any other column one value at a time."""
    if column.dtype.kind in "fiu":
        raw = column.to_numpy().astype(np.float64)
        keep = np.flatnonzero(~np.isnan(raw))
        if np.isfinite(raw[keep]).all():
            return keep.astype(np.int64), raw[keep]
    kept: list[int] = []
    values: list[float] = []
    for row, value in enumerate(column.tolist()):
        if _is_missing(value):
            continue
        if not _is_number(value) or not math.isfinite(float(value)):
            raise DesignInputError(
                f"score {value!r} in row {row + 1} is not a finite number; these statistics need numeric scores"
            )
        kept.append(row)
        values.append(float(value))
    return np.asarray(kept, dtype=np.int64), np.asarray(values, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class LongRatings:
    """Validated long table: one entry per rating, ids sorted, arrays read-only.

    Attributes
    ----------
    unit_ids, rater_ids : tuple
        Sorted distinct ids; ``unit[t]`` and ``rater[t]`` index them for rating ``t``.
    cluster_ids : tuple or None
        Sorted distinct cluster ids; ``unit_cluster[i]`` is the cluster of unit ``i``.
    score : numpy.ndarray
        Scores as floats.
    categories : tuple of float or None
        The declared scale, ``None`` for continuous scores.
    """

    unit_ids: tuple[Hashable, ...]
    rater_ids: tuple[Hashable, ...]
    cluster_ids: tuple[Hashable, ...] | None
    unit: IntArray
    rater: IntArray
    score: FloatArray
    unit_cluster: IntArray | None
    categories: tuple[float, ...] | None

    @property
    def n_units(self) -> int:
        return len(self.unit_ids)

    @property
    def n_raters(self) -> int:
        return len(self.rater_ids)

    @property
    def n_ratings(self) -> int:
        return int(self.score.size)

    @property
    def n_clusters(self) -> int | None:
        return None if self.cluster_ids is None else len(self.cluster_ids)

    @property
    def ratings_per_unit(self) -> IntArray:
        """Number of ratings of each unit (``n_i``)."""
        return np.bincount(self.unit, minlength=self.n_units).astype(np.int64)

    def incidence(self) -> sparse.csr_matrix:
        """Sparse ``n_units x n_raters`` 0/1 matrix: rater ``j`` scored unit ``i``."""
        ones = np.ones(self.n_ratings)
        return sparse.csr_matrix((ones, (self.unit, self.rater)), shape=(self.n_units, self.n_raters))

    def without_clusters(self) -> LongRatings:
        """The same ratings with the cluster column dropped (a crossed units x raters design)."""
        return LongRatings(
            self.unit_ids, self.rater_ids, None, self.unit, self.rater, self.score, None, self.categories
        )


def _declared_categories(categories: Iterable[float] | None) -> tuple[float, ...] | None:
    if categories is None:
        return None
    declared = list(categories)
    if not declared:
        raise DesignInputError("the declared scale is empty; list its categories or pass None for continuous scores")
    if not all(_is_number(c) and math.isfinite(float(c)) for c in declared):
        raise DesignInputError(
            f"the declared scale {declared[:6]} has a category that is not a finite number; these statistics "
            "need numeric scores, so declare the scale as numbers (e.g. 1..9)"
        )
    values = [float(c) for c in declared]
    if len(set(values)) != len(values):
        raise DesignInputError("the declared scale repeats a category; list each category once")
    return tuple(sorted(values))


def _column(frame: pd.DataFrame, name: str, role: str) -> pd.Series:
    if name not in frame.columns:
        raise DesignInputError(
            f"the {role} column {name!r} is not in the table (columns: {list(frame.columns)}); name it with {role}=..."
        )
    return frame[name]


def long_ratings(
    frame: pd.DataFrame,
    *,
    unit: str = "unit",
    rater: str = "rater",
    score: str = "score",
    cluster: str | None = None,
    categories: Iterable[float] | None = None,
) -> LongRatings:
    """Validate a long table of ratings (optionally with a cluster column).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per rating.
    unit, rater, score : str
        Column names.
    cluster : str, optional
        Column naming the cluster of each unit (e.g. the film a segment is cut from).
    categories : iterable of numbers, optional
        The declared scale; ``None`` for continuous scores.

    Returns
    -------
    LongRatings

    Raises
    ------
    DesignInputError
        A column is missing, a score is not a number or not on the declared scale, a rating has
        no unit or rater id, a rater scored a unit twice, a unit sits in two clusters, fewer than
        two raters have ratings, or no unit has two ratings.

    Examples
    --------
    >>> frame = pd.DataFrame({"unit": ["s1", "s1", "s2", "s2", "s3"], "rater": ["A", "B", "B", "C", "A"],
    ...                       "score": [3, 4, 2, 2, 5], "film": ["f1", "f1", "f1", "f1", "f2"]})
    >>> data = long_ratings(frame, cluster="film", categories=range(1, 8))
    >>> data.unit_ids, data.rater_ids, data.cluster_ids, data.unit_cluster.tolist()
    (('s1', 's2', 's3'), ('A', 'B', 'C'), ('f1', 'f2'), [0, 0, 1])
    """
    if not isinstance(frame, pd.DataFrame):
        raise DesignInputError("give the ratings as a pandas DataFrame with one row per rating")
    units_col = _column(frame, unit, "unit")
    raters_col = _column(frame, rater, "rater")
    scores_col = _column(frame, score, "score")
    clusters_col = None if cluster is None else _column(frame, cluster, "cluster")
    declared = _declared_categories(categories)

    keep, values = _kept_scores(scores_col)
    if not keep.size:
        raise DesignInputError("the table has no scores; give at least two raters' scores of the same unit")
    unit_values, rater_values = id_objects(units_col), id_objects(raters_col)
    cluster_values = None if clusters_col is None else id_objects(clusters_col)
    columns = (("unit", unit_values), ("rater", rater_values), ("cluster", cluster_values))
    suspects = np.zeros(keep.size, dtype=bool)  # pd.isna is a superset of _is_missing: check those rows exactly
    for _, column in columns:
        if column is not None:
            suspects |= pd.isna(column[keep])
    for row in keep[suspects]:
        for name, column in columns:
            if column is not None and _is_missing(column[row]):
                raise DesignInputError(f"row {row + 1} has a score but no {name}; fill in the {name}")

    score_array = np.asarray(values, dtype=float)
    if declared is not None:
        on_scale = np.isin(score_array, np.asarray(declared))
        if not on_scale.all():
            bad = int(np.argmin(on_scale))
            shown = list(declared) if len(declared) <= 12 else [*declared[:5], "...", *declared[-3:]]
            raise DesignInputError(
                f"score {values[bad]:g} in row {keep[bad] + 1} is not on the declared scale {shown}; "
                "correct the score or declare the scale"
            )

    unit_codes, unit_ids = _sorted_codes(unit_values[keep])
    rater_codes, rater_ids = _sorted_codes(rater_values[keep])
    if len(rater_ids) < 2:
        raise DesignInputError(f"only one rater ({rater_ids[0]!r}) has scores; reliability needs at least two raters")
    # Canonical order (by unit, then rater): any permutation of the rows gives identical arrays,
    # hence bit-identical results.
    flat = unit_codes * len(rater_ids) + rater_codes
    order = np.argsort(flat, kind="stable")
    repeated = np.flatnonzero(np.diff(flat[order]) == 0)
    if repeated.size:
        t = int(order[repeated[0]])
        raise DesignInputError(
            f"rater {rater_ids[rater_codes[t]]!r} scored unit {unit_ids[unit_codes[t]]!r} more than once; "
            "keep one score per unit and rater"
        )
    rows_in_order = keep[order]
    unit_codes, rater_codes, score_array = unit_codes[order], rater_codes[order], score_array[order]
    per_unit = np.bincount(unit_codes, minlength=len(unit_ids))
    if per_unit.max() < 2:
        raise DesignInputError("no unit was scored by two or more raters; reliability needs double-coded units")

    cluster_ids: tuple[Hashable, ...] | None = None
    unit_cluster: IntArray | None = None
    if cluster_values is not None:
        cluster_codes, cluster_ids = _sorted_codes(cluster_values[rows_in_order])
        unit_cluster = np.full(len(unit_ids), -1, dtype=np.int64)
        unit_cluster[unit_codes] = cluster_codes
        clash = np.flatnonzero(unit_cluster[unit_codes] != cluster_codes)
        if clash.size:
            t = int(clash[0])
            raise DesignInputError(
                f"unit {unit_ids[unit_codes[t]]!r} appears in clusters {cluster_ids[unit_cluster[unit_codes[t]]]!r} "
                f"and {cluster_ids[cluster_codes[t]]!r}; unit ids must be unique within the table "
                "(prefix segment ids with their film)"
            )
    arrays = [unit_codes, rater_codes, score_array] + ([] if unit_cluster is None else [unit_cluster])
    for array in arrays:
        array.setflags(write=False)
    return LongRatings(unit_ids, rater_ids, cluster_ids, unit_codes, rater_codes, score_array, unit_cluster, declared)


@dataclass(frozen=True)
class DesignDescription:
    """Who rated what: the shape of an (in)complete, possibly nested, rating design.

    ``complete`` is True when every rater rated every unit. ``k_harmonic`` is the harmonic mean
    of ratings per unit over all units (ten Hove et al.'s k̂). ``n_rating_pairs`` is
    ``sum_i C(n_i, 2)``, the number of pairs of ratings of the same unit.
    """

    n_units: int
    n_raters: int
    n_ratings: int
    n_clusters: int | None
    ratings_per_unit_min: int
    ratings_per_unit_max: int
    ratings_per_unit_mean: float
    k_harmonic: float
    complete: bool
    n_units_multi: int
    n_rater_pairs: int
    n_rating_pairs: int
    units_per_cluster_min: int | None
    units_per_cluster_max: int | None


def rater_pair_counts(data: LongRatings) -> IntArray:
    """``n_raters x n_raters`` matrix of the number of units each pair of raters shares."""
    incidence = data.incidence()
    return np.asarray((incidence.T @ incidence).toarray(), dtype=np.int64)


def describe_design(data: LongRatings) -> DesignDescription:
    """Describe the rating design.

    Examples
    --------
    >>> frame = pd.DataFrame({"unit": [1, 1, 2, 2, 3, 3, 4], "rater": ["A", "B", "B", "C", "A", "C", "B"],
    ...                       "score": [3, 4, 2, 2, 5, 4, 1]})
    >>> d = describe_design(long_ratings(frame))
    >>> d.complete, d.n_units_multi, d.n_rater_pairs, d.ratings_per_unit_min, d.ratings_per_unit_max
    (False, 3, 3, 1, 2)
    >>> d.ratings_per_unit_mean, round(d.k_harmonic, 4)
    (1.75, 1.6)
    """
    n_i = data.ratings_per_unit
    shared = rater_pair_counts(data)
    upper = np.triu(shared, k=1)
    per_cluster_min = per_cluster_max = None
    if data.unit_cluster is not None and data.n_clusters is not None:
        sizes = np.bincount(data.unit_cluster, minlength=data.n_clusters)
        per_cluster_min, per_cluster_max = int(sizes.min()), int(sizes.max())
    return DesignDescription(
        n_units=data.n_units,
        n_raters=data.n_raters,
        n_ratings=data.n_ratings,
        n_clusters=data.n_clusters,
        ratings_per_unit_min=int(n_i.min()),
        ratings_per_unit_max=int(n_i.max()),
        ratings_per_unit_mean=float(n_i.mean()),
        k_harmonic=float(data.n_units / np.sum(1.0 / n_i)),
        complete=bool(data.n_ratings == data.n_units * data.n_raters),
        n_units_multi=int(np.sum(n_i >= 2)),
        n_rater_pairs=int(np.count_nonzero(upper)),
        n_rating_pairs=int(np.sum(n_i * (n_i - 1) // 2)),
        units_per_cluster_min=per_cluster_min,
        units_per_cluster_max=per_cluster_max,
    )
