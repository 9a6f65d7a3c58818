"""Input checks and small numeric helpers shared by the ``effects_*`` modules.

Conventions for every effect statistic in :mod:`annotate.stats.effects`:

* scores are 1-D sequences of real numbers; ``None``/NaN marks a missing score and is
  dropped (descriptives, two-group statistics) or drops its pair/row (paired change, ANCOVA);
* a non-numeric or infinite score raises :class:`EffectsInputError` (a ``ValueError``);
* a statistic that is undefined for the data (too few observations, a zero variance) is
  ``None`` rather than NaN or a sentinel;
* every interval is two-sided 95 %, with exact quantiles (``z = 1.959964...``, Student *t*),
  not the rounded 1.96.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
from scipy import stats as sps

from annotate.errors import InputError

Z_975: float = float(sps.norm.ppf(0.975))
"""Standard normal 97.5 % quantile used by the normal-theory 95 % intervals."""


class EffectsInputError(InputError):
    """The data cannot be analysed as given; the message says what to fix."""


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def score_array(values: Sequence[float | None] | np.ndarray, name: str) -> np.ndarray:
    """Return ``values`` as a 1-D float array with NaN for missing scores.

    Raises :class:`EffectsInputError` for text, booleans, infinities or a non-1-D input.

    Examples
    --------
    >>> score_array([1, None, 2.5], "scores")
    array([1. , nan, 2.5])
    >>> score_array(["x"], "scores")
    Traceback (most recent call last):
    ...
    annotate.stats.effects_input.EffectsInputError: scores must be numbers (None or NaN for missing); got 'x' at position 0
    """
    raw = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if raw.ndim != 1:
        raise EffectsInputError(f"{name} must be a one-dimensional list of scores; got shape {raw.shape}")
    if raw.dtype.kind in "iuf":
        out = raw.astype(float)
    else:
        out = np.empty(raw.shape[0], dtype=float)
        for position, value in enumerate(raw):
            if value is None:
                out[position] = np.nan
            elif _is_real(value):
                out[position] = float(value)
            else:
                raise EffectsInputError(
                    f"{name} must be numbers (None or NaN for missing); got {value!r} at position {position}"
                )
    if np.isinf(out).any():
        position = int(np.flatnonzero(np.isinf(out))[0])
        raise EffectsInputError(f"{name} has an infinite value at position {position}; scores must be finite")
    return out


def observed(values: Sequence[float | None] | np.ndarray, name: str) -> np.ndarray:
    """The non-missing scores of ``values`` (see :func:`score_array`).

    Examples
    --------
    >>> observed([3, float("nan"), 4], "scores")
    array([3., 4.])
    """
    array = score_array(values, name)
    kept: np.ndarray = array[~np.isnan(array)]
    return kept


def finite_or_none(value: float | None) -> float | None:
    """``float(value)``, or ``None`` when it is missing, NaN or infinite.

    Examples
    --------
    >>> finite_or_none(float("nan")) is None, finite_or_none(2)
    (True, 2.0)
    """
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def count(value: object, name: str) -> int:
    """Validate a non-negative whole count (events or group size).

    Examples
    --------
    >>> count(3, "events")
    3
    """
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not whole and not (isinstance(value, numbers.Real) and _is_real(value) and float(value).is_integer()):
        raise EffectsInputError(f"{name} must be a whole number; got {value!r}")
    number: int = int(value)  # type: ignore[call-overload]  # an Integral or a whole Real, checked above
    if number < 0:
        raise EffectsInputError(f"{name} must not be negative; got {number}")
    return number
