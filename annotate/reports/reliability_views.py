"""Views of a study's paired ratings for the reliability page: Bland-Altman, confusion, drift.

Each builder takes the long table of :func:`annotate.services.reliability.study.reliability_ratings`
(unit, rater, score, rated_at) and returns the data of one plot or table:

* Bland-Altman limits of agreement of one rater pair, after Bland & Altman (1986),
  "Statistical methods for assessing agreement between two methods of clinical measurement",
  Lancet 1(8476):307-310 (computed by :func:`annotate.stats.reliability.bland_altman`);
* the confusion matrix of every rater pair over the full scale, with exact and within-1 agreement;
* agreement over time (drift): exact / within-1 agreement and ICC(2,1) per month or block.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from annotate.stats.reliability import (
    BlandAltman,
    ReliabilityInputError,
    bland_altman,
    intraclass_correlations,
    percent_agreement,
    ratings_from_long,
)

DRIFT_COLUMNS = [
    "period",
    "start",
    "end",
    "n_segments",
    "exact",
    "within_1",
    "icc_a1",
    "icc_ci_low",
    "icc_ci_high",
]


@dataclass(frozen=True, eq=False)
class BlandAltmanView:
    """One rater pair's paired scores (for the plot) and their limits of agreement (difference = a - b)."""

    rater_a: str
    rater_b: str
    pairs: pd.DataFrame  # unit, score_a, score_b, mean, difference
    result: BlandAltman


@dataclass(frozen=True, eq=False)
class PairConfusion:
    """Counts of (score of rater_a, score of rater_b) over the full scale, plus pair agreement."""

    rater_a: str
    rater_b: str
    n_units: int
    counts: pd.DataFrame  # index: rater_a's score, columns: rater_b's score, every scale point
    exact: float
    within_1: float


def _pair_frame(frame: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    wide = frame[frame["rater"].isin((a, b))].pivot(index="unit", columns="rater", values="score")
    if a not in wide.columns or b not in wide.columns:
        return pd.DataFrame(columns=["unit", "score_a", "score_b"])
    both = wide[[a, b]].dropna()
    return pd.DataFrame({"unit": both.index, "score_a": both[a].to_numpy(), "score_b": both[b].to_numpy()})


def _pairs_by_overlap(frame: pd.DataFrame) -> list[tuple[str, str, int]]:
    """(rater a, rater b, units both rated), most shared first; a units x raters 0/1 matrix
    multiplied by its transpose counts every pair's shared units at once."""
    raters = sorted(frame["rater"].unique())
    unit_codes, _ = pd.factorize(frame["unit"])
    rater_codes = pd.Index(raters).get_indexer(frame["rater"])
    rated = np.zeros((int(unit_codes.max()) + 1 if len(unit_codes) else 0, len(raters)), dtype=np.int64)
    rated[unit_codes, rater_codes] = 1
    shared = rated.T @ rated
    pairs = [(a, b, int(shared[i, j])) for (i, a), (j, b) in itertools.combinations(enumerate(raters), 2)]
    return sorted((p for p in pairs if p[2] > 0), key=lambda p: (-p[2], p[0], p[1]))


def bland_altman_view(frame: pd.DataFrame, pair: tuple[str, str] | None) -> BlandAltmanView | None:
    """Bland-Altman data of ``pair``, or of the pair sharing the most units; None with fewer than two."""
    if pair is None:
        ranked = _pairs_by_overlap(frame)
        if not ranked:
            return None
        pair = ranked[0][:2]
    a, b = pair
    pairs = _pair_frame(frame, a, b)
    if len(pairs) < 2:
        return None
    units = pd.concat([pairs["unit"], pairs["unit"]], ignore_index=True)
    raters = pd.Series([a] * len(pairs) + [b] * len(pairs), dtype=object)
    scores = pd.concat([pairs["score_a"], pairs["score_b"]], ignore_index=True).astype(float)
    ratings = ratings_from_long(units, raters, scores)
    ba = bland_altman(ratings)
    pairs = pairs.assign(mean=(pairs["score_a"] + pairs["score_b"]) / 2, difference=pairs["score_a"] - pairs["score_b"])
    return BlandAltmanView(rater_a=a, rater_b=b, pairs=pairs, result=ba)


def confusion_tables(frame: pd.DataFrame, categories: Sequence[float]) -> tuple[PairConfusion, ...]:
    """The confusion matrix of every rater pair that shares units, over the full scale."""
    out = []
    for a, b, _n in sorted(_pairs_by_overlap(frame), key=lambda p: (p[0], p[1])):
        pairs = _pair_frame(frame, a, b)
        counts = (
            pd.crosstab(pairs["score_a"], pairs["score_b"])
            .reindex(index=list(categories), columns=list(categories), fill_value=0)
            .astype(int)
        )
        counts.index.name, counts.columns.name = a, b
        diff = (pairs["score_a"] - pairs["score_b"]).abs()
        out.append(
            PairConfusion(
                rater_a=a,
                rater_b=b,
                n_units=len(pairs),
                counts=counts,
                exact=float((diff < 1e-9).mean()),
                within_1=float((diff <= 1 + 1e-9).mean()),
            )
        )
    return tuple(out)


def _agreement(block: pd.DataFrame, categories: Sequence[float]) -> dict[str, float | None]:
    """Exact / within-1 agreement and ICC(2,1) of one block of segments (None when not computable)."""
    out: dict[str, float | None] = dict.fromkeys(("exact", "within_1", "icc_a1", "icc_ci_low", "icc_ci_high"))
    try:
        ratings = ratings_from_long(block["unit"], block["rater"], block["score"], categories)
    except ReliabilityInputError:
        return out
    try:
        out["exact"] = percent_agreement(ratings).value
        out["within_1"] = percent_agreement(ratings, 1).value
    except ReliabilityInputError:
        pass  # no segment scored by all raters of the block: agreement is not defined
    try:
        icc = intraclass_correlations(ratings)["ICC(2,1)"]
        out["icc_a1"], out["icc_ci_low"], out["icc_ci_high"] = icc.value, icc.ci95_low, icc.ci95_high
    except ReliabilityInputError:
        pass  # fewer than two complete segments in the block
    return out


def agreement_over_time(frame: pd.DataFrame, categories: Sequence[float], by: str | int = "month") -> pd.DataFrame:
    """Agreement per calendar month (``by="month"``) or per block of ``by`` segments.

    A segment belongs to the month (UTC) or block in which its last rating was finished;
    blocks follow that completion order and the last block may be shorter.

    Examples
    --------
    >>> import datetime as dt
    >>> t = [dt.datetime(2026, m, 1, tzinfo=dt.UTC) for m in (1, 1, 1, 1, 2, 2, 2, 2)]
    >>> f = pd.DataFrame({"unit": list("aabbccdd"), "rater": ["x", "y"] * 4,
    ...                   "score": [1, 1, 2, 3, 3, 3, 4, 4], "rated_at": t})
    >>> agreement_over_time(f, [1, 2, 3, 4])[["period", "n_segments", "exact", "within_1"]]
        period  n_segments  exact  within_1
    0  2026-01           2    0.5       1.0
    1  2026-02           2    1.0       1.0
    """
    if frame.empty:
        return pd.DataFrame(columns=DRIFT_COLUMNS)
    finished = frame.groupby("unit")["rated_at"].max().sort_values(kind="stable")
    if by == "month":
        labels = finished.map(lambda t: f"{t.year:04d}-{t.month:02d}")
    elif isinstance(by, int) and not isinstance(by, bool) and by >= 2:
        labels = pd.Series([f"{i // by + 1}" for i in range(len(finished))], index=finished.index)
    else:
        raise ReliabilityInputError(
            f"Group agreement over time by 'month' or by a block size of 2 or more, not {by!r}."
        )
    rows = []
    period_of_row = frame["unit"].map(labels).to_numpy()
    for label in dict.fromkeys(labels):
        units = labels.index[labels == label]
        block = frame[period_of_row == label]
        times = finished.loc[units]
        period = label if by == "month" else f"block {label}"
        rows.append(
            {
                "period": period,
                "start": times.min(),
                "end": times.max(),
                "n_segments": len(units),
                **_agreement(block, categories),
            }
        )
    return pd.DataFrame(rows, columns=DRIFT_COLUMNS)
