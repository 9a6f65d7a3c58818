"""Pairwise agreement for incomplete designs: Cohen's kappa and raw agreement per rater pair.

In a design where pairs of raters are drawn from a pool, every pair of raters that shares
units gets its own Cohen's kappa (unweighted, and linear and quadratic weighted on the
**declared** scale's full range, :func:`annotate.stats.reliability_kappa.cohen_kappa`) and its
exact and within-one agreement on the units both scored. The summary averages the pairs,
weighting each by its number of shared units, in the spirit of Light's (1971) mean of pairwise
kappas; pairs whose kappa is undefined (e.g. both raters used one category) are left out of
that kappa's average.

* exact agreement: the two scores are equal;
* within-one agreement: the two scores differ by at most one scale point (``|x - y| <= 1``, in
  score units, as certification criteria such as "80% within +/-1 point" are stated).

``n_pairs`` is the number of pairs of ratings of the same unit, ``sum_i C(n_i, 2)``; the
weighted averages of exact and within-one agreement are the share of those pairs that agree.
For continuous scores (no declared scale) kappa and agreement are not defined and are None.

Sources
-------
* Cohen, J. (1960). *Educ. Psychol. Meas.* 20, 37-46; Cohen, J. (1968). *Psychol. Bull.* 70,
  213-220.
* Light, R. J. (1971). Measures of response agreement for qualitative data: some
  generalizations and alternatives. *Psychological Bulletin*, 76, 365-377.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from annotate.stats.reliability_data import Ratings
from annotate.stats.reliability_design import LongRatings
from annotate.stats.reliability_kappa import WeightName, cohen_kappa

KAPPA_WEIGHTS: tuple[WeightName, ...] = ("unweighted", "linear", "quadratic")


@dataclass(frozen=True)
class PairAgreement:
    """Agreement of one rater pair on the units both scored (None where undefined)."""

    rater_a: Hashable
    rater_b: Hashable
    n_shared: int
    kappa_unweighted: float | None
    kappa_linear: float | None
    kappa_quadratic: float | None
    exact: float | None
    within_1: float | None


@dataclass(frozen=True)
class PairwiseSummary:
    """Averages over rater pairs weighted by shared units, and the pairs themselves.

    ``n_pairs_kappa`` gives, per weighting, how many rater pairs entered the kappa average.
    """

    kappa_unweighted: float | None
    kappa_linear: float | None
    kappa_quadratic: float | None
    exact: float | None
    within_1: float | None
    n_pairs: int
    n_rater_pairs: int
    n_pairs_kappa: dict[str, int]
    pairs: tuple[PairAgreement, ...]
    note: str | None


def _rating_pairs(data: LongRatings) -> pd.DataFrame:
    frame = pd.DataFrame({"unit": data.unit, "rater": data.rater, "score": data.score})
    multi = data.ratings_per_unit[data.unit] >= 2
    frame = frame[multi]
    paired = frame.merge(frame, on="unit", suffixes=("_a", "_b"))
    paired = paired[paired["rater_a"] < paired["rater_b"]]
    return paired.sort_values(["rater_a", "rater_b", "unit"], kind="stable").reset_index(drop=True)


def _weighted(values: list[float | None], weights: list[int]) -> tuple[float | None, int]:
    used = [(v, w) for v, w in zip(values, weights, strict=True) if v is not None]
    if not used:
        return None, 0
    total = sum(w for _, w in used)
    return float(sum(v * w for v, w in used) / total), len(used)


def pairwise_agreement(data: LongRatings) -> PairwiseSummary:
    """Cohen's kappas and agreement per rater pair, averaged over pairs by shared units.

    Examples
    --------
    Three raters, each pair sharing two units, on a 1-5 scale:

    >>> from annotate.stats.reliability_design import long_ratings
    >>> frame = pd.DataFrame({"unit": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6],
    ...                       "rater": ["A", "B", "A", "B", "B", "C", "B", "C", "A", "C", "A", "C"],
    ...                       "score": [1, 1, 4, 5, 2, 2, 3, 5, 5, 5, 1, 2]})
    >>> s = pairwise_agreement(long_ratings(frame, categories=range(1, 6)))
    >>> s.n_pairs, s.n_rater_pairs, round(s.exact, 3), round(s.within_1, 3)
    (6, 3, 0.5, 0.833)
    >>> [(p.rater_a, p.rater_b, p.n_shared, p.exact) for p in s.pairs]
    [('A', 'B', 2, 0.5), ('A', 'C', 2, 0.5), ('B', 'C', 2, 0.5)]
    """
    paired = _rating_pairs(data)
    n_i = data.ratings_per_unit
    n_pairs = int(np.sum(n_i * (n_i - 1) // 2))
    continuous = data.categories is None
    categories = np.asarray(data.categories if data.categories is not None else (), dtype=float)
    keys = paired["rater_a"].to_numpy() * data.n_raters + paired["rater_b"].to_numpy()
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], keys.size]
    score_a = paired["score_a"].to_numpy(dtype=float)
    score_b = paired["score_b"].to_numpy(dtype=float)
    pairs: list[PairAgreement] = []
    for start, end in zip(starts, ends, strict=True):
        a, b = divmod(int(keys[start]), data.n_raters)
        x, y = score_a[start:end], score_b[start:end]
        shared = int(end - start)
        kappas: dict[str, float | None] = dict.fromkeys(KAPPA_WEIGHTS)
        exact = within = None
        if not continuous:
            codes = np.column_stack([np.searchsorted(categories, x), np.searchsorted(categories, y)])
            codes.setflags(write=False)
            pair = Ratings(tuple(range(shared)), (data.rater_ids[a], data.rater_ids[b]), data.categories or (), codes)
            for weights in KAPPA_WEIGHTS:
                kappas[weights] = cohen_kappa(pair, weights).value
            exact = float(np.mean(x == y))
            within = float(np.mean(np.abs(x - y) <= 1 + 1e-9))
        pairs.append(
            PairAgreement(
                rater_a=data.rater_ids[a],
                rater_b=data.rater_ids[b],
                n_shared=shared,
                kappa_unweighted=kappas["unweighted"],
                kappa_linear=kappas["linear"],
                kappa_quadratic=kappas["quadratic"],
                exact=exact,
                within_1=within,
            )
        )
    weights_by_pair = [p.n_shared for p in pairs]
    averages: dict[str, float | None] = {}
    used: dict[str, int] = {}
    for name, values in (
        ("unweighted", [p.kappa_unweighted for p in pairs]),
        ("linear", [p.kappa_linear for p in pairs]),
        ("quadratic", [p.kappa_quadratic for p in pairs]),
        ("exact", [p.exact for p in pairs]),
        ("within_1", [p.within_1 for p in pairs]),
    ):
        averages[name], used[name] = _weighted(values, weights_by_pair)
    note = None
    if continuous:
        note = "continuous scores (no declared scale): kappa and agreement are not computed"
    else:
        skipped = [w for w in KAPPA_WEIGHTS if used[w] < len(pairs)]
        if skipped:
            note = (
                f"{len(pairs) - min(used[w] for w in skipped)} rater pair(s) left out of the kappa average: "
                "kappa is undefined when chance agreement is perfect (e.g. both raters used one category)"
            )
    return PairwiseSummary(
        kappa_unweighted=averages["unweighted"],
        kappa_linear=averages["linear"],
        kappa_quadratic=averages["quadratic"],
        exact=averages["exact"],
        within_1=averages["within_1"],
        n_pairs=n_pairs,
        n_rater_pairs=len(pairs),
        n_pairs_kappa={w: used[w] for w in KAPPA_WEIGHTS},
        pairs=tuple(pairs),
        note=note,
    )
