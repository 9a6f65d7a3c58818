"""Use case: a long table of ratings (CSV file or DataFrame) -> the reliability JSON dict.

The same dict is printed by ``annotate stats reliability FILE.csv --json`` and can be produced
from ratings read out of the database (build a long DataFrame and call
:func:`reliability_summary`). The statistics themselves are in :mod:`annotate.stats.reliability`.

Level of measurement (``level``) decides which statistics are reported; the others are null:

=========  ==========================================================================
nominal    Cohen's kappa (unweighted), Fleiss' kappa, alpha nominal, Gwet's AC1, exact agreement
ordinal    + weighted Cohen's kappa (linear/quadratic on scale positions), alpha ordinal
interval   + all six ICCs, alpha interval, Gwet's AC2, agreement within one point, Bland-Altman
ratio      + alpha ratio
=========  ==========================================================================

Without a level, numeric scores get every statistic and text scores the nominal ones
(text codes are compared as given, case-sensitive). Cohen's kappa and Bland-Altman need
exactly two raters.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from annotate.stats.reliability import (
    ICC_FORMS,
    LEVELS,
    NotApplicable,
    Ratings,
    ReliabilityInputError,
    bland_altman,
    bootstrap_intervals,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac,
    intraclass_correlations,
    krippendorff_alpha,
    percent_agreement,
    ratings_from_long,
)

LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}
MISSING_TEXT = {"", "NA", "N/A", "NaN", "nan"}


class ReliabilityTableError(ReliabilityInputError):
    """The table cannot be read as a long table of ratings; the message says what to fix."""


def parse_categories(text: str) -> list[int | float | str]:
    """Parse ``"1,2,3"`` (or text codes ``"low,mid,high"``) into a declared scale.

    Examples
    --------
    >>> parse_categories("1, 2,3")
    [1, 2, 3]
    >>> parse_categories("0.5,1.5")
    [0.5, 1.5]
    >>> parse_categories("low,mid,high")
    ['low', 'mid', 'high']
    """
    items = [item.strip() for item in text.split(",")]
    if not items or any(item == "" for item in items):
        raise ReliabilityTableError(
            f"--categories {text!r} has an empty entry; give a comma-separated list like 1,2,3"
        )
    numbers = _as_numbers(items)
    return numbers if numbers is not None else items


def _as_numbers(items: Sequence[str]) -> list[int | float] | None:
    out: list[int | float] = []
    for item in items:
        try:
            number = float(item)
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        out.append(int(number) if number.is_integer() else number)
    return out


def read_long_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV as text columns (scores are typed later, against the declared scale)."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError as exc:
        raise ReliabilityTableError(f"file {str(path)!r} not found; check the path") from exc
    except pd.errors.EmptyDataError as exc:
        raise ReliabilityTableError(f"{str(path)!r} is empty; it needs a header row and ratings") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ReliabilityTableError(
            f"{str(path)!r} is not a readable UTF-8 CSV ({exc}); save it as CSV (comma-separated, UTF-8)"
        ) from exc


def _scores(column: pd.Series, categories: list | None) -> list:
    declared_text = categories is not None and any(isinstance(c, str) for c in categories)
    if pd.api.types.is_numeric_dtype(column) and not declared_text:
        return [None if pd.isna(v) else (int(v) if float(v).is_integer() else float(v)) for v in column]
    texts = ["" if pd.isna(v) else str(v).strip() for v in column]
    declared = {str(c) for c in categories} if categories is not None else set()
    present = [t for t in texts if t not in MISSING_TEXT or t in declared]
    numbers = None if declared_text else _as_numbers(present)
    if numbers is not None:
        it = iter(numbers)
        return [next(it) if (t not in MISSING_TEXT or t in declared) else None for t in texts]
    return [t if (t not in MISSING_TEXT or t in declared) else None for t in texts]


def _number(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _json_category(c):
    return int(c) if isinstance(c, float) and c.is_integer() else c


def _guarded(compute, *args, **kwargs):
    try:
        return compute(*args, **kwargs)
    except NotApplicable:
        return None


def _icc_block(ratings: Ratings, allowed: bool) -> dict:
    table = _guarded(intraclass_correlations, ratings) if allowed else None
    if table is None:
        return {name: None for name, _, _ in ICC_FORMS}
    return {
        r.form: {
            "value": _number(r.value),
            "ci95": [_number(r.ci95_low), _number(r.ci95_high)],
            "F": _number(r.f_statistic),
            "df1": r.df1,
            "df2": r.df2,
            "p": _number(r.p_value),
            "n_units": r.n_units,
            "mcgraw_wong": r.mcgraw_wong,
        }
        for r in table.forms
    }


def _value(result) -> float | None:
    return None if result is None else _number(result.value)


def summarise_ratings(
    ratings: Ratings,
    level: str | None = None,
    bootstrap: int = 0,
    seed: int | None = None,
) -> dict[str, Any]:
    """The JSON-able reliability dict for validated ratings (see module docstring)."""
    if level is not None and level not in LEVEL_RANK:
        raise ReliabilityTableError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    if level in ("interval", "ratio") and not ratings.numeric:
        raise ReliabilityTableError(
            f"level {level} needs numeric scores, but the scale has text categories; "
            "use --level nominal or ordinal, or recode the scores as numbers"
        )
    if level is not None:
        rank = LEVEL_RANK[level]
    else:
        rank = LEVEL_RANK["ratio"] if ratings.numeric else LEVEL_RANK["nominal"]
    numeric = ratings.numeric and rank >= LEVEL_RANK["interval"]
    two = ratings.n_raters == 2

    def cohen(weights: str, needed: str):
        if not two or rank < LEVEL_RANK[needed]:
            return None
        return _value(_guarded(cohen_kappa, ratings, weights))

    alpha_levels = [lv for lv in LEVELS if rank >= LEVEL_RANK[lv]]
    ratio_ok = ratings.numeric and min(ratings.categories) >= 0
    alpha_levels = [lv for lv in alpha_levels if lv != "ratio" or ratio_ok]
    ba = _guarded(bland_altman, ratings) if numeric and two else None
    out: dict[str, Any] = {
        "n_units": ratings.n_units,
        "n_raters": ratings.n_raters,
        "n_ratings": ratings.n_ratings,
        "categories": [_json_category(c) for c in ratings.categories],
        "level": level,
        "icc": _icc_block(ratings, numeric),
        "cohen_kappa": {
            "unweighted": cohen("unweighted", "nominal"),
            "linear": cohen("linear", "ordinal"),
            "quadratic": cohen("quadratic", "ordinal"),
        },
        "fleiss_kappa": _value(fleiss_kappa(ratings)),
        "krippendorff_alpha": {
            lv: _value(krippendorff_alpha(ratings, lv)) if lv in alpha_levels else None
            for lv in LEVELS
        },
        "gwet_ac1": _value(gwet_ac(ratings)),
        "gwet_ac2": {
            w: _value(gwet_ac(ratings, w)) if numeric else None for w in ("linear", "quadratic")
        },
        "percent_agreement": {
            "exact": _value(_guarded(percent_agreement, ratings)),
            "within_1": _value(_guarded(percent_agreement, ratings, 1)) if numeric else None,
        },
        "bland_altman": None
        if ba is None
        else {
            "rater_a": str(ba.rater_a),
            "rater_b": str(ba.rater_b),
            "n_units": ba.n_units,
            "mean_difference": ba.mean_difference,
            "sd_difference": ba.sd_difference,
            "limits_of_agreement": [ba.lower_limit, ba.upper_limit],
            "mean_difference_ci95": list(ba.mean_difference_ci95),
            "lower_limit_ci95": list(ba.lower_limit_ci95),
            "upper_limit_ci95": list(ba.upper_limit_ci95),
        },
        "bootstrap": None,
    }
    if bootstrap:
        seed = secrets.randbits(32) if seed is None else seed
        icc_ok = numeric and out["icc"]["ICC(2,1)"] is not None
        result = bootstrap_intervals(
            ratings,
            n_resamples=bootstrap,
            seed=seed,
            icc_forms=[name for name, _, _ in ICC_FORMS] if icc_ok else (),
            alpha_levels=alpha_levels,
        )
        out["bootstrap"] = {
            "krippendorff_alpha": {
                lv: [_number(ci.low), _number(ci.high)] for lv, ci in result.krippendorff_alpha.items()
            },
            "icc": {form: [_number(ci.low), _number(ci.high)] for form, ci in result.icc.items()},
            "n_resamples": result.n_resamples,
            "seed": seed,
            "method": "percentile, units resampled with replacement",
        }
    return out


def reliability_summary(
    frame: pd.DataFrame,
    *,
    unit: str = "unit",
    rater: str = "rater",
    score: str = "score",
    categories: Sequence | None = None,
    level: str | None = None,
    bootstrap: int = 0,
    seed: int | None = None,
) -> dict[str, Any]:
    """Reliability statistics of a long DataFrame (one row per unit, rater and score).

    Parameters
    ----------
    frame : pandas.DataFrame
        Long table; a missing rating is an absent row or an empty / NA / NaN score.
    unit, rater, score : str
        Column names.
    categories : sequence, optional
        The declared scale; default the sorted distinct scores.
    level : {"nominal", "ordinal", "interval", "ratio"}, optional
    bootstrap : int
        0 for none, else the number of resamples (at least 1000).
    seed : int, optional
        Bootstrap seed (a random one is drawn and reported when not given).

    Returns
    -------
    dict
        JSON-able: fractions not percents, null where a statistic does not apply.

    Examples
    --------
    >>> frame = pd.DataFrame({"unit": [1, 1, 2, 2, 3, 3], "rater": ["a", "b"] * 3,
    ...                       "score": [3, 3, 1, 2, 5, 5]})
    >>> out = reliability_summary(frame, categories=[1, 2, 3, 4, 5])
    >>> out["n_units"], out["percent_agreement"]["exact"], out["cohen_kappa"]["unweighted"]
    (3, 0.6666666666666666, 0.5714285714285714)
    """
    missing = [c for c in (unit, rater, score) if c not in frame.columns]
    if missing:
        raise ReliabilityTableError(
            f"column(s) {missing} not found; the table has {list(frame.columns)}. "
            "Name the columns with --unit, --rater and --score"
        )
    if frame.empty:
        raise ReliabilityTableError("the table has no rows; it needs one row per unit, rater and score")
    ratings = ratings_from_long(
        [None if pd.isna(v) or str(v).strip() == "" else v for v in frame[unit]],
        [None if pd.isna(v) or str(v).strip() == "" else v for v in frame[rater]],
        _scores(frame[score], None if categories is None else list(categories)),
        categories,
    )
    return summarise_ratings(ratings, level=level, bootstrap=bootstrap, seed=seed)


def reliability_from_csv(path: str | Path, **options) -> dict[str, Any]:
    """:func:`reliability_summary` of a long CSV file (same keyword options)."""
    return reliability_summary(read_long_csv(path), **options)
