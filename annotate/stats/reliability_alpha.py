"""Krippendorff's alpha for nominal, ordinal, interval and ratio data with missing values.

Source: Krippendorff, K. (2011). *Computing Krippendorff's alpha-reliability*. Annenberg
School for Communication, University of Pennsylvania (coincidence-matrix method, section
"C. Nominal data, any number of observers, missing data" and the metric differences);
also Krippendorff (2004/2018) *Content Analysis*, ch. 12.

With ``n_uc`` the number of values c in unit u and ``m_u`` the number of values in the unit,
only *pairable* units (``m_u >= 2``) count. The coincidence matrix is
``o_ck = sum_u sum_{pairs i != j in u} [c_i = c, c_j = k] / (m_u - 1)``, its margins
``n_c = sum_k o_ck`` and ``n = sum_c n_c``. Then

``D_o = sum_ck o_ck delta2_ck / n``, ``D_e = sum_ck n_c n_k delta2_ck / (n (n - 1))``,
``alpha = 1 - D_o / D_e``.

Metric differences ``delta2_ck``: nominal ``[c != k]``; ordinal
``(sum_{g=c..k} n_g - (n_c + n_k) / 2)^2`` over the *declared* categories in scale order
(unused categories have ``n_g = 0``); interval ``(c - k)^2``; ratio ``((c - k) / (c + k))^2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from annotate.stats.reliability_data import NotApplicable, Ratings

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")


@dataclass(frozen=True)
class KrippendorffAlpha:
    """Alpha with its observed and expected disagreement; ``value`` is None when D_e = 0."""

    level: Level
    value: float | None
    d_o: float
    d_e: float
    n_pairable_units: int
    n_pairable_values: int


def unit_coincidences(ratings: Ratings) -> np.ndarray:
    """``(n_pairable_units, q, q)`` per-unit coincidence contributions ``o_u``."""
    counts = ratings.counts.astype(float)
    m_u = counts.sum(axis=1)
    pairable = m_u >= 2
    counts, m_u = counts[pairable], m_u[pairable]
    outer = counts[:, :, None] * counts[:, None, :]
    q = counts.shape[1]
    outer[:, np.arange(q), np.arange(q)] -= counts
    result: np.ndarray = outer / (m_u - 1)[:, None, None]
    return result


def metric_delta2(
    level: Level, categories: tuple[object, ...], n_c: np.ndarray, category_values: np.ndarray | None
) -> np.ndarray:
    """Squared metric differences ``delta2_ck``; batched over leading axes of ``n_c`` for ordinal."""
    q = len(categories)
    if level == "nominal":
        return 1.0 - np.eye(q)
    if level == "ordinal":
        # Midrank form of Krippendorff's ordinal metric: delta_ck = mid_k - mid_c with
        # mid_c = sum_{g<c} n_g + n_c / 2, equal to sum_{g=c..k} n_g - (n_c + n_k) / 2.
        before = np.cumsum(n_c, axis=-1) - n_c
        mid = before + n_c / 2
        ordinal: np.ndarray = (mid[..., None, :] - mid[..., :, None]) ** 2
        return ordinal
    if category_values is None:
        raise NotApplicable(f"{level} alpha needs numeric categories; use nominal or ordinal")
    c, k = category_values[:, None], category_values[None, :]
    if level == "interval":
        interval: np.ndarray = (c - k) ** 2
        return interval
    if level == "ratio":
        if (category_values < 0).any():
            raise NotApplicable("ratio alpha needs non-negative category values; use interval")
        total = c + k
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(total == 0, 0.0, ((c - k) / np.where(total == 0, 1, total)) ** 2)
    raise ValueError(f"unknown level {level!r}; use one of {list(LEVELS)}")


def _check_level(level: str, ratings: Ratings) -> np.ndarray | None:
    if level not in LEVELS:
        raise ValueError(f"unknown level of measurement {level!r}; use one of {list(LEVELS)}")
    if level in ("interval", "ratio"):
        return ratings.category_values
    return None


def krippendorff_alpha(ratings: Ratings, level: Level = "nominal") -> KrippendorffAlpha:
    """Krippendorff's alpha by the coincidence-matrix method (missing values allowed).

    Parameters
    ----------
    ratings : Ratings
    level : {"nominal", "ordinal", "interval", "ratio"}
        Metric. Ordinal uses the declared scale order, interval/ratio need numeric categories.

    Returns
    -------
    KrippendorffAlpha

    Examples
    --------
    Krippendorff (2011) example C, 4 observers x 12 units with missing data:

    >>> from annotate.stats.reliability_data import ratings_from_wide
    >>> c = [[1, 1, None, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...      [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [None, 5, 5, 5],
    ...      [None, None, 1, 1], [None, 3, None, None]]
    >>> r = ratings_from_wide(c, categories=[1, 2, 3, 4, 5])
    >>> [round(krippendorff_alpha(r, lv).value, 3) for lv in LEVELS]
    [0.743, 0.815, 0.849, 0.797]
    """
    values = _check_level(level, ratings)
    o_u = unit_coincidences(ratings)
    coincidence = o_u.sum(axis=0)
    n_c = coincidence.sum(axis=1)
    n = float(n_c.sum())
    delta2 = metric_delta2(level, ratings.categories, n_c, values)
    d_o = float((coincidence * delta2).sum() / n)
    d_e = float((n_c[:, None] * n_c[None, :] * delta2).sum() / (n * (n - 1)))
    value = None if d_e == 0 else 1.0 - d_o / d_e
    return KrippendorffAlpha(level, value, d_o, d_e, int(o_u.shape[0]), int(round(n)))


def alpha_from_coincidences(
    coincidences: np.ndarray, level: Level, categories: tuple[object, ...], values: np.ndarray | None
) -> np.ndarray:
    """Alpha for a batch of coincidence matrices ``(B, q, q)``; NaN where D_e = 0."""
    n_c = coincidences.sum(axis=2)
    n = n_c.sum(axis=1)
    delta2 = metric_delta2(level, categories, n_c, values)
    observed = (coincidences * delta2).sum(axis=(1, 2)) / n
    pattern = "bc,ck,bk->b" if delta2.ndim == 2 else "bc,bck,bk->b"
    expected = np.einsum(pattern, n_c, delta2, n_c) / (n * (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected > 0, 1.0 - observed / expected, np.nan)
